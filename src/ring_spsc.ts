/**
 * The two sides of an SPSC ring, in the manner of rigtorp's SPSCQueue: the producer's index
 * (head) and the consumer's (tail) are on lines 128 bytes apart, each side keeps its own
 * position and a cached copy of the other's index in plain fields, and reads the other's
 * index (`Atomics.load`) only when the cached copy says full or empty. Publication is one
 * `Atomics.store` per commit or release, however many slots it covers.
 *
 * Positions are int32 and wrap; differences are taken with `| 0` (capacity <= 2^24 keeps them
 * exact). Each side counts its wraps in the header for `stats()`.
 *
 * @module
 */
import {
  FULL,
  HeadFollower,
  notFunction,
  parkedAfterPublish,
  type RingCore,
  RingSide,
  SELECT_HEAD,
  SELECT_TAIL,
  WORD,
} from "./ring_side.ts";
import type { WaitStrategy } from "./ring_options.ts";

/** Writes messages into an SPSC ring: claim slots, write them, commit. */
export class SpscProducer extends RingSide {
  /** First slot of the last `tryClaimBatch`. */
  claimed = 0;
  /** The next position to claim, and the position published (head). */
  declare private next: number;
  declare private head: number;
  /** Cached copy of the consumer's tail. */
  declare private tailCache: number;

  constructor(core: RingCore, token: number, wait: WaitStrategy) {
    super(core, token, wait, core.bytes, "RingProducer");
    this.head = Atomics.load(this.words, WORD.head);
    this.next = this.head;
    this.tailCache = Atomics.load(this.words, WORD.tail);
  }

  /** Claims the next slot: its index, or -1 when the ring is full. Commit publishes it. */
  tryClaim(): number {
    const position = this.next;
    if (((position - this.tailCache) | 0) >= this.capacity && this.#refresh() < 1) return this.#full();
    this.next = (position + 1) | 0;
    return position & this.mask;
  }

  /**
   * Claims up to `count` slots; returns how many (0: full). Slot i is `claimed + i`: a batch
   * stops at the ring's last slot, and the next one starts at slot 0.
   */
  tryClaimBatch(count: number): number {
    const wanted = this.checkCount(count, "tryClaimBatch count");
    const position = this.next;
    let room = this.capacity - ((position - this.tailCache) | 0);
    if (room < wanted) room = this.#refresh();
    if (room < 1) {
      this.#full();
      return 0;
    }
    const taken = this.batchOf(position, room, wanted);
    this.claimed = position & this.mask;
    this.next = (position + taken) | 0;
    return taken;
  }

  /** Publishes every slot claimed since the last commit (in claim order). */
  commit(): boolean {
    const next = this.next;
    const head = this.head;
    if (next === head) return this.#nothing();
    if (head < 0 && next >= 0) Atomics.add(this.words, WORD.headWraps, 1);
    Atomics.store(this.words, WORD.head, next);
    this.head = next;
    if (parkedAfterPublish(this.words, WORD.consumersParked)) this.wake(SELECT_HEAD);
    return true;
  }

  /** Waits (by the wait strategy) for a free slot, then claims it; -1 after `timeoutMs`. */
  claim(timeoutMs = Infinity): number {
    const limit = this.checkTimeout(timeoutMs);
    const slot = this.tryClaimQuiet();
    if (slot >= 0) return slot;
    return this.waitReady(limit, this.counter + FULL) > 0 ? this.tryClaim() : -1;
  }

  private tryClaimQuiet(): number {
    if (((this.next - this.tailCache) | 0) >= this.capacity && this.#refresh() < 1) return -1;
    return this.tryClaim();
  }

  /** Free slots now. */
  protected ready(): number {
    return this.#refresh();
  }

  protected parkSelector(): number {
    return SELECT_TAIL;
  }

  protected parkValue(): number {
    return this.tailCache;
  }

  #refresh(): number {
    this.checkOpen();
    this.tailCache = Atomics.load(this.words, WORD.tail);
    return this.capacity - ((this.next - this.tailCache) | 0);
  }

  #full(): number {
    this.numbers[this.counter + FULL]++;
    return -1;
  }

  #nothing(): boolean {
    this.checkOpen();
    return true;
  }

  protected poison(): void {
    // Held claims are dropped (commit then has nothing and throws), and the ring reads full for
    // good: the slow path checks closed before it reads the tail again.
    this.next = this.head;
    this.tailCache = (this.next - this.capacity) | 0;
  }
}

/** Reads messages from an SPSC ring: peek slots, read them, release. */
export class SpscConsumer extends HeadFollower {
  constructor(core: RingCore, token: number, wait: WaitStrategy) {
    super(core, token, wait, core.bytes, { word: WORD.tail, wrapsWord: WORD.tailWraps, selector: SELECT_TAIL });
  }

  /** The next message's slot, or -1 when the ring is empty. Release gives it back. */
  tryPeek(): number {
    const position = this.next;
    if (position === this.headCache && this.refresh() < 1) return this.empty();
    this.next = (position + 1) | 0;
    return position & this.mask;
  }

  /**
   * Peeks up to `count` messages; returns how many (0: empty). Slot i is `peeked + i`: a batch
   * stops at the ring's last slot, and the next one starts at slot 0.
   */
  peekBatch(count: number): number {
    return this.peekHead(this.checkCount(count, "peekBatch count"));
  }

  /**
   * Calls `fn(slot)` for up to `max` messages in order and releases them; returns how many.
   * If `fn` throws, the messages before it and the one it threw on count as delivered.
   */
  drain(max: number, fn: (slot: number) => void): number {
    if (typeof fn !== "function") throw notFunction(fn);
    const count = this.peekBatch(max);
    if (count === 0) return 0;
    const first = this.peeked;
    const start = (this.next - count) | 0;
    const mask = this.mask;
    let done = 0;
    try {
      while (done < count) fn((first + done++) & mask);
    } finally {
      // Messages after the one fn threw on go back, unless fn released them itself: the tail
      // never moves backwards.
      const delivered = (start + done) | 0;
      this.next = ((delivered - this.released) | 0) >= 0 ? delivered : this.released;
      this.release();
    }
    return count;
  }
}
