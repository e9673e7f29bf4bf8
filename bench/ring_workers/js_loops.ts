/**
 * The plain-JS sides of the ring throughput benchmark: postMessage on a MessageChannel,
 * ringbuf.js 0.4.0 (a Float64Array ring: two elements per message) and the hand-written SAB
 * ring of bench/ring_sab.ts. Waiting is a busy spin everywhere except postMessage, which can
 * only wait in the event loop. Each Worker builds one side of one transport, so every loop
 * keeps its own JIT feedback.
 *
 * @module
 */
import { RingBuffer } from "ringbuf.js";
import { SabConsumer, SabProducer } from "../ring_sab.ts";
import { PRODUCER_RESULT, sequenceError, type Side, type SideResult } from "./kinds.ts";

/** One `postMessage([seq, value])` per message; the consumer resolves at the last one. */
export function postMessageSide(port: MessagePort, role: "producer" | "consumer"): Side {
  const close = () => port.close();
  if (role === "producer") {
    return {
      run(count: number) {
        for (let seq = 0; seq < count; seq++) port.postMessage([seq, seq * 0.5]);
        return PRODUCER_RESULT;
      },
      close,
    };
  }
  return {
    run: (count: number) =>
      new Promise<SideResult>((resolve, reject) => {
        let expected = 0;
        let checksum = 0;
        port.onmessage = (event: MessageEvent) => {
          const message = event.data as [number, number];
          if (message[0] !== expected) {
            port.onmessage = null;
            reject(sequenceError("postMessage", expected, message[0]));
            return;
          }
          checksum += message[1];
          if (++expected === count) resolve({ received: count, checksum });
        };
      }),
    close,
  };
}

/** ringbuf.js: the producer stages up to `batch` messages and pushes them (retrying partial pushes). */
export function ringbufProducer(buffer: SharedArrayBuffer, batch: number): Side {
  const ring = new RingBuffer(buffer, Float64Array);
  const staged = new Float64Array(batch * 2);
  return {
    run(count: number) {
      for (let seq = 0; seq < count;) {
        const messages = count - seq < batch ? count - seq : batch;
        for (let index = 0; index < messages; index++) {
          staged[2 * index] = seq + index;
          staged[2 * index + 1] = (seq + index) * 0.5;
        }
        const length = messages * 2;
        let offset = 0;
        while (offset < length) offset += ring.push(staged, length - offset, offset);
        seq += messages;
      }
      return PRODUCER_RESULT;
    },
    close() {},
  };
}

/** ringbuf.js: the consumer pops up to `batch` messages at a time and checks each. */
export function ringbufConsumer(buffer: SharedArrayBuffer, batch: number): Side {
  const ring = new RingBuffer(buffer, Float64Array);
  const out = new Float64Array(batch * 2);
  return {
    run(count: number) {
      let expected = 0;
      let checksum = 0;
      while (expected < count) {
        const wanted = (count - expected < batch ? count - expected : batch) * 2;
        const got = ring.pop(out, wanted);
        for (let index = 0; index < got; index += 2) {
          if (out[index] !== expected) throw sequenceError("ringbuf.js", expected, out[index]);
          checksum += out[index + 1];
          expected++;
        }
      }
      return { received: count, checksum };
    },
    close() {},
  };
}

/** The hand-written ring, one message per publish. */
export function sabProducer1(buffer: SharedArrayBuffer): Side {
  const producer = new SabProducer(buffer);
  const { payload, mask } = producer;
  return {
    run(count: number) {
      for (let seq = 0; seq < count; seq++) {
        while (producer.available(1) === 0) {
          // spin: full
        }
        const at = (producer.head & mask) << 1;
        payload[at] = seq;
        payload[at + 1] = seq * 0.5;
        producer.publish(1);
      }
      return PRODUCER_RESULT;
    },
    close() {},
  };
}

/** The hand-written ring, up to `batch` messages per publish. */
export function sabProducerBatch(buffer: SharedArrayBuffer, batch: number): Side {
  const producer = new SabProducer(buffer);
  const { payload, mask } = producer;
  return {
    run(count: number) {
      for (let seq = 0; seq < count;) {
        const messages = producer.available(count - seq < batch ? count - seq : batch);
        const head = producer.head;
        for (let index = 0; index < messages; index++) {
          const at = ((head + index) & mask) << 1;
          payload[at] = seq;
          payload[at + 1] = seq * 0.5;
          seq++;
        }
        if (messages > 0) producer.publish(messages);
      }
      return PRODUCER_RESULT;
    },
    close() {},
  };
}

/** The hand-written ring's consumer, one message per release. */
export function sabConsumer1(buffer: SharedArrayBuffer): Side {
  const consumer = new SabConsumer(buffer);
  const { payload, mask } = consumer;
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count; seq++) {
        while (consumer.available(1) === 0) {
          // spin: empty
        }
        const at = (consumer.tail & mask) << 1;
        if (payload[at] !== seq) throw sequenceError("SAB ring", seq, payload[at]);
        checksum += payload[at + 1];
        consumer.release(1);
      }
      return { received: count, checksum };
    },
    close() {},
  };
}

/** The hand-written ring's consumer, up to `batch` messages per release. */
export function sabConsumerBatch(buffer: SharedArrayBuffer, batch: number): Side {
  const consumer = new SabConsumer(buffer);
  const { payload, mask } = consumer;
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count;) {
        const messages = consumer.available(count - seq < batch ? count - seq : batch);
        const tail = consumer.tail;
        for (let index = 0; index < messages; index++) {
          const at = ((tail + index) & mask) << 1;
          if (payload[at] !== seq) throw sequenceError("SAB ring", seq, payload[at]);
          checksum += payload[at + 1];
          seq++;
        }
        if (messages > 0) consumer.release(messages);
      }
      return { received: count, checksum };
    },
    close() {},
  };
}
