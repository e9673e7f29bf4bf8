/**
 * Latency distributions timed with hotpath's native clock (performance.now() costs 300-400 ns
 * on Deno, more than the operations measured).
 *
 * One sample times a batch of `batch` operations and divides by it, after subtracting the
 * median cost of reading the clock twice: single operations of a few nanoseconds are far
 * below the clock's own resolution (one FFI call, tens of ns). So p99 here is the p99 of
 * 64-operation averages, which understates the tail of single operations.
 *
 * Samples go into a `Histogram` (src/histogram.ts), not a sorted array: each batch's total is
 * recorded in whole ns and divided by the batch size when read, so every percentile is within
 * 1/128 (0.8%) relative error of the exact one (exact to 1 ns of the batch below 256 ns);
 * the mean and max are exact. The clock's own cost is still the median of sorted pairs: it is
 * subtracted from every sample and must not move by a bucket's width.
 *
 * @module
 */
import { clockNs, Histogram } from "../mod.ts";

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
  const batches = new Histogram();
  try {
    for (let warmup = 0; warmup < Math.min(options.samples, 20_000); warmup++) {
      timed();
      untimed();
    }
    for (let sample = 0; sample < options.samples; sample++) {
      const start = clock();
      timed();
      const end = clock();
      batches.record(Math.max(0, end - start - overhead));
      untimed();
    }
    if (options.startWithUntimed) timed();
    return distributionOf(name, batches, options.batch);
  } finally {
    batches.close();
  }
}

/**
 * Mean and percentiles of `histogram` divided by `batch` (the operations each recorded value
 * covers; 1 when each value is one operation). Percentiles within 1/128 of the exact ones.
 */
export function distributionOf(name: string, histogram: Histogram, batch = 1): Distribution {
  const summary = histogram.summary();
  return {
    name,
    avg: summary.mean / batch,
    p50: summary.p50 / batch,
    p99: summary.p99 / batch,
    p999: summary.p999 / batch,
    max: summary.max / batch,
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
