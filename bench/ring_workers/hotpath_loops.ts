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

/** Ring.spsc, up to `batch` messages per tryClaimBatch/commit; `mask` is the ring's. */
export function spscProducerBatch(producer: Producer, mask: number, batch: number): Side {
  return {
    run(count: number) {
      for (let seq = 0; seq < count;) {
        const claimed = producer.tryClaimBatch(count - seq < batch ? count - seq : batch);
        if (claimed <= 0) continue;
        const first = producer.claimed;
        for (let index = 0; index < claimed; index++) {
          const tick = producer.at((first + index) & mask);
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
export function spscConsumerBatch(consumer: Consumer, mask: number, batch: number): Side {
  return {
    run(count: number) {
      let checksum = 0;
      for (let seq = 0; seq < count;) {
        const ready = consumer.peekBatch(count - seq < batch ? count - seq : batch);
        if (ready <= 0) continue;
        const first = consumer.peeked;
        for (let index = 0; index < ready; index++) {
          const tick = consumer.at((first + index) & mask);
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
