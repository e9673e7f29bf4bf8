/**
 * A plain JS lock-free stack of handles (Treiber) over a SharedArrayBuffer: what a user would
 * write instead of SharedPool to share free blocks between Workers. Measured beside SharedPool
 * in bench/shared_churn.ts.
 *
 * The head word packs a 16-bit tag (high half) and the top handle + 1 (low half, 0: empty).
 * Every successful push or pop bumps the tag, so a head that was popped and pushed back between
 * another thread's load and its compareExchange no longer matches (ABA), unless exactly 65,536
 * changes happened in between. `next[h]` holds the handle below `h`, + 1.
 *
 * @module
 */

/** Handles are 0 to CAPACITY_MAX - 1 (the low half of the head holds handle + 1). */
export const TREIBER_CAPACITY_MAX = 0xffff;
/** Words before `next`: the head sits alone on its cache line. */
const NEXT_OFFSET = 16;
const TAG_STEP = 0x10000;

/** A stack over `buffer`, which `TreiberStack.create` made; any Worker may wrap the same buffer. */
export class TreiberStack {
  readonly words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A buffer holding every handle below `capacity`, free. */
  static create(capacity: number): SharedArrayBuffer {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > TREIBER_CAPACITY_MAX) {
      throw new RangeError(`TreiberStack: capacity must be 1 to ${TREIBER_CAPACITY_MAX}; got ${capacity}.`);
    }
    const buffer = new SharedArrayBuffer((NEXT_OFFSET + capacity) * 4);
    const words = new Int32Array(buffer);
    // Handle 0 on top: next[h] = h + 2 (handle h + 1, plus one), the last one 0 (bottom).
    for (let handle = 0; handle < capacity; handle++) {
      words[NEXT_OFFSET + handle] = handle + 1 < capacity ? handle + 2 : 0;
    }
    words[0] = 1;
    return buffer;
  }

  /** Takes the top handle, or returns -1 when the stack is empty. */
  pop(): number {
    const words = this.words;
    for (;;) {
      const head = Atomics.load(words, 0);
      const top = head & 0xffff;
      if (top === 0) return -1;
      const below = Atomics.load(words, NEXT_OFFSET + top - 1);
      const next = ((head + TAG_STEP) & ~0xffff) | below;
      if (Atomics.compareExchange(words, 0, head, next) === head) return top - 1;
    }
  }

  /** Puts `handle` on top. No double-free check: a plain stack has none. */
  push(handle: number): void {
    const words = this.words;
    for (;;) {
      const head = Atomics.load(words, 0);
      Atomics.store(words, NEXT_OFFSET + handle, head & 0xffff);
      const next = ((head + TAG_STEP) & ~0xffff) | (handle + 1);
      if (Atomics.compareExchange(words, 0, head, next) === head) return;
    }
  }

  /** Handles on the stack now (only meaningful while no thread pushes or pops). */
  count(): number {
    let count = 0;
    for (let top = this.words[0] & 0xffff; top !== 0 && count <= TREIBER_CAPACITY_MAX; count++) {
      top = this.words[NEXT_OFFSET + top - 1];
    }
    return count;
  }
}
