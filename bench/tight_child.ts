/**
 * Child of bench/perf_guard_test.ts: measures the tight-loop ratios in a process of its own
 * (other tests' pools would have trained the JIT differently) and prints them as one JSON line.
 *
 * @module
 */
import { tightRatios } from "./tight.ts";

const ratios = tightRatios({ rounds: 7, opsPerRound: 500_000 });
console.log(JSON.stringify(Object.fromEntries(ratios.map((ratio) => [ratio.label, ratio.median]))));
