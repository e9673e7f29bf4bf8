/**
 * A monotonic nanosecond clock from the native library: clock_gettime(CLOCK_MONOTONIC) through
 * the vDSO, one FFI call a read. On the project's VM it costs 23-25 ns a read, where
 * `performance.now()` costs about 84 ns on Deno and 33 ns on Bun (shared/PITFALLS.md 13 measured
 * 300-400 ns on an older Deno). It has one epoch per process, so stamps taken in different
 * Workers compare; `performance.now()` counts from each realm's own origin. src/tsc_clock.ts has
 * the TSC clock; bench/RESULTS.md ("Clocks (issue 12)") what each clock costs.
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
