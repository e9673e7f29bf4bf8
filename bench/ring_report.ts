/**
 * The Ring section of the benchmark report (issue 10): throughput between two Workers of this
 * process (bench/ring_throughput.ts: postMessage, ringbuf.js, a hand-written SAB ring, hotpath
 * `Ring.spsc` and `Ring.mpmc`), round-trip latency (bench/ring_roundtrip.ts), one-way latency
 * per wait strategy (bench/ring_oneway.ts) and a named ring between a Deno and a Bun process
 * (bench/ring_processes.ts). Every ratio is taken within one round of this run; medians and
 * ranges over rounds are printed with the targets, which are reported, never enforced.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run --allow-sys=cpus bench/ring_report.ts [--smoke]
 *   bun bench/ring_report.ts [--smoke]
 *
 * @module
 */
import { cpus } from "node:os";
import process from "node:process";
import { ringThroughput, type ThroughputOptions, type ThroughputResults } from "./ring_throughput.ts";
import { RING_CAPACITY, THROUGHPUT_KINDS, type ThroughputKind } from "./ring_workers/kinds.ts";
import { ringRoundTrips, ROUND_TRIP_LABELS, type RoundTripKind, type RoundTripOptions } from "./ring_roundtrip.ts";
import {
  type OneWayOptions,
  type OneWayResults,
  ringOneWay,
  WAIT_STRATEGIES,
  type WaitStrategy,
} from "./ring_oneway.ts";
import type { CurvePoint } from "./latency_curve.ts";
import { DIRECTIONS, PROCESS_BATCHES, type ProcessRingOptions, ringProcesses } from "./ring_processes.ts";
import { isBun, median, medianRange, perRound } from "./ring_threads.ts";

/** A target: the measured value must be at least ("min") or at most ("max") `limit`; 0: informative. */
interface Target {
  limit: number;
  kind: "min" | "max";
  unit: "x" | " ns";
}

const INFORMATIVE: Target = { limit: 0, kind: "min", unit: "x" };
const atLeast = (limit: number): Target => ({ limit, kind: "min", unit: "x" });
const mops = (value: number) => (value / 1e6).toFixed(value < 1e7 ? 2 : 1);
const ratio = (value: number) => `${value.toFixed(2)}x`;
const nanoseconds = (value: number) => `${Math.round(value)} ns`;
const count = (value: number) => value >= 1e6 ? `${value / 1e6}M` : `${value / 1e3}k`;

/** One judged line: label, median [range], target and verdict. */
function targetLine(label: string, values: number[], target: Target, smoke: boolean): string {
  const format = target.unit === "x" ? ratio : nanoseconds;
  const head = `  ${label}: ${medianRange(values, format)}`;
  if (target.limit === 0) return `${head} (informative)`;
  const value = median(values);
  const met = target.kind === "max" ? value <= target.limit : value >= target.limit;
  const verdict = smoke ? "(smoke run: not judged)" : met ? "met" : "MISSED";
  return `${head}, target ${target.kind === "max" ? "<=" : ">="} ${target.limit}${target.unit}: ${verdict}`;
}

function settings(smoke: boolean) {
  const scale = smoke ? 0.01 : 1;
  const tenth = smoke ? 0.1 : 1;
  const counts: Record<ThroughputKind, number> = {
    postMessage: 200_000 * scale,
    ringbuf1: 1_000_000 * scale,
    ringbuf64: 10_000_000 * scale,
    sab1: 2_000_000 * scale,
    sab64: 20_000_000 * scale,
    spsc1: 2_000_000 * scale,
    spsc64: 20_000_000 * scale,
    spscViews1: 2_000_000 * scale,
    spscViews64: 20_000_000 * scale,
    mpmc: 1_000_000 * scale,
  };
  const throughput: ThroughputOptions = {
    rounds: smoke ? 2 : 7,
    warmUpRounds: smoke ? 1 : 2,
    counts,
    kinds: Object.keys(THROUGHPUT_KINDS) as ThroughputKind[],
  };
  const roundTrips: RoundTripOptions = {
    rounds: smoke ? 2 : 5,
    warmUpRounds: 1,
    kinds: ["postMessage", "word", "sab", "spsc", "spscPinned"],
    trips: {
      postMessage: 10_000 * tenth,
      word: 200_000 * tenth,
      sab: 200_000 * tenth,
      spsc: 200_000 * tenth,
      spscPinned: 200_000 * tenth,
    },
    block: { postMessage: 100, word: 1_000, sab: 1_000, spsc: 1_000, spscPinned: 1_000 },
  };
  const oneWay: OneWayOptions = {
    rounds: smoke ? 2 : 3,
    warmUpRounds: 1,
    count: smoke ? 2_000 : 25_000,
    intervalNs: 20_000,
  };
  const processes: ProcessRingOptions = {
    rounds: smoke ? 2 : 5,
    warmUpRounds: 1,
    counts: { 1: 2_000_000 * scale, 64: 20_000_000 * scale },
  };
  return { counts, throughput, roundTrips, oneWay, processes };
}

function throughputSection(results: ThroughputResults, options: ThroughputOptions, smoke: boolean): string[] {
  const { perSecond: rate, waitShare } = results;
  const lines = [
    `\nRing throughput between two Workers (main thread only orchestrates), ${RING_CAPACITY}-slot rings of ` +
    `(u32 seq, f64 value);\nmillion messages per second, median [min-max] over ${options.rounds} rounds after ` +
    `${options.warmUpRounds} warm-up rounds; every sequence number and the checksum checked;\n${results.retries} ` +
    `SPSC ring runs repeated because a Worker was off its core > 5% of the run ("idle": the most left, kept runs):`,
    `  ${"transport".padEnd(48)} ${"messages/run".padStart(12)}  ${"M msg/s [range]".padEnd(24)} idle`,
  ];
  for (const kind of options.kinds) {
    const messages = kind === "mpmc" ? `2 x ${count(options.counts[kind])}` : count(options.counts[kind]);
    const idle = `${(Math.max(...waitShare[kind]) * 100).toFixed(0)}%`;
    lines.push(
      `  ${THROUGHPUT_KINDS[kind].label.padEnd(48)} ${messages.padStart(12)}  ` +
        `${medianRange(rate[kind], mops).padEnd(24)} ${idle.padStart(4)}`,
    );
  }
  const postMessageTarget = atLeast(isBun ? 50 : 200);
  const within = (top: ThroughputKind, bottom: ThroughputKind) => perRound(rate[top], rate[bottom]);
  // The targets are judged on the zero-copy typed-array form (bytes at offsetOf + i * slotStride),
  // ringbuf.js's own kind of access; the cursor form is reported beside it.
  const judged: [string, number[], Target][] = [
    ["Ring.spsc typed arrays batch 64 / ringbuf.js batch 64", within("spscViews64", "ringbuf64"), atLeast(1.2)],
    [
      `Ring.spsc typed arrays batch 64 / postMessage (${isBun ? "Bun" : "Deno"})`,
      within("spscViews64", "postMessage"),
      postMessageTarget,
    ],
    ["Ring.spsc cursor batch 64 / ringbuf.js batch 64", within("spsc64", "ringbuf64"), INFORMATIVE],
    ["Ring.spsc cursor batch 64 / postMessage", within("spsc64", "postMessage"), INFORMATIVE],
    ["Ring.spsc batch 1 / postMessage", within("spsc1", "postMessage"), INFORMATIVE],
    ["Ring.spsc batch 1 / ringbuf.js batch 1", within("spsc1", "ringbuf1"), INFORMATIVE],
    ["Ring.spsc batch 1 / hand-written SAB ring batch 1", within("spsc1", "sab1"), INFORMATIVE],
    ["Ring.spsc batch 64 / hand-written SAB ring batch 64", within("spsc64", "sab64"), INFORMATIVE],
    ["Ring.spsc typed arrays / cursor, batch 1", within("spscViews1", "spsc1"), INFORMATIVE],
    ["Ring.spsc typed arrays / cursor, batch 64", within("spscViews64", "spsc64"), INFORMATIVE],
    ["Ring.spsc batch 1 / Ring.mpmc 2+2 (the cost of MPMC)", within("spsc1", "mpmc"), INFORMATIVE],
  ];
  lines.push("ratios from this run (median [min-max] of per-round ratios):");
  for (const [label, values, target] of judged) lines.push(targetLine(label, values, target, smoke));
  lines.push(
    `  (MPMC runs 4 spinning Workers on ${cpuCount()} cores: producers and consumers share cores, so ` +
      `this row measures oversubscription as much as the queue)`,
  );
  return lines;
}

function roundTripSection(results: Record<RoundTripKind, number[]>, options: RoundTripOptions, smoke: boolean) {
  const lines = [
    `\nRound trip between two Workers (one message there, its echo back), ns per round trip: median over blocks ` +
    `of the mean of a block,\nthen median [min-max] over ${options.rounds} rounds after ${options.warmUpRounds} ` +
    `warm-up round:`,
  ];
  for (const kind of options.kinds) {
    const trips = `${count(options.trips[kind])} trips, blocks of ${options.block[kind]}`;
    lines.push(
      `  ${ROUND_TRIP_LABELS[kind].padEnd(40)} ${trips.padEnd(28)} ${medianRange(results[kind], nanoseconds)}`,
    );
  }
  lines.push(targetLine("Ring.spsc spin round trip", results.spsc, { limit: 200, kind: "max", unit: " ns" }, smoke));
  lines.push(
    targetLine("postMessage / Ring.spsc round trip", perRound(results.postMessage, results.spsc), INFORMATIVE, smoke),
  );
  lines.push(
    targetLine("hand-written SAB / Ring.spsc round trip", perRound(results.sab, results.spsc), INFORMATIVE, smoke),
    targetLine("one word each way / Ring.spsc round trip", perRound(results.word, results.spsc), INFORMATIVE, smoke),
    targetLine(
      "Ring.spsc pinned / unpinned round trip",
      perRound(results.spscPinned, results.spsc),
      INFORMATIVE,
      smoke,
    ),
  );
  return lines;
}

function oneWaySection(results: OneWayResults, options: OneWayOptions): string[] {
  const lines = [
    `\nOne-way latency of Ring.spsc between two Workers, by consumer wait strategy: the producer sends one message ` +
    `every ${options.intervalNs / 1000} us\nstamped with hotpath's clock, the consumer polls and records now - stamp ` +
    `(includes a clock read on each side; a pair of reads costs ${results.clockOverheadNs.toFixed(0)} ns here);\n` +
    `${count(options.count)} messages per run, ns, median [min-max] over ${options.rounds} rounds after ` +
    `${options.warmUpRounds} warm-up round:`,
    `  ${"wait".padEnd(8)} ${"p50".padEnd(22)} ${"p99".padEnd(22)} ${"p99.9".padEnd(24)} ${"max".padEnd(26)} parks/msg`,
  ];
  const ns = (value: number) => `${Math.round(value)}`;
  for (const wait of WAIT_STRATEGIES) {
    const runs = results.runs[wait];
    const cell = (pick: (run: (typeof runs)[number]) => number, width: number) =>
      medianRange(runs.map(pick), ns).padEnd(width);
    const parks = (results.parks[wait] / results.messages).toFixed(2);
    lines.push(
      `  ${wait.padEnd(8)} ${cell((run) => run.p50, 22)} ${cell((run) => run.p99, 22)} ` +
        `${cell((run) => run.p999, 24)} ${cell((run) => run.max, 26)} ${parks}`,
    );
  }
  return lines;
}

function processSection(results: Awaited<ReturnType<typeof ringProcesses>>, options: ProcessRingOptions): string[] {
  const lines = [
    `\nA named Ring.spsc between two processes (the producer creates it, the consumer opens it by name), ` +
    `million messages per second\n(producer-timed, consumer checks every message), median [min-max] over ` +
    `${options.rounds} rounds after ${options.warmUpRounds} warm-up round:`,
  ];
  for (const [from, to] of DIRECTIONS) {
    const cells = PROCESS_BATCHES.map((batch) =>
      `batch ${batch} (${count(options.counts[batch])}): ${
        medianRange(results.perSecond[`${from}->${to}`][batch], mops)
      }`
    );
    lines.push(`  ${`${from} -> ${to}`.padEnd(14)} ${cells.join("   ")}`);
  }
  lines.push(`  ring files left in /dev/shm after both ended: ${results.leftInShm ? "YES" : "none"}`);
  return lines;
}

function cpuCount(): number | string {
  try {
    return cpus().length;
  } catch {
    return "?";
  }
}

function header(smoke: boolean): string {
  let model = "unknown (run Deno with --allow-sys=cpus)";
  try {
    model = cpus()[0]?.model ?? "unknown";
  } catch {
    // Deno without --allow-sys=cpus
  }
  const versions = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = isBun ? `Bun ${versions.Bun!.version}` : `Deno ${versions.Deno!.version.deno}`;
  return `Ring benchmarks${smoke ? " (smoke run: small counts, nothing judged)" : ""}: ${runtime}, ${model}, ` +
    `${cpuCount()} cores`;
}

/** The Ring section's text, and the one-way latency curves of each wait strategy for the plots. */
export interface RingReport {
  text: string;
  oneWay: { options: OneWayOptions; curves: Record<WaitStrategy, CurvePoint[]> };
}

/**
 * Runs the whole Ring section and returns its text (it prints nothing itself). Throws if a
 * message was lost, a checksum differs or a ring file was left behind.
 */
export async function ringReport(options: { smoke: boolean }): Promise<RingReport> {
  const { smoke } = options;
  const chosen = settings(smoke);
  const lines = [header(smoke)];
  lines.push(...throughputSection(await ringThroughput(chosen.throughput), chosen.throughput, smoke));
  lines.push(...roundTripSection(await ringRoundTrips(chosen.roundTrips), chosen.roundTrips, smoke));
  const oneWay = await ringOneWay(chosen.oneWay);
  lines.push(...oneWaySection(oneWay, chosen.oneWay));
  const processes = await ringProcesses(chosen.processes);
  lines.push(...processSection(processes, chosen.processes));
  if (processes.leftInShm) throw new Error(`ring processes: ${processes.paths.join(", ")} left behind`);
  return { text: lines.join("\n"), oneWay: { options: chosen.oneWay, curves: oneWay.curves } };
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
  console.log((await ringReport({ smoke: args.includes("--smoke") })).text);
}
