/**
 * What each clock read costs, in the same run: hotpath's monotonic clock (`nowNs`, one FFI call
 * and clock_gettime), its TSC clock (`tscClockNs()`, one FFI call and RDTSCP), an empty FFI call
 * (the crossing alone), `performance.now()`, `Date.now()` and `process.hrtime.bigint()`. Each
 * clock has its own loop; rounds interleave the clocks, and each figure is the median of its
 * rounds, in ns per read, with its ratio to `performance.now()`. Also the smallest step each
 * clock showed between consecutive reads (its granularity as seen from JavaScript).
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/clock_bench.ts [--smoke]
 *   bun bench/clock_bench.ts [--smoke]
 *
 * @module
 */
import process from "node:process";
import { smokeRequested } from "./smoke_flag.ts";
import { clockInfo, clockNs, tscClockNs } from "../mod.ts";
import { openNative } from "../ffi/library.ts";

const ROUNDS = 11;

/** One clock: a label, a loop of `count` reads, and a read in ns (for the granularity). */
interface Subject {
  label: string;
  loop: (count: number) => number;
  readNs: () => number;
}

function subjects(): Subject[] {
  const native = clockNs();
  const tsc = tscClockNs();
  const noop = openNative().symbols.hp_noop;
  const hrtime = process.hrtime.bigint;
  return [
    { label: "nowNs() (clock_gettime, one FFI call)", loop: loopNative, readNs: native },
    { label: "tscClockNs() (RDTSCP, one FFI call)", loop: loopTsc, readNs: tsc },
    { label: "empty FFI call (hp_noop, the crossing)", loop: loopNoop, readNs: () => (noop(), 0) },
    { label: "performance.now()", loop: loopPerformance, readNs: () => performance.now() * 1e6 },
    { label: "Date.now()", loop: loopDate, readNs: () => Date.now() * 1e6 },
    { label: "process.hrtime.bigint()", loop: loopHrtime, readNs: () => Number(hrtime()) },
  ];

  // One loop per clock, so no call site sees two clocks.
  function loopNative(count: number): number {
    let sink = 0;
    for (let index = 0; index < count; index++) sink += native();
    return sink;
  }
  function loopTsc(count: number): number {
    let sink = 0;
    for (let index = 0; index < count; index++) sink += tsc();
    return sink;
  }
  function loopNoop(count: number): number {
    for (let index = 0; index < count; index++) noop();
    return count;
  }
  function loopPerformance(count: number): number {
    let sink = 0;
    for (let index = 0; index < count; index++) sink += performance.now();
    return sink;
  }
  function loopDate(count: number): number {
    let sink = 0;
    for (let index = 0; index < count; index++) sink += Date.now();
    return sink;
  }
  function loopHrtime(count: number): number {
    let last = 0n;
    for (let index = 0; index < count; index++) last = hrtime();
    return Number(last & 1n);
  }
}

/** The smallest positive step between consecutive reads, over `reads` reads; 0 if none moved. */
function granularityNs(readNs: () => number, reads: number): number {
  let smallest = Number.POSITIVE_INFINITY;
  let previous = readNs();
  for (let index = 0; index < reads; index++) {
    const now = readNs();
    if (now > previous && now - previous < smallest) smallest = now - previous;
    previous = now;
  }
  return Number.isFinite(smallest) ? smallest : 0;
}

/** Median ns per read of each subject, rounds interleaved, after one warm-up round. */
function medians(list: Subject[], count: number): number[] {
  const timer = clockNs();
  const times = list.map(() => [] as number[]);
  let sink = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    list.forEach((subject, index) => {
      const start = timer();
      sink += subject.loop(count);
      if (round > 0) times[index].push((timer() - start) / count);
    });
  }
  if (sink === -1) console.log(sink);
  return times.map((values) => values.sort((a, b) => a - b)[ROUNDS >> 1]);
}

/** The report's text. */
export function clockReport(options: { smoke: boolean }): string {
  const info = clockInfo();
  const count = options.smoke ? 10_000 : 1_000_000;
  const list = subjects();
  const costs = medians(list, count);
  const base = costs[list.findIndex((subject) => subject.label === "performance.now()")];
  const lines = [
    `\nClocks: ns per read, median of ${ROUNDS} interleaved rounds of ${count} reads (x: / performance.now()); ` +
    `smallest step seen:`,
    ...list.map((subject, index) => {
      const step = granularityNs(subject.readNs, 10_000);
      return `  ${subject.label.padEnd(42)} ${costs[index].toFixed(2).padStart(7)} ns  ` +
        `${(costs[index] / base).toFixed(2).padStart(5)}x  step ${step.toPrecision(3)} ns`;
    }),
    `  TSC clock: source ${info.source}${info.fallbackReason === undefined ? "" : ` (${info.fallbackReason})`}, ` +
    `invariant TSC ${info.invariantTsc}, kernel clocksource ${info.kernelClocksource}, ` +
    `${(info.ticksPerNs * 1000).toFixed(3)} ticks/us, calibration error ${info.calibrationErrorPpm.toFixed(2)} ppm ` +
    `over ${(info.calibrationWindowNs / 1e6).toFixed(1)} ms`,
  ];
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) console.log(clockReport({ smoke: smokeRequested() }));
