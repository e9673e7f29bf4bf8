/**
 * The TSC clock: the CPU's time stamp counter read inside the library, calibrated once against
 * the monotonic clock, where the CPU reports an invariant TSC and the kernel trusts it; the
 * monotonic clock (`nowNs`) elsewhere. Same epoch as `nowNs`. `clockInfo()` says which clock
 * it is and why.
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { CLOCK_FALLBACK, CLOCK_INFO, CLOCK_SOURCE, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { f64Record } from "./header_words.ts";

/** Why the TSC clock reads the monotonic clock instead of the time stamp counter. */
export type ClockFallbackReason =
  | "unsupportedPlatform"
  | "noInvariantTsc"
  | "noRdtscp"
  | "kernelDistrustsTsc"
  | "calibrationFailed"
  | "forced";

/** Which clock `tscNowNs` reads, and what the decision rested on. */
export interface ClockInfo {
  /** "tsc": the time stamp counter, calibrated; "monotonic": CLOCK_MONOTONIC, as `nowNs`. */
  readonly source: "tsc" | "monotonic";
  /** Why the source is "monotonic"; undefined when it is "tsc". */
  readonly fallbackReason: ClockFallbackReason | undefined;
  /** True when CPUID reports an invariant TSC (constant rate in every power state). */
  readonly invariantTsc: boolean;
  /** True when CPUID reports RDTSCP, the instruction every read uses. */
  readonly rdtscp: boolean;
  /** The kernel's clocksource: "tsc", "other" (it chose another clock), or "unknown" (no /sys). */
  readonly kernelClocksource: "tsc" | "other" | "unknown";
  /** Counter ticks per nanosecond (its rate in GHz); 0 when not calibrated. */
  readonly ticksPerNs: number;
  /** Bound on the calibrated rate's relative error, in parts per million; 0 when not calibrated. */
  readonly calibrationErrorPpm: number;
  /** How long the calibration watched both clocks, in ns; 0 when not calibrated. */
  readonly calibrationWindowNs: number;
}

const REASONS = new Map<number, ClockFallbackReason>(
  (Object.entries(CLOCK_FALLBACK) as [ClockFallbackReason | "none", number][])
    .filter((entry): entry is [ClockFallbackReason, number] => entry[0] !== "none")
    .map(([name, value]) => [value, name]),
);
const CLOCKSOURCES = new Map([[1, "tsc"], [0, "other"], [-1, "unknown"]] as const);

let cached: ClockInfo | undefined;

/**
 * Which clock `tscNowNs` reads and why (frozen; the same object on every call). The first call
 * of the process calibrates the counter, about 20 ms, unless a TSC clock read already did.
 *
 * @example
 * ```ts
 * import { clockInfo } from "@hotpath/core";
 * const info = clockInfo();
 * console.log(info.source, info.fallbackReason ?? `${info.ticksPerNs} GHz`);
 * ```
 */
export function clockInfo(): ClockInfo {
  if (cached !== undefined) return cached;
  const out = new Float64Array(CLOCK_INFO.size / 8);
  const status = openNative().symbols.hp_clock_info(out, out.byteLength);
  if (status === STATUS.busy) {
    throw new HotpathError("BUSY", "clockInfo: another thread's calibration of the TSC clock did not end in 2 s.");
  }
  if (status !== STATUS.ok) throw new HotpathError("INVALID_ARGUMENT", `clockInfo: the library refused (${status}).`);
  const raw = f64Record(CLOCK_INFO, out);
  const source = raw.source === CLOCK_SOURCE.tsc ? "tsc" : "monotonic";
  const fallbackReason = REASONS.get(raw.fallback);
  const kernelClocksource = CLOCKSOURCES.get(raw.kernelClocksource as 1 | 0 | -1);
  if ((source === "tsc") !== (fallbackReason === undefined) || kernelClocksource === undefined) {
    throw new HotpathError("INVALID_ARGUMENT", `clockInfo: the library reported an unknown state (${out.join(", ")}).`);
  }
  cached = Object.freeze({
    source,
    fallbackReason,
    invariantTsc: raw.invariantTsc === 1,
    rdtscp: raw.rdtscp === 1,
    kernelClocksource,
    ticksPerNs: raw.ticksPerUs / 1000,
    calibrationErrorPpm: raw.calibrationErrorPpm,
    calibrationWindowNs: raw.calibrationWindowNs,
  });
  return cached;
}

/**
 * Nanoseconds since the library first read a clock, the same epoch as `nowNs`: from the time
 * stamp counter where `clockInfo().source` is "tsc", else exactly `nowNs()`. Never less than
 * this thread's previous reading. The first read of the process calibrates (about 20 ms):
 * call `clockInfo()` or `tscClockNs()` before a timed section.
 *
 * @example
 * ```ts
 * import { tscNowNs } from "@hotpath/core";
 * const start = tscNowNs();
 * const elapsed = tscNowNs() - start;
 * ```
 */
export function tscNowNs(): number {
  return openNative().symbols.hp_clock_tsc_ns();
}

/**
 * Returns the TSC clock function itself, calibrated and bound once, for timing loops: the
 * library's TSC read where `clockInfo().source` is "tsc", else the monotonic clock's (`nowNs`)
 * function, so the fallback costs nothing extra.
 *
 * @example
 * ```ts
 * import { tscClockNs } from "@hotpath/core";
 * const clock = tscClockNs();
 * const start = clock();
 * const elapsed = clock() - start;
 * ```
 */
export function tscClockNs(): () => number {
  const symbols = openNative().symbols;
  return clockInfo().source === "tsc" ? symbols.hp_clock_tsc_ns : symbols.hp_clock_ns;
}
