/**
 * One-way latency of hotpath's `Ring.spsc` between two Workers, for the consumer's wait
 * strategies "spin", "backoff" and "park" (bench/ring_workers/oneway_worker.ts): the producer
 * sends at a modest paced rate (one message every `intervalNs`, so that a parking consumer
 * really parks between messages) and stamps each with hotpath's clock; the consumer records
 * now - stamp. The figure includes one clock read on each side (`clockOverheadNs` is the cost
 * of a pair of reads on this thread, for scale).
 *
 * Method: each strategy has its own ring and pair of Workers. A round runs every strategy, in
 * an order that rotates; warm-up rounds are discarded. Percentiles are per run; the report
 * gives their median and range over rounds. The ring's own counters say how often the
 * consumer parked and was woken.
 *
 * @module
 */
import { clockNs, Ring } from "../mod.ts";
import { clockOverhead, type Distribution } from "./latency.ts";
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

async function runOnce(pair: Pair, options: OneWayOptions): Promise<Distribution> {
  new Int32Array(pair.control).fill(0);
  const replies = pair.workers.map((worker) => reply<{ distribution?: Distribution }>(worker));
  const { count, intervalNs } = options;
  for (const worker of pair.workers) worker.postMessage({ type: "run", count, intervalNs, participants: 2 });
  const done = await Promise.all(replies);
  return done[0].distribution!;
}

/** Measures each wait strategy; closes every Worker and ring it made, even on error. */
export async function ringOneWay(options: OneWayOptions): Promise<OneWayResults> {
  const runs = {} as Record<WaitStrategy, Distribution[]>;
  const parks = {} as Record<WaitStrategy, number>;
  const wakes = {} as Record<WaitStrategy, number>;
  const all: Worker[] = [];
  const rings: Ring<TickSchema>[] = [];
  try {
    const pairs: Pair[] = [];
    for (const wait of WAIT_STRATEGIES) {
      pairs.push(await startPair(wait, all, rings));
      runs[wait] = [];
    }
    for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
      for (let at = 0; at < pairs.length; at++) {
        const pair = pairs[(at + round) % pairs.length];
        const distribution = await runOnce(pair, options);
        if (round >= options.warmUpRounds) runs[pair.wait].push(distribution);
      }
    }
    for (const pair of pairs) {
      const stats = pair.ring.stats();
      parks[pair.wait] = stats.parks;
      wakes[pair.wait] = stats.wakes;
    }
    await closeWorkers(all);
    const messages = (options.warmUpRounds + options.rounds) * options.count;
    return { runs, parks, wakes, messages, clockOverheadNs: clockOverhead(clockNs()) };
  } finally {
    for (const worker of all) worker.terminate();
    for (const ring of rings) ring.close();
  }
}
