/**
 * The order-book proof: runs the churn once per book, each in a fresh process of the
 * current runtime with its garbage collector's log on, and prints the two books side by
 * side with the targets. Throws if the books disagree on a single trade.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Distribution, formatDistribution } from "../latency.ts";
import type { CurvePoint } from "../latency_curve.ts";
import { BEGIN_MARKER, type ChurnResult, END_MARKER, RESULT_PREFIX } from "./protocol.ts";
import type { ChurnOptions } from "../../examples/orderbook/workload.ts";

/** Garbage collections seen inside the churn, and their summed pause. */
export interface GcDuringChurn {
  events: number;
  pauseMs: number;
}

/** One book's figures. */
export interface BookRun {
  result: ChurnResult;
  gc: GcDuringChurn;
}

const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
const churnScript = fileURLToPath(new URL("./churn.ts", import.meta.url));

/** V8 --trace-gc lines: "<n> ms: Scavenge ... 0.20 / 0.00 ms ... <reason>". */
const V8_EVENT = new RegExp(
  String.raw`\d+ ms: (Scavenge|Minor Mark-Sweep|Mark-Compact|Incremental Mark-Compact|Mark-Sweep)` +
    String.raw`[^\n]*?([\d.]+) \/ [\d.]+ ms[^\n]*`,
  "g",
);
/** JSC logGC lines: "[GC<0x...>: START ... p=0.43ms ... END]". */
const JSC_EVENT = /\[GC<[^>]*>: START[^\n]*?p=([\d.]+)ms/g;

/**
 * Deno: V8's log is buffered apart from console output, so the churn lies between the forced
 * ("testing") collections.
 */
export function v8GcDuringChurn(log: string): GcDuringChurn {
  const events = [...log.matchAll(V8_EVENT)].map((match) => ({
    forced: match[0].includes("testing"),
    pauseMs: Number(match[2]),
  }));
  // Each gc() call logs one forced Mark-Compact: the first ends the prefill, the second the churn.
  const start = events.findIndex((event) => event.forced);
  if (start < 0) throw new Error("orderbook: no forced collection in the V8 log (is --trace-gc on?)");
  const end = events.findIndex((event, index) => index > start && event.forced);
  if (end < 0) throw new Error("orderbook: no forced collection after the churn in the V8 log");
  const inside = events.slice(start + 1, end);
  return { events: inside.length, pauseMs: inside.reduce((sum, event) => sum + event.pauseMs, 0) };
}

/** Bun: JSC's log and the markers both go to stderr, in order. */
export function jscGcDuringChurn(log: string): GcDuringChurn {
  const begin = log.indexOf(BEGIN_MARKER);
  const end = log.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error("orderbook: churn markers missing from the JSC log");
  const inside = [...log.slice(begin, end).matchAll(JSC_EVENT)];
  return { events: inside.length, pauseMs: inside.reduce((sum, match) => sum + Number(match[1]), 0) };
}

/** Runs one book's churn in a child process and collects its figures. */
export function runBook(book: "pool" | "js", options: ChurnOptions): BookRun {
  const args = [String(options.orders), String(options.operations), String(options.seed)];
  const command = isBun
    ? process.execPath
    : (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
  const argv = isBun ? [churnScript, book, ...args] : [
    "run",
    // Reading /proc/self/status (peak RSS) needs every permission on Deno.
    "--allow-all",
    "--v8-flags=--expose-gc,--trace-gc",
    churnScript,
    book,
    ...args,
  ];
  const child = spawnSync(command, argv, {
    encoding: "utf8",
    env: { ...process.env, BUN_JSC_logGC: "1" },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (child.status !== 0) {
    throw new Error(`orderbook: the ${book} churn failed (exit ${child.status}):\n${child.stderr.slice(-2000)}`);
  }
  const at = child.stdout.indexOf(RESULT_PREFIX);
  if (at < 0) throw new Error(`orderbook: the ${book} churn printed no result`);
  const result = JSON.parse(child.stdout.slice(at + RESULT_PREFIX.length).split("\n")[0]) as ChurnResult;
  const gc = isBun ? jscGcDuringChurn(child.stderr) : v8GcDuringChurn(child.stdout);
  return { result, gc };
}

const int = (value: number) => Math.round(value).toLocaleString("en-US");
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** What the report found: whether every target was met, and each book's percentile curve. */
export interface OrderBookOutcome {
  met: boolean;
  curves: Record<"js" | "pool", CurvePoint[]>;
}

/**
 * Runs both books and prints the comparison. `met` is false if a target was missed. A smoke
 * run (sizes too small to warm the JIT up) prints its figures without judging them.
 */
export function orderBookReport(options: ChurnOptions, smoke = false): OrderBookOutcome {
  const verdict = (met: boolean, target: string) =>
    smoke ? `(smoke run: target ${target} not judged)` : `target ${target}: ${met ? "met" : "MISSED"}`;
  const js = runBook("js", options);
  const pool = runBook("pool", options);
  const a = js.result;
  const b = pool.result;
  assertBooksAgree(a, b);
  const meanRatio = a.latency.avg / b.latency.avg;
  const tailRatio = a.latency.p999 / b.latency.p999;
  const poolSpreads = b.poolLatencies.map((entry) => entry.p99 / entry.p50);
  const checks = [
    meanRatio >= 5,
    tailRatio >= 4,
    pool.gc.events === 0,
    poolSpreads.every((spread) => spread <= 2),
  ];
  const row = (label: string, left: string, right: string, note = "") =>
    console.log(`  ${label.padEnd(26)}${left.padStart(18)}${right.padStart(18)}   ${note}`);
  console.log(
    `\norder book churn: ${int(options.orders)} live orders, ${int(options.operations)} operations ` +
      `(${int(a.counts.inserts)} inserts, ${int(a.counts.cancels)} cancels, ${
        int(a.counts.marketable)
      } marketable IOC), ` +
      `seed ${options.seed}, one process per book`,
  );
  row("", "JS objects + Maps", "hotpath pools");
  row(
    "mean per operation",
    `${a.latency.avg.toFixed(0)} ns`,
    `${b.latency.avg.toFixed(0)} ns`,
    `${meanRatio.toFixed(1)}x lower, ${verdict(checks[0], ">= 5x")}`,
  );
  row("p50", `${int(a.latency.p50)} ns`, `${int(b.latency.p50)} ns`);
  row("p99", `${int(a.latency.p99)} ns`, `${int(b.latency.p99)} ns`);
  row(
    "p99.9",
    `${int(a.latency.p999)} ns`,
    `${int(b.latency.p999)} ns`,
    `${tailRatio.toFixed(1)}x lower, ${verdict(checks[1], ">= 4x")}`,
  );
  row("max", `${int(a.latency.max)} ns`, `${int(b.latency.max)} ns`);
  row("GC events during churn", `${js.gc.events}`, `${pool.gc.events}`, verdict(checks[2], "0 for the pool book"));
  row("GC pause during churn", `${js.gc.pauseMs.toFixed(1)} ms`, `${pool.gc.pauseMs.toFixed(1)} ms`);
  row("peak RSS (whole process)", mb(a.peakRssBytes), mb(b.peakRssBytes));
  row("RSS before churn", mb(a.rssBeforeChurnBytes), mb(b.rssBeforeChurnBytes));
  row("JS heap used after churn", mb(a.heapUsedBytes), mb(b.heapUsedBytes));
  printByKind(a, b, row);
  b.poolLatencies.forEach((entry: Distribution, index) => {
    console.log(`  ${formatDistribution(entry)} ${verdict(poolSpreads[index] <= 2, "p99 <= 2x p50")}`);
  });
  console.log(
    `  both books made the same ${int(a.checksum.trades)} trades (${int(a.checksum.tradedQuantity)} units) and ` +
      `end with ${int(a.checksum.live)} resting orders; the order pool grew ${b.poolGrowths} times`,
  );
  return { met: smoke || checks.every(Boolean), curves: { js: a.curve, pool: b.curve } };
}

/** The same churn must end in the same book: otherwise the comparison measures nothing. */
function assertBooksAgree(a: ChurnResult, b: ChurnResult): void {
  if (
    JSON.stringify(a.checksum) !== JSON.stringify(b.checksum) || JSON.stringify(a.counts) !== JSON.stringify(b.counts)
  ) {
    throw new Error(
      `orderbook: the books disagree: js ${JSON.stringify(a.checksum)} vs pool ${JSON.stringify(b.checksum)}`,
    );
  }
}

/** Mean and p99.9 of each kind of operation, JS book beside pool book. */
function printByKind(
  a: ChurnResult,
  b: ChurnResult,
  row: (label: string, left: string, right: string, note?: string) => void,
): void {
  for (let kind = 0; kind < a.byKind.length; kind++) {
    const left = a.byKind[kind];
    const right = b.byKind[kind];
    row(
      `${left.name}: mean`,
      `${left.avg.toFixed(0)} ns`,
      `${right.avg.toFixed(0)} ns`,
      `${(left.avg / right.avg).toFixed(1)}x`,
    );
    row(
      `${left.name}: p99.9`,
      `${int(left.p999)} ns`,
      `${int(right.p999)} ns`,
      `${(left.p999 / right.p999).toFixed(1)}x`,
    );
  }
}
