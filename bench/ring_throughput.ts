/**
 * Throughput of moving sequence-numbered messages between two Workers of this process (MPMC:
 * two producer and two consumer Workers): postMessage, ringbuf.js, a hand-written SAB ring and
 * hotpath's `Ring.spsc` and `Ring.mpmc` (bench/ring_workers/kinds.ts says what each moves and
 * checks). The main thread only orchestrates.
 *
 * Method: every transport gets Workers of its own, started one after another
 * (shared/PITFALLS.md 7), so each loop keeps its own JIT feedback. Each round runs every
 * transport once, in an order that rotates from round to round; the first rounds warm up and
 * are discarded. A run starts when all its Workers have met at a spin barrier; throughput is
 * messages received over the span from the first producer's start to the last consumer's end
 * (hotpath's clock, one epoch per process). The main thread checks the count and the checksum
 * of every run. An SPSC ring run in which a Worker did not run (another process had its core)
 * for more than 5% of the time is run again, at most twice, and that share is reported.
 *
 * @module
 */
import { RingBuffer } from "ringbuf.js";
import { Ring } from "../mod.ts";
import { sabRingBuffer } from "./ring_sab.ts";
import { closeWorkers, reply, startWorker } from "./ring_threads.ts";
import {
  RING_CAPACITY,
  type SideSetup,
  THROUGHPUT_KINDS,
  type ThroughputKind,
  Tick,
  type TickSchema,
} from "./ring_workers/kinds.ts";
import { CONTROL_BYTES } from "./ring_workers/scope.ts";

/** How much to measure; `counts` are messages per run (MPMC: per producer). */
export interface ThroughputOptions {
  rounds: number;
  warmUpRounds: number;
  counts: Record<ThroughputKind, number>;
  kinds: ThroughputKind[];
}

/** Messages per second and the largest idle share of a Worker, one value per measured round. */
export interface ThroughputResults {
  perSecond: Record<ThroughputKind, number[]>;
  waitShare: Record<ThroughputKind, number[]>;
  retries: number;
}

export const MPMC_PRODUCERS = 2;
export const MPMC_CONSUMERS = 2;
const WAIT_SHARE_MAX = 0.05;
const RETRIES_MAX = 2;

interface Group {
  kind: ThroughputKind;
  workers: Worker[];
  control: SharedArrayBuffer;
  producers: number;
}

interface Done {
  start: number;
  end: number;
  received: number;
  checksum: number;
  waitShare: number;
}

/** Workers for `kind` (consumers first), each with its setup; `rings` collects what to close. */
async function startGroup(kind: ThroughputKind, all: Worker[], rings: Ring<TickSchema>[]): Promise<Group> {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const base = { kind, control };
  const workers: Worker[] = [];
  const start = async (setup: SideSetup, transfer: Transferable[] = []) => {
    workers.push(await startWorker("throughput_worker.ts", { type: "init", setup }, all, transfer));
  };
  if (kind === "postMessage") {
    const channel = new MessageChannel();
    await start({ ...base, role: "consumer", id: 0, port: channel.port2 }, [channel.port2]);
    await start({ ...base, role: "producer", id: 0, port: channel.port1 }, [channel.port1]);
    return { kind, workers, control, producers: 1 };
  }
  if (kind === "mpmc") {
    const ring = Ring.mpmc({ slot: Tick, capacity: RING_CAPACITY });
    rings.push(ring);
    const shared = { ...base, ring: ring.share(), producers: MPMC_PRODUCERS };
    for (let id = 0; id < MPMC_CONSUMERS; id++) await start({ ...shared, role: "consumer", id });
    for (let id = 0; id < MPMC_PRODUCERS; id++) await start({ ...shared, role: "producer", id });
    return { kind, workers, control, producers: MPMC_PRODUCERS };
  }
  let transport: Partial<SideSetup>;
  if (kind === "spsc1" || kind === "spsc64" || kind === "spscViews1" || kind === "spscViews64") {
    const ring = Ring.spsc({ slot: Tick, capacity: RING_CAPACITY });
    rings.push(ring);
    transport = { ring: ring.share() };
  } else if (kind === "ringbuf1" || kind === "ringbuf64") {
    transport = { buffer: RingBuffer.getStorageForCapacity(2 * RING_CAPACITY, Float64Array) };
  } else {
    transport = { buffer: sabRingBuffer(RING_CAPACITY) };
  }
  await start({ ...base, ...transport, role: "consumer", id: 0 });
  await start({ ...base, ...transport, role: "producer", id: 0 });
  return { kind, workers, control, producers: 1 };
}

/** What the consumers of a run must report: message count and the sum of values. */
function expected(group: Group, count: number): { received: number; checksum: number } {
  if (group.kind === "mpmc") {
    return { received: group.producers * count, checksum: group.producers * count * (count - 1) / 2 };
  }
  return { received: count, checksum: count * (count - 1) / 4 };
}

async function runOnce(group: Group, count: number): Promise<{ perSecond: number; waitShare: number }> {
  new Int32Array(group.control).fill(0);
  const replies = group.workers.map((worker) => reply<Done>(worker));
  const participants = group.workers.length;
  for (const worker of group.workers) worker.postMessage({ type: "run", count, participants });
  const done = await Promise.all(replies);
  const start = Math.min(...done.map((side) => side.start));
  const end = Math.max(...done.map((side) => side.end));
  const received = done.reduce((sum, side) => sum + side.received, 0);
  const checksum = done.reduce((sum, side) => sum + side.checksum, 0);
  const want = expected(group, count);
  if (received !== want.received || checksum !== want.checksum) {
    throw new Error(
      `${THROUGHPUT_KINDS[group.kind].label}: received ${received} messages with checksum ${checksum}, ` +
        `expected ${want.received} and ${want.checksum}`,
    );
  }
  return { perSecond: received / ((end - start) / 1e9), waitShare: Math.max(...done.map((side) => side.waitShare)) };
}

/** SPSC rings run again while a Worker was off its core too long (see the module documentation). */
async function runUndisturbed(group: Group, count: number) {
  const retry = group.kind !== "postMessage" && group.kind !== "mpmc";
  let run = await runOnce(group, count);
  let retries = 0;
  while (retry && run.waitShare > WAIT_SHARE_MAX && retries < RETRIES_MAX) {
    retries++;
    run = await runOnce(group, count);
  }
  return { ...run, retries };
}

/** Measures every kind of `options.kinds`; closes every Worker and ring it made, even on error. */
export async function ringThroughput(options: ThroughputOptions): Promise<ThroughputResults> {
  const perSecond = {} as Record<ThroughputKind, number[]>;
  const waitShare = {} as Record<ThroughputKind, number[]>;
  const all: Worker[] = [];
  const rings: Ring<TickSchema>[] = [];
  let retries = 0;
  try {
    const groups: Group[] = [];
    for (const kind of options.kinds) {
      groups.push(await startGroup(kind, all, rings));
      perSecond[kind] = [];
      waitShare[kind] = [];
    }
    for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
      for (let at = 0; at < groups.length; at++) {
        const group = groups[(at + round) % groups.length];
        const run = await runUndisturbed(group, options.counts[group.kind]);
        if (round < options.warmUpRounds) continue;
        perSecond[group.kind].push(run.perSecond);
        waitShare[group.kind].push(run.waitShare);
        retries += run.retries;
      }
    }
    await closeWorkers(all);
    return { perSecond, waitShare, retries };
  } finally {
    for (const worker of all) worker.terminate();
    for (const ring of rings) ring.close();
  }
}
