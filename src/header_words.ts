/**
 * Reading and writing a native header through a Uint32Array: byte offsets to word indexes,
 * and u64 counters as two little-endian u32 words (exact up to 2^53).
 *
 * @module
 */

/** Index of a byte offset in a Uint32Array over a header. */
export function word(byteOffset: number): number {
  return byteOffset >>> 2;
}

/** Writes a u64 counter (exact up to 2^53) as two little-endian u32 words at `index`. */
export function writeCounter(words: Uint32Array, index: number, value: number): void {
  words[index] = value % 2 ** 32;
  words[index + 1] = Math.floor(value / 2 ** 32);
}

/** Reads a u64 counter written by Zig or by `writeCounter`. */
export function readCounter(words: Uint32Array, index: number): number {
  return words[index] + words[index + 1] * 2 ** 32;
}
