/**
 * A monotonic nanosecond clock from the native library: tens of nanoseconds a read, where
 * `performance.now()` costs 300-400 ns on Deno (shared/PITFALLS.md 13).
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";

/**
 * Nanoseconds since the library first read its clock (monotonic, exact as a number for 104
 * days). One FFI call, no system call (clock_gettime through the vDSO).
 *
 * @example
 * ```ts
 * import { nowNs } from "@hotpath/core";
 * const start = nowNs();
 * const elapsed = nowNs() - start;
 * ```
 */
export function nowNs(): number {
  return openNative().symbols.hp_clock_ns();
}

/**
 * Returns the clock function itself, bound once: calling it costs one FFI crossing and no
 * lookup, for timing loops.
 */
export function clockNs(): () => number {
  return openNative().symbols.hp_clock_ns;
}
