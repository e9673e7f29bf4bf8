/**
 * Latency histograms in the Prometheus text format: each `Histogram` as a `summary` family of
 * its own, `hotpath_<name>_seconds`, with the quantiles 0.5, 0.9, 0.99 and 0.999, `_sum` and
 * `_count`, in seconds (Prometheus' base unit of time; a Histogram records nanoseconds).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { Histogram } from "./histogram.ts";
import { familyHeader, sampleLine } from "./prometheus_format.ts";
import { describe } from "./validate.ts";

/** Checked histograms, [name, histogram], in the order given. */
export type NamedHistograms = readonly (readonly [name: string, histogram: Histogram])[];

/** Quantile label values and the percentiles they are read at. */
const QUANTILES = [["0.5", 50], ["0.9", 90], ["0.99", 99], ["0.999", 99.9]] as const;
/** A name goes into a metric name: letters, digits and underscores, not starting with a digit. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
/** The most histograms one exposition takes. */
export const HISTOGRAMS_MAX = 1024;
const NS_PER_SECOND = 1e9;

/** Reads `histograms` once into [name, histogram] pairs; INVALID_ARGUMENT for anything else. */
export function checkHistograms(where: string, histograms: unknown): NamedHistograms {
  if (histograms === undefined) return [];
  let entries: [unknown, unknown][];
  if (histograms instanceof Map) {
    entries = [...histograms.entries()];
  } else if (typeof histograms === "object" && histograms !== null && !Array.isArray(histograms)) {
    const record = histograms as Record<string, unknown>;
    entries = Object.keys(record).map((key) => [key, record[key]]);
  } else {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: histograms must be an object or a Map of names to Histograms; got ${describe(histograms)}.`,
    );
  }
  if (entries.length > HISTOGRAMS_MAX) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: histograms takes at most ${HISTOGRAMS_MAX} histograms; got ${entries.length}.`,
    );
  }
  return entries.map(([name, histogram]) => [checkName(where, name), checkHistogram(where, name as string, histogram)]);
}

function checkName(where: string, name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: a histogram's name becomes part of a metric name, so it must be 1 to 100 letters, digits and ` +
        `underscores, not starting with a digit; got ${describe(name)}.`,
    );
  }
  return name;
}

function checkHistogram(where: string, name: string, histogram: unknown): Histogram {
  if (histogram instanceof Histogram) {
    try {
      histogram.count; // a closed Histogram throws CLOSED; an object that only has its prototype, a TypeError
      return histogram;
    } catch (error) {
      if (error instanceof HotpathError) throw closedError(where, name);
    }
  }
  throw new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: histograms.${name} must be a Histogram; got ${describe(histogram)}.`,
  );
}

function closedError(where: string, name: string): HotpathError {
  return new HotpathError("CLOSED", `${where}: histogram "${name}" is closed; leave it out or pass an open one.`);
}

/** One histogram as a summary family; quantiles are NaN while it is empty (the Prometheus convention). */
export function summaryText(where: string, name: string, histogram: Histogram): string {
  if (histogram.closed) throw closedError(where, name);
  const metric = `hotpath_${name}_seconds`;
  const count = histogram.count;
  let text = familyHeader(
    metric,
    "summary",
    `Histogram "${name}": recorded values in seconds; quantiles within 1/128 of the exact ones.`,
  );
  for (const [quantile, percent] of QUANTILES) {
    const seconds = count === 0 ? NaN : histogram.percentile(percent) / NS_PER_SECOND;
    text += sampleLine(metric, [["quantile", quantile]], seconds);
  }
  text += sampleLine(`${metric}_sum`, [], histogram.sum / NS_PER_SECOND);
  text += sampleLine(`${metric}_count`, [], count);
  return text;
}
