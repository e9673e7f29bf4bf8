/**
 * hotpath's sides of the ring throughput benchmark: `Ring.spsc` one message per claim/commit
 * and peek/release, `Ring.spsc` in batches of up to 64, and `Ring.mpmc` with several producers
 * and consumers. Slots are the `Tick` struct (seq u32, value f64), written and read through
 * the producer's and the consumer's own cursors. Every wait is a busy spin on the `try*` forms.
 * Each side is given its role (the caller attached the ring and closes it).
 *
 * @module
 */
import { CONTROL } from "./scope.ts";
import {
  PRODUCER_RESULT,
  sequenceError,
  type Side,
  Tick,
  type TickConsumer as Consumer,
  type TickProducer as Producer,
} from "./kinds.ts";

const nothing = () => {};

/** Ring.spsc, one message per tryClaim/commit. */
export function spscProducer1(producer: Producer): Side {
  return {
    run(count: number) {
      for (let seq = 0; seq < count; seq++) {
        let slot = producer.tryClaim();
        while (slot < 0) slot = producer.tryClaim();
        const tick = producer.at(slot);
        tick.seq = seq;
        tick.value = seq * 0.5;
        producer.commit();
      }
      return PRODUCER_RESULT;
    },
    close: nothing,
  };
}

/** Ring.spsc, one message per tryPeek/release. */
export function spscConsumer1(consumer: Consumer): Side {
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count; seq++) {
        let slot = consumer.tryPeek();
        while (slot < 0) slot = consumer.tryPeek();
        const tick = consumer.at(slot);
        if (tick.seq !== seq) throw sequenceError("Ring.spsc", seq, tick.seq);
        checksum += tick.value;
        consumer.release();
      }
      return { received: count, checksum };
    },
    close: nothing,
  };
}

/** Ring.spsc, up to `batch` messages per tryClaimBatch/commit (a batch's slots are consecutive). */
export function spscProducerBatch(producer: Producer, batch: number): Side {
  return {
    run(count: number) {
      for (let seq = 0; seq < count;) {
        const claimed = producer.tryClaimBatch(count - seq < batch ? count - seq : batch);
        if (claimed <= 0) continue;
        const first = producer.claimed;
        for (let index = 0; index < claimed; index++) {
          const tick = producer.at(first + index);
          tick.seq = seq;
          tick.value = seq * 0.5;
          seq++;
        }
        producer.commit();
      }
      return PRODUCER_RESULT;
    },
    close: nothing,
  };
}

/** Ring.spsc, up to `batch` messages per peekBatch/release. */
export function spscConsumerBatch(consumer: Consumer, batch: number): Side {
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count;) {
        const ready = consumer.peekBatch(count - seq < batch ? count - seq : batch);
        if (ready <= 0) continue;
        const first = consumer.peeked;
        for (let index = 0; index < ready; index++) {
          const tick = consumer.at(first + index);
          if (tick.seq !== seq) throw sequenceError("Ring.spsc batch", seq, tick.seq);
          checksum += tick.value;
          seq++;
        }
        consumer.release();
      }
      return { received: count, checksum };
    },
    close: nothing,
  };
}

/**
 * Ring.mpmc producer number `id`: sends `count` messages whose value is `id`, then counts
 * itself done in `control`.
 */
export function mpmcProducer(producer: Producer, id: number, control: Int32Array): Side {
  return {
    run(count: number) {
      for (let seq = 0; seq < count; seq++) {
        let slot = producer.tryClaim();
        while (slot < 0) slot = producer.tryClaim();
        const tick = producer.at(slot);
        tick.seq = seq;
        tick.value = id;
        producer.commit();
      }
      Atomics.add(control, CONTROL.producersDone, 1);
      return PRODUCER_RESULT;
    },
    close: nothing,
  };
}

/**
 * Ring.mpmc consumer: takes messages until all `producers` are done and the ring is empty,
 * checks that each producer's sequence numbers increase, and returns how many it got and the
 * sum of their sequence numbers (the main thread checks both totals).
 */
export function mpmcConsumer(consumer: Consumer, producers: number, control: Int32Array): Side {
  const last = new Float64Array(producers);
  return {
    run() {
      last.fill(-1);
      let received = 0;
      let checksum = 0;
      for (;;) {
        let slot = consumer.tryPeek();
        if (slot < 0) {
          // Producers count themselves done after their last commit: done and then empty is the end.
          if (Atomics.load(control, CONTROL.producersDone) !== producers) continue;
          slot = consumer.tryPeek();
          if (slot < 0) break;
        }
        const tick = consumer.at(slot);
        const from = tick.value;
        if (!(tick.seq > last[from])) throw sequenceError(`Ring.mpmc producer ${from}`, last[from] + 1, tick.seq);
        last[from] = tick.seq;
        checksum += tick.seq;
        received++;
        consumer.release();
      }
      return { received, checksum };
    },
    close: nothing,
  };
}

/** Typed-array views over `side.bytes` for Tick slots (the ring's raw access: bytes and offsetOf). */
function viewsOf(side: Producer | Consumer): { u32: Uint32Array; f64: Float64Array } {
  const { bytes } = side;
  const base = side.offsetOf(0);
  const stride = side.slotStride;
  if ((bytes.byteOffset + base + Tick.offsetOf("value")) % 8 !== 0 || stride % 8 !== 0) {
    throw new Error(`Ring slots are not 8-byte aligned (slot 0 at byte ${base}, stride ${stride})`);
  }
  return {
    u32: new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2),
    f64: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3),
  };
}

/**
 * Ring.spsc with the slots written through typed arrays over `producer.bytes` instead of the
 * cursor (what the cursor costs), up to `batch` messages per tryClaimBatch/commit: the first
 * slot's offset from `offsetOf`, the next ones `slotStride` further. (Computing each offset as
 * base + ((first + i) & mask) * stride made JSC recompile the loop again and again: 20-28
 * instead of 140 M msg/s on Bun; one offsetOf call per message halved Deno's throughput.)
 */
export function spscProducerViews(producer: Producer, batch: number): Side {
  const { u32, f64 } = viewsOf(producer);
  const stride = producer.slotStride;
  const valueAt = Tick.offsetOf("value");
  return {
    run(count: number) {
      for (let seq = 0; seq < count;) {
        const claimed = producer.tryClaimBatch(count - seq < batch ? count - seq : batch);
        if (claimed <= 0) continue;
        let at = producer.offsetOf(producer.claimed);
        for (let index = 0; index < claimed; index++) {
          u32[at >> 2] = seq;
          f64[(at + valueAt) >> 3] = seq * 0.5;
          at += stride;
          seq++;
        }
        producer.commit();
      }
      return PRODUCER_RESULT;
    },
    close: nothing,
  };
}

/** The consumer of `spscProducerViews`: peekBatch/release, slots read through typed arrays. */
export function spscConsumerViews(consumer: Consumer, batch: number): Side {
  const { u32, f64 } = viewsOf(consumer);
  const stride = consumer.slotStride;
  const valueAt = Tick.offsetOf("value");
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count;) {
        const ready = consumer.peekBatch(count - seq < batch ? count - seq : batch);
        if (ready <= 0) continue;
        let at = consumer.offsetOf(consumer.peeked);
        for (let index = 0; index < ready; index++) {
          if (u32[at >> 2] !== seq) throw sequenceError("Ring.spsc views", seq, u32[at >> 2]);
          checksum += f64[(at + valueAt) >> 3];
          at += stride;
          seq++;
        }
        consumer.release();
      }
      return { received: count, checksum };
    },
    close: nothing,
  };
}
