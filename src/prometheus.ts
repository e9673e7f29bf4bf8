/**
 * `metricsText()`: hotpath's counters in the Prometheus text exposition format 0.0.4, the same
 * counters the process directory publishes (counters.ts), named after the Prometheus
 * conventions: `hotpath_pool_in_use_blocks{name="orders",node="0"} 12`.
 *
 * - Families: `hotpath_<kind>_<what>_<unit>`, kind in snake case (pool, arena, size_class_pool,
 *   shared_pool, numa_pool, ring); counters end in `_total`; gauges carry their unit (`_blocks`,
 *   `_bytes`, `_messages`, `_ratio`). One HELP and one TYPE line per family, its samples together.
 *   A counter a kind does not have is not emitted (a Ring has no high water, an Arena no growths).
 * - `hotpath_alert_level{kind="pool",name="orders"}`: the highest alert a Monitor holds on the
 *   object (0 none, 1 warn, 2 critical).
 * - Labels: `name` (the object's name option, "" when none: Prometheus reads an empty value as an
 *   absent label); `node` only for objects placed on one NUMA node (a NumaPool: one series per
 *   node), never a made-up value for the others; with `source: "process"`, `thread` (the
 *   publishing thread's id). Objects that share kind, name, node (and thread) would be one series
 *   twice, which Prometheus rejects: the second gets `copy="2"`, the third `copy="3"`, in creation
 *   order. Name your objects to avoid it.
 * - Histograms (option `histograms`): one summary family each, `hotpath_<name>_seconds`, see
 *   prometheus_summary.ts.
 *
 * @module
 */
import process from "node:process";
import { HotpathError } from "./errors.ts";
import { trackedObjects } from "./metrics.ts";
import { COUNTER_KINDS, type CounterKind, counterKind, type CounterRecord, currentCounters } from "./counters.ts";
import { readCounters } from "./stats_reader.ts";
import { ALERT_FAMILY, type CounterField, FAMILIES, KIND_NAMES } from "./prometheus_families.ts";
import { familyHeader, type Labels, type MetricType, sampleLine } from "./prometheus_format.ts";
import { checkHistograms, type NamedHistograms, summaryText } from "./prometheus_summary.ts";
import type { Histogram } from "./histogram.ts";
import { describe, readOptions } from "./validate.ts";

/** Options of `metricsText` (and of `serveMetrics`). */
export interface MetricsTextOptions {
  /**
   * Whose counters: "thread" (default), the open objects of the calling thread, read now; or
   * "process", every thread of this process (Workers included) as `publishCounters()` last
   * published them (at most its interval old), with a `thread` label. "process" needs
   * `publishCounters()` to run in this process: without it, NOT_FOUND.
   */
  source?: "thread" | "process";
  /** With `source: "process"`: where the counter directory is. Default: $HOTPATH_STATS_DIR, else /dev/shm. */
  directory?: string;
  /**
   * Latency histograms to add, by name (an object or a Map): each becomes a summary family
   * `hotpath_<name>_seconds` (quantiles 0.5, 0.9, 0.99, 0.999, `_sum`, `_count`, in seconds).
   * A name is 1 to 100 letters, digits and underscores, not starting with a digit. Default none.
   */
  histograms?: Readonly<Record<string, Histogram>> | ReadonlyMap<string, Histogram>;
}

/** Checked options, read once: what one exposition is made of. */
export interface MetricsPlan {
  readonly source: "thread" | "process";
  readonly directory: string | undefined;
  readonly histograms: NamedHistograms;
}

/** One object's counters and the labels that identify its series. */
interface Row {
  readonly record: CounterRecord;
  readonly labels: Labels;
}

/**
 * hotpath's counters, and any histograms given, in the Prometheus text format 0.0.4 (serve it
 * with the Content-Type `text/plain; version=0.0.4; charset=utf-8`, or use `serveMetrics`).
 * Objects whose `stats()` throws are left out. Runs off the hot path: one `stats()` per object.
 *
 * @example
 * ```ts
 * import { Histogram, metricsText, Pool } from "@hotpath/core";
 * using orders = new Pool({ blockSize: 64, capacity: 1024, name: "orders" });
 * using latency = new Histogram();
 * orders.alloc();
 * latency.record(1500);
 * console.log(metricsText({ histograms: { order_latency: latency } }));
 * // hotpath_pool_in_use_blocks{name="orders"} 1 ... hotpath_order_latency_seconds_count 1
 * ```
 */
export function metricsText(options: MetricsTextOptions = {}): string {
  return renderMetrics("metricsText", metricsPlan("metricsText", options));
}

/** Checks and reads `options` once (serveMetrics checks them when it starts, not at every scrape). */
export function metricsPlan(where: string, options: unknown): MetricsPlan {
  const given = readOptions(where, options, ["source", "directory", "histograms"]);
  const source = given.source === undefined ? "thread" : given.source;
  if (source !== "thread" && source !== "process") {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: source must be "thread" or "process"; got ${describe(given.source)}.`,
    );
  }
  const directory = given.directory;
  if (directory !== undefined && (source !== "process" || typeof directory !== "string")) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: directory is a string, and only for source "process"; got ${describe(directory)} with ` +
        `source "${source}".`,
    );
  }
  return { source, directory, histograms: checkHistograms(where, given.histograms) };
}

/** The exposition `plan` describes, read now. */
export function renderMetrics(where: string, plan: MetricsPlan): string {
  const rows = plan.source === "thread" ? threadRows() : processRows(where, plan.directory);
  const byKind = new Map<CounterKind, Row[]>(COUNTER_KINDS.map((kind) => [kind, []]));
  for (const row of rows) byKind.get(row.record.kind)!.push(row);
  let text = "";
  for (const family of FAMILIES) {
    text += familyText(family.name, family.type, family.help, byKind.get(family.kind)!, family.field);
  }
  const alertRows = rows.map(({ record, labels }) => ({
    record,
    labels: [["kind", KIND_NAMES[record.kind]] as const, ...labels],
  }));
  text += familyText(ALERT_FAMILY.name, ALERT_FAMILY.type, ALERT_FAMILY.help, alertRows, ALERT_FAMILY.field);
  for (const [name, histogram] of plan.histograms) text += summaryText(where, name, histogram);
  return text;
}

/** A family's HELP, TYPE and samples; "" when no row has the field (all NaN). */
function familyText(name: string, type: MetricType, help: string, rows: readonly Row[], field: CounterField): string {
  let samples = "";
  for (const { record, labels } of rows) {
    const value = record[field];
    if (!Number.isNaN(value)) samples += sampleLine(name, labels, value);
  }
  return samples === "" ? "" : familyHeader(name, type, help) + samples;
}

/** The calling thread's open objects, read now. */
function threadRows(): Row[] {
  const records: CounterRecord[] = [];
  for (const object of trackedObjects()) {
    const kind = counterKind(object);
    if (kind === undefined) continue;
    try {
      // Reading the stats too: a stats() that returns garbage or has a throwing getter is broken as well.
      records.push(...currentCounters(object, kind));
    } catch {
      continue; // a broken object must not take the whole exposition down
    }
  }
  return withLabels(records, () => undefined);
}

/** Every thread of this process, as published. */
function processRows(where: string, directory: string | undefined): Row[] {
  let objects;
  try {
    objects = readCounters(process.pid, directory === undefined ? {} : { directory }).objects;
  } catch (error) {
    if (!(error instanceof HotpathError && error.code === "NOT_FOUND")) throw error;
    throw new HotpathError(
      "NOT_FOUND",
      `${where}: source "process" shows what this process publishes, and it publishes nothing ` +
        `(${error.message}). Call publishCounters() first, in every thread whose objects should appear.`,
    );
  }
  return withLabels(objects, (index) => objects[index].tid);
}

/** The identifying labels of each record; a repeated identity gets `copy="2"`, `"3"`... */
function withLabels(records: readonly CounterRecord[], threadOf: (index: number) => number | undefined): Row[] {
  const seen = new Map<string, number>();
  return records.map((record, index) => {
    const labels: [string, string][] = [["name", record.name]];
    if (record.node >= 0) labels.push(["node", String(record.node)]);
    const thread = threadOf(index);
    if (thread !== undefined) labels.push(["thread", String(thread)]);
    const identity = JSON.stringify([record.kind, labels]);
    const copies = (seen.get(identity) ?? 0) + 1;
    seen.set(identity, copies);
    if (copies > 1) labels.push(["copy", String(copies)]);
    return { record, labels };
  });
}
