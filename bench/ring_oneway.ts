/**
 * One-way latency of hotpath's `Ring.spsc` between two Workers, for the consumer's wait
 * strategies "spin", "backoff" and "park" (bench/ring_workers/oneway_worker.ts): the producer
 * sends at a modest paced rate (one message every `intervalNs`, so that a parking consumer
 * really parks between messages) and stamps each with hotpath's clock; the consumer records
 * now - stamp. The figure includes one clock read on each side (`clockOverheadNs` is the cost
 * of a pair of reads on this thread, for scale).
 *
 * Method: each strategy has its own ring and pair of Workers. A round runs every strategy, in
 * an order that rotates; warm-up rounds are discarded. The consumer records into a `Histogram`
 * (percentiles within 1/128 of the exact ones). Percentiles are per run; the report gives
 * their median and range over rounds, and `curves` each strategy's measured runs merged into
 * one percentile curve. The ring's own counters say how often the consumer parked and was woken.
 *
 * @module
 */
import { clockNs, Histogram, Ring } from "../mod.ts";
import { clockOverhead, type Distribution } from "./latency.ts";
import { type CurvePoint, percentileCurve } from "./latency_curve.ts";
import { closeWorkers, reply, startWorker } from "./ring_threads.ts";
import { RING_CAPACITY, Tick, type TickSchema } from "./ring_workers/kinds.ts";
import type { OneWaySetup, WaitStrategy } from "./ring_workers/oneway_worker.ts";
import { CONTROL_BYTES } from "./ring_workers/scope.ts";

export type { WaitStrategy };
export const WAIT_STRATEGIES: WaitStrategy[] = ["spin", "backoff", "park"];

/** How much to measure. */
export interface OneWayOptions {
  rounds: number;
  warmUpRounds: number;
  /** Messages per run. */
  count: number;
  intervalNs: number;
}

/** Per strategy: one distribution per measured round, and the ring's park/wake counters. */
export interface OneWayResults {
  runs: Record<WaitStrategy, Distribution[]>;
  /** Per strategy: the percentile curve of all measured runs together. */
  curves: Record<WaitStrategy, CurvePoint[]>;
  parks: Record<WaitStrategy, number>;
  wakes: Record<WaitStrategy, number>;
  /** Messages the consumers received in all runs, warm-up included, per strategy. */
  messages: number;
  clockOverheadNs: number;
}

interface Pair {
  wait: WaitStrategy;
  ring: Ring<TickSchema>;
  workers: Worker[];
  control: SharedArrayBuffer;
}

async function startPair(wait: WaitStrategy, all: Worker[], rings: Ring<TickSchema>[]): Promise<Pair> {
  const ring = Ring.spsc({ slot: Tick, capacity: RING_CAPACITY });
  rings.push(ring);
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const workers: Worker[] = [];
  for (const role of ["consumer", "producer"] as const) {
    const setup: OneWaySetup = { role, ring: ring.share(), wait, control };
    workers.push(await startWorker("oneway_worker.ts", { type: "init", setup }, all));
  }
  return { wait, ring, workers, control };
}

/** What the consumer of a run replies: its distribution and its histogram's snapshot. */
interface RunResult {
  distribution: Distribution;
  snapshot: Float64Array;
}

async function runOnce(pair: Pair, options: OneWayOptions): Promise<RunResult> {
  new Int32Array(pair.control).fill(0);
  const replies = pair.workers.map((worker) => reply<Partial<RunResult>>(worker));
  const { count, intervalNs } = options;
  for (const worker of pair.workers) worker.postMessage({ type: "run", count, intervalNs, participants: 2 });
  const done = await Promise.all(replies);
  return done[0] as RunResult;
}

/** Measures each wait strategy; closes every Worker and ring it made, even on error. */
export async function ringOneWay(options: OneWayOptions): Promise<OneWayResults> {
  const runs = {} as Record<WaitStrategy, Distribution[]>;
  const merged = {} as Record<WaitStrategy, Histogram>;
  const parks = {} as Record<WaitStrategy, number>;
  const wakes = {} as Record<WaitStrategy, number>;
  const all: Worker[] = [];
  const rings: Ring<TickSchema>[] = [];
  try {
    const pairs: Pair[] = [];
    for (const wait of WAIT_STRATEGIES) {
      pairs.push(await startPair(wait, all, rings));
      runs[wait] = [];
      merged[wait] = new Histogram();
    }
    for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
      for (let at = 0; at < pairs.length; at++) {
        const pair = pairs[(at + round) % pairs.length];
        const result = await runOnce(pair, options);
        if (round < options.warmUpRounds) continue;
        runs[pair.wait].push(result.distribution);
        merged[pair.wait].merge(result.snapshot);
      }
    }
    const curves = {} as Record<WaitStrategy, CurvePoint[]>;
    for (const wait of WAIT_STRATEGIES) curves[wait] = percentileCurve(merged[wait]);
    for (const pair of pairs) {
      const stats = pair.ring.stats();
      parks[pair.wait] = stats.parks;
      wakes[pair.wait] = stats.wakes;
    }
    await closeWorkers(all);
    const messages = (options.warmUpRounds + options.rounds) * options.count;
    return { runs, curves, parks, wakes, messages, clockOverheadNs: clockOverhead(clockNs()) };
  } finally {
    for (const worker of all) worker.terminate();
    for (const ring of rings) ring.close();
    for (const histogram of Object.values(merged)) histogram.close();
  }
}
