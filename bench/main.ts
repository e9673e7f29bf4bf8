/**
 * The benchmark report: mitata suites, ratios against the targets (all from this one run),
 * latency distributions from the native clock, tight-loop ratios, SharedPool from one thread,
 * two Workers and two processes (bench/shared_report.ts), rings between Workers and processes
 * (bench/ring_report.ts), the cost of affinity calls and NumaPool (bench/system_report.ts), huge vs
 * base pages in a random walk (bench/page_walk.ts), latency recording (bench/histogram_bench.ts),
 * what each clock costs (bench/clock_bench.ts), publishing counters on vs off
 * (bench/publish_bench.ts), and the order book. Then the pictures (bench/report_plots.ts): the
 * order books' and the ring wait strategies' latency curves, drawn with every runtime's saved
 * curves into bench/plots/.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run --allow-sys=cpus \
 *     --allow-write=bench/out,bench/plots bench/main.ts [--smoke]
 *   bun bench/main.ts [--smoke]
 *
 * `--smoke` runs everything with few latency samples, to prove nothing crashes. Targets are
 * reported, never enforced: timings on a shared machine belong in a report, not a gate.
 *
 * @module
 */
import { cpus } from "node:os";
import { run } from "mitata";
import { libraryInfo } from "../mod.ts";
import { poolLatencies, registerPoolBenchmarks } from "./pool_bench.ts";
import { arenaLatencies, registerArenaBenchmarks } from "./arena_bench.ts";
import { registerStructBenchmarks } from "./struct_bench.ts";
import { orderBookReport } from "./orderbook/report.ts";
import { formatDistribution } from "./latency.ts";
import { NAMES } from "./names.ts";
import { OPS_PER_ITERATION } from "./repeat.ts";
import { tightRatios } from "./tight.ts";
import { registerSharedPoolBenchmarks } from "./shared_pool_bench.ts";
import { sharedPoolReport } from "./shared_report.ts";
import { ringReport } from "./ring_report.ts";
import { systemReport } from "./system_report.ts";
import { pageWalkReport } from "./page_walk.ts";
import { histogramReport } from "./histogram_bench.ts";
import { clockReport } from "./clock_bench.ts";
import { publishReport } from "./publish_bench.ts";
import { writeReportPlots } from "./report_plots.ts";

interface Target {
  label: string;
  numerator: string;
  denominator: string;
  /** Per-iteration divisor of the numerator (a batch bench counts many operations). */
  numeratorOps?: number;
  limit: number;
  /** "max": ratio must be at most limit; "min": at least. */
  kind: "max" | "min";
}

const targets: Target[] = [
  {
    label: "pool alloc+free vs TypeScript free list",
    numerator: NAMES.pool,
    denominator: NAMES.freeList,
    limit: 1.5,
    kind: "max",
  },
  {
    label: "malloc+free via FFI vs pool alloc+free",
    numerator: NAMES.malloc,
    denominator: NAMES.pool,
    limit: 3,
    kind: "min",
  },
  {
    label: "new ArrayBuffer(64) vs pool alloc+free",
    numerator: NAMES.arrayBuffer,
    denominator: NAMES.pool,
    limit: 25,
    kind: "min",
  },
  {
    label: "arena alloc vs TypeScript free list",
    numerator: NAMES.arena,
    denominator: NAMES.freeList,
    limit: 1.5,
    kind: "max",
  },
  {
    label: "pool via one FFI call per op vs TS hot path",
    numerator: NAMES.poolFfi,
    denominator: NAMES.pool,
    limit: 0,
    kind: "min",
  },
  {
    label: "debug mode pool vs release pool (the cost of debug mode)",
    numerator: NAMES.poolDebug,
    denominator: NAMES.pool,
    limit: 0,
    kind: "min",
  },
  {
    label: "struct cursor field access vs JS object",
    numerator: NAMES.fieldsCursor,
    denominator: NAMES.fieldsObject,
    limit: 0,
    kind: "max",
  },
  {
    label: "typed-array field access over pool memory vs JS object",
    numerator: NAMES.fieldsTyped,
    denominator: NAMES.fieldsObject,
    limit: 0,
    kind: "max",
  },
  {
    label: "SharedPool alloc+free vs Pool alloc+free (the cost of sharing, one thread)",
    numerator: NAMES.sharedPool,
    denominator: NAMES.pool,
    limit: 1.3,
    kind: "max",
  },
  {
    label: "SharedPool alloc+free, debug mode, vs Pool alloc+free",
    numerator: NAMES.sharedPoolDebug,
    denominator: NAMES.pool,
    limit: 1.3,
    kind: "max",
  },
  {
    label: "pool allocMany+freeMany per block vs alloc+free",
    numerator: NAMES.poolBatch,
    numeratorOps: 64,
    denominator: NAMES.pool,
    limit: 0,
    kind: "max",
  },
];

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const smoke = args.includes("--smoke");

/** The CPU model (mitata cannot read it on Deno, where it needs --allow-sys=cpus). */
function cpuModel(): string {
  try {
    return cpus()[0]?.model ?? "unknown";
  } catch {
    return "unknown (run Deno with --allow-sys=cpus)";
  }
}

registerPoolBenchmarks();
registerArenaBenchmarks();
registerStructBenchmarks();
registerSharedPoolBenchmarks();
const info = libraryInfo();
if (!smoke) {
  console.log(`mitata times ${OPS_PER_ITERATION} operations per iteration; per-operation figures follow the tables.`);
}
const report = await run({ colors: false, throw: true, format: smoke ? "quiet" : "mitata" });

const averages = new Map<string, number>();
for (const trial of report.benchmarks) {
  const stats = trial.runs[0]?.stats;
  if (stats) averages.set(trial.alias, stats.avg);
}

/** Average ns per operation (mitata reports per iteration of OPS_PER_ITERATION operations). */
function average(name: string): number {
  const value = averages.get(name);
  if (value === undefined) throw new Error(`benchmark "${name}" produced no result`);
  return value / OPS_PER_ITERATION;
}

console.log(
  `\nhotpath on ${info.runtime} (${report.context.runtime ?? "unknown version"}) | cpu: ${cpuModel()}`,
);
console.log("ratios from this run (average time per operation):");
for (const target of targets) {
  const ratio = average(target.numerator) / (target.numeratorOps ?? 1) / average(target.denominator);
  const verdict = target.limit === 0
    ? "(informative)"
    : (target.kind === "max" ? ratio <= target.limit : ratio >= target.limit)
    ? `target ${target.kind === "max" ? "<=" : ">="} ${target.limit}x: met`
    : `target ${target.kind === "max" ? "<=" : ">="} ${target.limit}x: MISSED`;
  console.log(`  ${target.label}: ${ratio.toFixed(2)}x ${verdict}`);
}
for (const name of Object.values(NAMES)) {
  console.log(`  ${name}: ${average(name).toFixed(2)} ns/op`);
}

const samples = smoke ? 2_000 : 200_000;
console.log(`\nlatency per operation (native clock, ${samples} samples of 64-op batches, clock cost subtracted):`);
for (const result of [...poolLatencies(samples), ...arenaLatencies(samples)]) {
  console.log(`  ${formatDistribution(result)}`);
}

// The same ratios from tight loops (bench/tight.ts), so that mitata's own harness cannot
// flatter a ratio: both sides in this process, each loop compiled from its own source.
const TIGHT_TARGETS: Record<string, { limit: number; kind: "max" | "min" }> = {
  "(a) pool vs free list": { limit: 1.5, kind: "max" },
  "(b) JS object vs pool": { limit: 3, kind: "min" },
  "(c) arena vs free list": { limit: 2, kind: "max" },
  "(d) cursor vs JS object": { limit: 1.5, kind: "max" },
};
const tight = tightRatios(smoke ? { rounds: 2, opsPerRound: 100_000 } : { rounds: 15, opsPerRound: 2_000_000 });
console.log(`\ntight-loop ratios (median [min-max] over ${smoke ? 2 : 15} rounds, sides interleaved):`);
for (const ratio of tight) {
  const target = TIGHT_TARGETS[ratio.label];
  const met = target.kind === "max" ? ratio.median <= target.limit : ratio.median >= target.limit;
  const range = `[${Math.min(...ratio.ratios).toFixed(2)}-${Math.max(...ratio.ratios).toFixed(2)}]`;
  const verdict = smoke ? "(smoke run: not judged)" : met ? "met" : "MISSED";
  console.log(
    `  ${ratio.label}: ${ratio.median.toFixed(2)}x ${range} target ${target.kind === "max" ? "<=" : ">="} ` +
      `${target.limit}x: ${verdict}`,
  );
}

// SharedPool (issue 9): one thread, two Workers, and a Deno and a Bun process on one named pool.
await sharedPoolReport(smoke, "this process, after mitata ran SharedPool");

// Rings (issue 10): two Workers and two processes, against postMessage, ringbuf.js and a SAB ring.
// Then what affinity calls cost (issue 11).
const ring = await ringReport({ smoke });
console.log(ring.text);
console.log(systemReport({ smoke }));
console.log(pageWalkReport({ smoke }));
// What recording a latency costs (issue 12, begun).
console.log(histogramReport({ smoke }));
console.log(clockReport({ smoke }));
console.log(await publishReport({ smoke }));

// The order-book proof: each book in its own process, with the runtime's GC log on.
const orderBookOptions = smoke
  ? { orders: 5_000, operations: 50_000, seed: 42 }
  : { orders: 100_000, operations: 2_000_000, seed: 42 };
const orderBook = orderBookReport(orderBookOptions, smoke);

// Pictures (issue 12): this runtime's latency curves, drawn beside the other runtime's saved ones.
const versions = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
console.log(writeReportPlots({
  runtime: info.runtime,
  version: info.runtime === "bun" ? `Bun ${versions.Bun!.version}` : `Deno ${versions.Deno!.version.deno}`,
  orderBook: { options: orderBookOptions, curves: orderBook.curves },
  ringOneWay: ring.oneWay,
}, smoke));
