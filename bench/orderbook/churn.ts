/**
 * One book, one process: prefill, a full garbage collection, then the timed churn between
 * two markers, so that the parent can count the garbage collector's log lines (V8
 * --trace-gc on stdout, JSC logGC on stderr) that fall inside the churn. Prints one
 * `HOTPATH-RESULT {json}` line.
 *
 * Usage: churn.ts <pool|js> <orders> <operations> <seed>
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { clockNs, Histogram, type Pool } from "../../mod.ts";
import { clockOverhead, type Distribution, distributionOf, measureLatency } from "../latency.ts";
import { percentileCurve } from "../latency_curve.ts";
import { JsBook } from "../../examples/orderbook/js_book.ts";
import { PoolBook } from "../../examples/orderbook/pool_book.ts";
import { type Book, KIND_NAMES, runChurn } from "../../examples/orderbook/workload.ts";
import { BEGIN_MARKER, type ChurnResult, END_MARKER, RESULT_PREFIX } from "./protocol.ts";

const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;

function statusBytes(field: string): number {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((entry) => entry.startsWith(`${field}:`));
  return line === undefined ? Number.NaN : Number.parseInt(line.split(/\s+/)[1], 10) * 1024;
}

function collectGarbage(): void {
  const global = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (global.Bun !== undefined) global.Bun.gc(true);
  else if (typeof global.gc === "function") global.gc();
}

/** Marker on the stream the runtime's GC log goes to, so the two stay in order. */
function mark(text: string): void {
  if (isBun) console.error(text);
  else console.log(text);
}

/** Single alloc and free of the churned order pool (its free list scrambled by the churn). */
function orderPoolLatencies(pool: Pool, samples: number): Distribution[] {
  const batch = 64;
  const held = new Uint32Array(batch);
  const alloc = () => {
    for (let index = 0; index < batch; index++) held[index] = pool.alloc();
  };
  const free = () => {
    for (let index = 0; index < batch; index++) pool.free(held[index]);
  };
  return [
    measureLatency("order pool alloc (after churn)", { samples, batch }, alloc, free),
    measureLatency("order pool free (after churn)", { samples, batch, startWithUntimed: true }, free, alloc),
  ];
}

const [kind, ordersText, operationsText, seedText] = process.argv.slice(2);
if (kind !== "pool" && kind !== "js") throw new Error("usage: churn.ts <pool|js> <orders> <operations> <seed>");
const options = { orders: Number(ordersText), operations: Number(operationsText), seed: Number(seedText) };
const book: Book = kind === "pool" ? new PoolBook(options.orders) : new JsBook();
const clock = clockNs();
const latencies = new Float64Array(options.operations);
const kinds = new Uint8Array(options.operations);
const overhead = clockOverhead(clock);
let rssBeforeChurnBytes = 0;
const counts = runChurn(book, options, clock, latencies, kinds, () => {
  collectGarbage();
  rssBeforeChurnBytes = statusBytes("VmRSS");
  mark(BEGIN_MARKER);
});
// On Deno, V8's log is buffered apart from console output: two forced ("testing")
// collections delimit the churn there. On Bun the markers do, so its forced one comes after.
// Peak RSS of prefill and churn, before the report's own arrays are made.
const peakRssBytes = statusBytes("VmHWM");
if (isBun) mark(END_MARKER);
collectGarbage();
if (!isBun) mark(END_MARKER);
// Into histograms after the churn (its timed loop stores into a preallocated array, as before):
// percentiles within 1/128 of the exact ones.
const overall = new Histogram();
const kindHistograms = KIND_NAMES.map(() => new Histogram());
for (let index = 0; index < latencies.length; index++) {
  const value = Math.max(0, latencies[index] - overhead);
  overall.record(value);
  kindHistograms[kinds[index]].record(value);
}
const byKind = KIND_NAMES.map((name, kind) => distributionOf(name, kindHistograms[kind]));
const result: ChurnResult = {
  book: kind,
  latency: distributionOf(kind === "pool" ? "pool book" : "js book", overall),
  curve: percentileCurve(overall),
  byKind,
  counts,
  checksum: { trades: book.trades, tradedQuantity: book.tradedQuantity, notional: book.notional, live: book.live },
  peakRssBytes,
  rssBeforeChurnBytes,
  heapUsedBytes: process.memoryUsage().heapUsed,
  poolLatencies: book instanceof PoolBook ? orderPoolLatencies(book.orderPool, 20_000) : [],
  poolGrowths: book instanceof PoolBook ? book.orderPool.stats().growths : 0,
};
console.log(RESULT_PREFIX + JSON.stringify(result));
