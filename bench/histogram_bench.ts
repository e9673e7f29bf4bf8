/**
 * What latency recording costs: `Histogram.record(ns)` per value against storing the value in a
 * preallocated Float64Array (the floor: a sample log sorted later) and pushing it onto a JS
 * array, and what each clock read costs (hotpath's native clock, `performance.now()`), all in
 * the same run. bench/clock_bench.ts compares every clock.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/histogram_bench.ts [--smoke]
 *   bun bench/histogram_bench.ts [--smoke]
 *
 * @module
 */
import { smokeRequested } from "./smoke_flag.ts";
import { medianNsPer } from "./median_ns.ts";
import { clockNs, Histogram } from "../mod.ts";

const ROUNDS = 7;

/** Median ns per value of `body` over `count` values, after one warm-up round. */
function perValue(count: number, body: () => void): number {
  return medianNsPer(count, ROUNDS, body);
}

/** The report's text. */
export function histogramReport(options: { smoke: boolean }): string {
  const count = options.smoke ? 10_000 : 1_000_000;
  const values = new Float64Array(count);
  let seed = 12345;
  for (let index = 0; index < count; index++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    values[index] = 50 + (seed % 100_000); // 50 ns to 100 us
  }
  using histogram = new Histogram();
  const log = new Float64Array(count);
  const record = perValue(count, () => {
    for (let index = 0; index < count; index++) histogram.record(values[index]);
  });
  const store = perValue(count, () => {
    for (let index = 0; index < count; index++) log[index] = values[index];
  });
  const push = perValue(count, () => {
    const samples: number[] = [];
    for (let index = 0; index < count; index++) samples.push(values[index]);
  });
  const clock = clockNs();
  let sink = 0;
  const native = perValue(count, () => {
    for (let index = 0; index < count; index++) sink += clock();
  });
  // medianNsPer already divides by its count: this figure was divided by 10 twice until issue 12.
  const now = perValue(count / 10, () => {
    for (let index = 0; index < count / 10; index++) sink += performance.now();
  });
  if (sink === -1) console.log(sink);
  const rows: [string, number][] = [
    ["store in a preallocated Float64Array (the floor)", store],
    ["Histogram.record(ns)", record],
    ["push onto a JS array", push],
    ["hotpath clock read (nowNs, one FFI call)", native],
    ["performance.now()", now],
  ];
  const lines = [
    `\nRecording latency: ns per value (${count} values of 50 ns-100 us), median of ${ROUNDS} rounds (x: / the floor):`,
    ...rows.map(([label, ns]) => `  ${label.padEnd(50)} ${ns.toFixed(2).padStart(7)} ns  ${(ns / store).toFixed(1)}x`),
    `  a store log of ${count} values also costs ${(count * 8) >> 20} MiB and a sort; the histogram 34 KiB, fixed`,
  ];
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) console.log(histogramReport({ smoke: smokeRequested() }));
