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

/**
 * The named numbers of an f64 record the library wrote (an extern struct of f64 fields whose
 * byte offsets `table` mirrors from Zig); `size` and `reserved` are not fields.
 */
export function f64Record<T extends Record<string, number>>(
  table: T,
  out: Float64Array,
): Record<Exclude<keyof T, "size" | "reserved">, number> {
  const record = {} as Record<string, number>;
  for (const [name, offset] of Object.entries(table)) {
    if (name !== "size" && name !== "reserved") record[name] = out[offset / 8];
  }
  return record as Record<Exclude<keyof T, "size" | "reserved">, number>;
}
