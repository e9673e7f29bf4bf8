/**
 * Percentile curves for the report's plots (bench/report_plots.ts): a latency `Histogram` read
 * at evenly spaced "nines" (0, 90, 99, 99.9 ... percentiles), each point within 1/128 of the
 * exact percentile. A curve is small (about 20 points a nine) and plain JSON, so a Worker or a
 * child process can send it back with its other figures.
 *
 * @module
 */
import type { Histogram } from "../mod.ts";

/** One point of a curve: [percentile from 0 to below 100, ns]. */
export type CurvePoint = [percent: number, ns: number];

/** Points per power of ten of 1 / (1 - p). */
const STEPS_PER_NINE = 20;

/**
 * The curve of `histogram` divided by `batch` (operations per recorded value), from the
 * minimum (percentile 0) to the percentile below which all but one value falls, 1 - 1/count:
 * beyond it, the tail is one sample. A 0 (a time below the clock's resolution once its cost is
 * subtracted) is drawn as 1 recorded ns, so that the curve fits a log axis. Empty histogram: [].
 */
export function percentileCurve(histogram: Histogram, batch = 1): CurvePoint[] {
  const count = histogram.count;
  if (count === 0) return [];
  const steps = Math.floor(Math.log10(count) * STEPS_PER_NINE);
  const curve: CurvePoint[] = [];
  for (let step = 0; step <= steps; step++) {
    const percent = 100 * (1 - 10 ** (-step / STEPS_PER_NINE));
    curve.push([percent, Math.max(1, histogram.percentile(percent)) / batch]);
  }
  return curve;
}
