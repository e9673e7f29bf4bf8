/**
 * The timing loop of the small reports (system_report.ts, histogram_bench.ts): one warm-up
 * round, then the median of the rounds, on hotpath's clock.
 *
 * @module
 */
import { clockNs } from "../mod.ts";

/** Median ns per operation of `body` (which runs `count` operations), over `rounds` rounds after one warm-up. */
export function medianNsPer(count: number, rounds: number, body: () => void): number {
  const clock = clockNs();
  const times: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = clock();
    body();
    if (round > 0) times.push((clock() - start) / count);
  }
  return times.sort((a, b) => a - b)[rounds >> 1];
}
