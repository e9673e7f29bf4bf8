/**
 * Latency distributions timed with hotpath's native clock (performance.now() costs 300-400 ns
 * on Deno, more than the operations measured).
 *
 * One sample times a batch of `batch` operations and divides by it, after subtracting the
 * median cost of reading the clock twice: single operations of a few nanoseconds are far
 * below the clock's own resolution (one FFI call, tens of ns). So p99 here is the p99 of
 * 64-operation averages, which understates the tail of single operations.
 *
 * @module
 */
import { clockNs } from "../mod.ts";

/** Percentiles of per-operation latency, in ns. */
export interface Distribution {
  name: string;
  avg: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Times `timed()` (which runs `batch` operations) `samples` times, with `untimed()` between
 * samples. `untimed()` must undo `timed()` (free what it allocated, or allocate what it
 * frees); it also runs once before the first sample, so a `timed()` that frees starts
 * from held blocks. The last call is `untimed()` again, leaving the state as found.
 */
export function measureLatency(
  name: string,
  options: { samples: number; batch: number; startWithUntimed?: boolean },
  timed: () => void,
  untimed: () => void,
): Distribution {
  const clock = clockNs();
  if (options.startWithUntimed) untimed();
  const overhead = clockOverhead(clock);
  const values = new Float64Array(options.samples);
  for (let warmup = 0; warmup < Math.min(options.samples, 20_000); warmup++) {
    timed();
    untimed();
  }
  for (let sample = 0; sample < options.samples; sample++) {
    const start = clock();
    timed();
    const end = clock();
    values[sample] = Math.max(0, end - start - overhead) / options.batch;
    untimed();
  }
  if (options.startWithUntimed) timed();
  return summarize(name, values);
}

/** Average and percentiles of `values` (sorts them in place). */
export function summarize(name: string, values: Float64Array): Distribution {
  values.sort();
  let sum = 0;
  for (const value of values) sum += value;
  const at = (quantile: number) => values[Math.min(values.length - 1, Math.floor(quantile * values.length))];
  return {
    name,
    avg: sum / values.length,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: values[values.length - 1],
  };
}

/** The median cost of one back-to-back pair of clock reads, in ns. */
export function clockOverhead(clock: () => number): number {
  const pairs = new Float64Array(20_001);
  for (let index = 0; index < pairs.length; index++) {
    const start = clock();
    pairs[index] = clock() - start;
  }
  pairs.sort();
  return pairs[10_000];
}

function ns(value: number): string {
  return value < 10 ? `${value.toFixed(1)}ns` : `${Math.round(value)}ns`;
}

/** One line: `pool_alloc (64B): avg 8ns p50 7ns p99 12ns p99.9 15ns`. */
export function formatDistribution(result: Distribution): string {
  return `${result.name}: avg ${ns(result.avg)} p50 ${ns(result.p50)} p99 ${ns(result.p99)} ` +
    `p99.9 ${ns(result.p999)} (p99/p50 ${(result.p99 / Math.max(result.p50, 0.1)).toFixed(2)})`;
}
