/**
 * An open-addressing hash index from order id to handle, in one Int32Array sized once, key
 * and value side by side so that a lookup touches one cache line (the table is larger than
 * the caches at 100k orders: every separate array would be one more miss).
 *
 * A JS Map rehashes as it grows (milliseconds at 100k entries) and allocates; this index
 * takes all its memory at setup, never rehashes, and deletes by backward shifting (linear
 * probing without tombstones), so probe lengths stay short under endless churn.
 *
 * @module
 */
import { HotpathError } from "../../mod.ts";

const EMPTY = -1;
/** Multiplier of Fibonacci hashing: 2^32 / golden ratio. */
const GOLDEN = 0x9e37_79b9;

/** Ids (0 to 2^31-1) to handles, for at most `capacity` entries, without allocation after construction. */
export class IdIndex {
  /** The most entries this index holds. */
  readonly capacity: number;
  /** Slot `s` is entries[2s] (id, or EMPTY) and entries[2s + 1] (handle). */
  #entries: Int32Array;
  #mask: number;
  #shift: number;
  #size = 0;

  /** Takes 8 bytes per slot, at least two slots per entry of `capacity` (at most half full). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 26) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `IdIndex: capacity must be an integer from 1 to 2^26; got ${capacity}.`,
      );
    }
    const bits = Math.max(4, Math.ceil(Math.log2(capacity * 2)));
    this.capacity = capacity;
    this.#entries = new Int32Array(2 << bits).fill(EMPTY);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
  }

  /** Entries now. */
  get size(): number {
    return this.#size;
  }

  /** The handle stored for `id`, or -1. */
  get(id: number): number {
    const entries = this.#entries;
    let slot = Math.imul(id, GOLDEN) >>> this.#shift;
    for (;;) {
      const key = entries[slot << 1];
      if (key === id) return entries[(slot << 1) + 1];
      if (key === EMPTY) return -1;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Stores `id -> handle`. Throws LIMIT_REACHED when full, INVALID_ARGUMENT if `id` is present. */
  set(id: number, handle: number): void {
    if ((id | 0) !== id || id < 0) throw new HotpathError("INVALID_ARGUMENT", `IdIndex: id ${id} is not in 0..2^31-1.`);
    if (this.#size === this.capacity) {
      throw new HotpathError("LIMIT_REACHED", `IdIndex: all ${this.capacity} entries are taken.`);
    }
    const entries = this.#entries;
    let slot = Math.imul(id, GOLDEN) >>> this.#shift;
    for (;;) {
      const key = entries[slot << 1];
      if (key === EMPTY) break;
      if (key === id) throw new HotpathError("INVALID_ARGUMENT", `IdIndex: id ${id} is already present.`);
      slot = (slot + 1) & this.#mask;
    }
    entries[slot << 1] = id;
    entries[(slot << 1) + 1] = handle;
    this.#size++;
  }

  /** Removes `id`; returns its handle, or -1 if it was absent. */
  delete(id: number): number {
    const entries = this.#entries;
    const mask = this.#mask;
    let slot = Math.imul(id, GOLDEN) >>> this.#shift;
    for (;;) {
      const key = entries[slot << 1];
      if (key === EMPTY) return -1;
      if (key === id) break;
      slot = (slot + 1) & mask;
    }
    const handle = entries[(slot << 1) + 1];
    // Backward shift: move every later entry of the run whose home is not between the hole
    // and itself into the hole, so lookups never need tombstones.
    let hole = slot;
    let next = (hole + 1) & mask;
    for (let key = entries[next << 1]; key !== EMPTY; key = entries[next << 1]) {
      const home = Math.imul(key, GOLDEN) >>> this.#shift;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        entries[hole << 1] = key;
        entries[(hole << 1) + 1] = entries[(next << 1) + 1];
        hole = next;
      }
      next = (next + 1) & mask;
    }
    entries[hole << 1] = EMPTY;
    this.#size--;
    return handle;
  }
}
