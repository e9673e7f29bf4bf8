/**
 * The report's pictures (issue 12), drawn with bench/svg_plot.ts: latency percentile curves of
 * the pool order book against the JS-object one, and of `Ring.spsc` one-way latency for each
 * consumer wait strategy. Each run of bench/main.ts saves its runtime's curves in
 * bench/out/curves/<runtime>.json and then draws every runtime's curves found there, so after
 * `npm run bench` (Deno, then Bun; scripts/bench.mjs clears the old curves first) both runtimes
 * are in each picture: solid lines Deno, dashed lines Bun. The SVGs go to bench/plots/. A smoke
 * run keeps its curves and plots under bench/out/smoke/ and leaves the committed plots alone.
 * Run on its own, this file redraws the plots from the saved curves, without measuring:
 *
 *   deno run --allow-read --allow-write=bench/plots bench/report_plots.ts
 *
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChurnOptions } from "../examples/orderbook/workload.ts";
import type { CurvePoint } from "./latency_curve.ts";
import type { OneWayOptions, WaitStrategy } from "./ring_oneway.ts";
import { linePlot, type Series } from "./svg_plot.ts";

/** One runtime's curves and what produced them. */
export interface RuntimeCurves {
  runtime: "deno" | "bun";
  /** Runtime and version, as shown in the legend: "Deno 2.9.6". */
  version: string;
  orderBook: { options: ChurnOptions; curves: Record<"js" | "pool", CurvePoint[]> };
  ringOneWay: { options: OneWayOptions; curves: Record<WaitStrategy, CurvePoint[]> };
}

const BENCH = fileURLToPath(new URL(".", import.meta.url));
const RUNTIMES = ["deno", "bun"] as const;
const WAITS: WaitStrategy[] = ["spin", "backoff", "park"];
const NINES_AXIS = { label: "percentile (nines: 90, 99, 99.9 ... evenly spaced)", scale: "nines" } as const;
const LATENCY_AXIS = { label: "latency (log scale)", scale: "log", format: duration } as const;
/** First line of each plot: tells `deno fmt` (which formats SVG) to leave the generated file as written. */
const COMMENT = "deno-fmt-ignore-file: written by bench/report_plots.ts; run the benchmarks to change it";

/** Where the curves and plots of a run go. */
export function plotDirectories(smoke: boolean): { curves: string; plots: string } {
  const base = smoke ? join(BENCH, "out", "smoke") : BENCH;
  return { curves: join(smoke ? base : join(BENCH, "out"), "curves"), plots: join(base, "plots") };
}

/** 1500 -> "1.5 µs": a tick label in ns, µs, ms or s. */
function duration(ns: number): string {
  if (ns >= 1e9) return `${Number((ns / 1e9).toPrecision(3))} s`;
  if (ns >= 1e6) return `${Number((ns / 1e6).toPrecision(3))} ms`;
  if (ns >= 1e3) return `${Number((ns / 1e3).toPrecision(3))} µs`;
  return `${Number(ns.toPrecision(3))} ns`;
}

const int = (value: number) => value.toLocaleString("en-US");

/** The order books, pool against JS objects, per runtime. */
export function orderBookPlot(all: RuntimeCurves[]): string {
  const series: Series[] = all.flatMap((run) => [
    {
      label: `hotpath pools (${run.version})`,
      points: run.orderBook.curves.pool,
      color: 0,
      dashed: run.runtime === "bun",
    },
    {
      label: `JS objects + Maps (${run.version})`,
      points: run.orderBook.curves.js,
      color: 1,
      dashed: run.runtime === "bun",
    },
  ]);
  const { orders, operations, seed } = all[0].orderBook.options;
  return linePlot({
    title: "Order book: latency per operation, pool book vs JS-object book",
    subtitle: `${int(orders)} live orders, ${int(operations)} operations, seed ${seed}, one process per book; ` +
      `clock cost subtracted; within 1/128`,
    x: NINES_AXIS,
    y: LATENCY_AXIS,
    series,
    comment: COMMENT,
  });
}

/** Ring.spsc one-way latency, one curve per wait strategy and runtime. */
export function ringPlot(all: RuntimeCurves[]): string {
  const series: Series[] = all.flatMap((run) =>
    WAITS.map((wait, index) => ({
      label: `${wait} (${run.version})`,
      points: run.ringOneWay.curves[wait],
      color: index + 2,
      dashed: run.runtime === "bun",
    }))
  );
  const { rounds, count, intervalNs } = all[0].ringOneWay.options;
  return linePlot({
    title: "Ring.spsc one-way latency between two Workers, by consumer wait strategy",
    subtitle: `one message every ${intervalNs / 1000} µs, ${rounds} runs of ${int(count)} merged; now - stamp ` +
      `(a clock read on each side); within 1/128`,
    x: NINES_AXIS,
    y: LATENCY_AXIS,
    series,
    comment: COMMENT,
  });
}

/** Every runtime's saved curves, Deno first. */
function loadCurves(directory: string): RuntimeCurves[] {
  const names = new Set(readdirSync(directory));
  return RUNTIMES.filter((runtime) => names.has(`${runtime}.json`)).map((runtime) =>
    JSON.parse(readFileSync(join(directory, `${runtime}.json`), "utf8")) as RuntimeCurves
  );
}

/** Draws both plots from every runtime's curves saved in `directories.curves`; returns a line saying what. */
function drawPlots(directories: { curves: string; plots: string }): string {
  const all = loadCurves(directories.curves);
  if (all.length === 0) throw new Error(`no saved curves in ${directories.curves} (run bench/main.ts first)`);
  mkdirSync(directories.plots, { recursive: true });
  const written = [["orderbook_latency.svg", orderBookPlot(all)], ["ring_oneway_latency.svg", ringPlot(all)]].map(
    ([name, svg]) => {
      writeFileSync(join(directories.plots, name), svg);
      return relative(join(BENCH, ".."), join(directories.plots, name));
    },
  );
  return `\nplots (${all.map((run) => run.version).join(", ")}): ${written.join(", ")}`;
}

/**
 * Saves this runtime's curves, draws the plots from every runtime's saved curves and returns
 * a line saying what it wrote. Never throws: a report that ran for minutes should not end in
 * an error over its pictures (Deno needs --allow-write=bench/out,bench/plots).
 */
export function writeReportPlots(curves: RuntimeCurves, smoke: boolean): string {
  try {
    const directories = plotDirectories(smoke);
    mkdirSync(directories.curves, { recursive: true });
    writeFileSync(join(directories.curves, `${curves.runtime}.json`), JSON.stringify(curves));
    return drawPlots(directories);
  } catch (error) {
    return `\nplots not written: ${(error as Error).message}`;
  }
}

if (import.meta.main) console.log(drawPlots(plotDirectories(false)).trim());
