/**
 * A hand-written single-producer single-consumer ring over a SharedArrayBuffer: the honest
 * competitor of hotpath's `Ring.spsc` in the ring benchmarks, written in the manner of
 * rigtorp/SPSCQueue. Each index sits on its own 64-byte line; each side keeps a cached copy of
 * the other side's index and reads the shared one (`Atomics.load`) only when the cached copy
 * says the ring is full (producer) or empty (consumer). Indices run freely as int32 and wrap;
 * a slot is `index & mask`. A slot is two Float64Array elements: the sequence number and the
 * value.
 *
 * @example
 * ```ts
 * const buffer = sabRingBuffer(1024);
 * const producer = new SabProducer(buffer);
 * const consumer = new SabConsumer(buffer);
 * if (producer.available(1) === 1) {
 *   producer.payload[(producer.head & producer.mask) * 2] = 7;
 *   producer.publish(1);
 * }
 * if (consumer.available(1) === 1) consumer.release(1);
 * ```
 *
 * @module
 */

/** Int32 word of the producer's index (written by the producer only). */
const HEAD_WORD = 0;
/** Int32 word of the consumer's index, one 64-byte line further (written by the consumer only). */
const TAIL_WORD = 16;
const PAYLOAD_OFFSET_BYTES = 128;
/** Float64 elements per slot: sequence number and value. */
export const SAB_SLOT_ELEMENTS = 2;

/** A SharedArrayBuffer for a ring of `capacity` slots (a power of two). */
export function sabRingBuffer(capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0 || capacity > 1 << 24) {
    throw new RangeError(`SAB ring capacity must be a power of two from 2 to 2^24, got ${capacity}`);
  }
  return new SharedArrayBuffer(PAYLOAD_OFFSET_BYTES + capacity * SAB_SLOT_ELEMENTS * 8);
}

function capacityOf(buffer: SharedArrayBuffer): number {
  return (buffer.byteLength - PAYLOAD_OFFSET_BYTES) / (SAB_SLOT_ELEMENTS * 8);
}

/**
 * The producer side. Fields are public and plain: a cold `#private` store (the cache reload)
 * would cost JSC a generic store on the hot path (shared/PERF-NOTES.md).
 */
export class SabProducer {
  readonly indices: Int32Array;
  readonly payload: Float64Array;
  readonly capacity: number;
  readonly mask: number;
  /** The next index to write; its slot is `head & mask`. */
  head = 0;
  /** The consumer's index as last read. */
  tailCache = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.capacity = capacityOf(buffer);
    this.mask = this.capacity - 1;
    this.indices = new Int32Array(buffer, 0, PAYLOAD_OFFSET_BYTES / 4);
    this.payload = new Float64Array(buffer, PAYLOAD_OFFSET_BYTES, this.capacity * SAB_SLOT_ELEMENTS);
    this.head = Atomics.load(this.indices, HEAD_WORD);
    this.tailCache = Atomics.load(this.indices, TAIL_WORD);
  }

  /** Free slots from `head` on, at most `wanted`; reads the consumer's index only when short. */
  available(wanted: number): number {
    let free = this.capacity - ((this.head - this.tailCache) | 0);
    if (free < wanted) {
      // Pairs with the consumer's Atomics.store in release(): its slots are read before.
      this.tailCache = Atomics.load(this.indices, TAIL_WORD);
      free = this.capacity - ((this.head - this.tailCache) | 0);
    }
    return free < wanted ? free : wanted;
  }

  /** Publishes `count` written slots. */
  publish(count: number): void {
    this.head = (this.head + count) | 0;
    // Pairs with the consumer's Atomics.load in available(): the payload writes come before.
    Atomics.store(this.indices, HEAD_WORD, this.head);
  }
}

/** The consumer side (same field rules as the producer). */
export class SabConsumer {
  readonly indices: Int32Array;
  readonly payload: Float64Array;
  readonly capacity: number;
  readonly mask: number;
  /** The next index to read; its slot is `tail & mask`. */
  tail = 0;
  /** The producer's index as last read. */
  headCache = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.capacity = capacityOf(buffer);
    this.mask = this.capacity - 1;
    this.indices = new Int32Array(buffer, 0, PAYLOAD_OFFSET_BYTES / 4);
    this.payload = new Float64Array(buffer, PAYLOAD_OFFSET_BYTES, this.capacity * SAB_SLOT_ELEMENTS);
    this.tail = Atomics.load(this.indices, TAIL_WORD);
    this.headCache = Atomics.load(this.indices, HEAD_WORD);
  }

  /** Ready slots from `tail` on, at most `wanted`; reads the producer's index only when short. */
  available(wanted: number): number {
    let ready = (this.headCache - this.tail) | 0;
    if (ready < wanted) {
      // Pairs with the producer's Atomics.store in publish().
      this.headCache = Atomics.load(this.indices, HEAD_WORD);
      ready = (this.headCache - this.tail) | 0;
    }
    return ready < wanted ? ready : wanted;
  }

  /** Gives `count` read slots back to the producer. */
  release(count: number): void {
    this.tail = (this.tail + count) | 0;
    // Pairs with the producer's Atomics.load in available(): the payload reads come before.
    Atomics.store(this.indices, TAIL_WORD, this.tail);
  }
}
