/**
 * Run by tests/clock_test.ts with HOTPATH_CLOCK=monotonic: prints clockInfo() and whether the
 * TSC clock then agrees with nowNs(), as one JSON line.
 *
 * @module
 */
import { clockInfo, clockNs, nowNs, tscClockNs, tscNowNs } from "../../mod.ts";

const info = clockInfo();
const tsc = tscNowNs();
const monotonic = nowNs();
console.log(JSON.stringify({ info, boundIsMonotonic: tscClockNs() === clockNs(), gapNs: monotonic - tsc }));
