/**
 * Two Workers churning one SharedPool against one Worker alone, and against what a user would
 * pick instead, all in this process and this run: glibc malloc/free through FFI, a plain JS
 * Treiber stack over a SharedArrayBuffer, and (the machine's own ceiling) a private Pool per
 * Worker. The churn is bench/shared_churn_loop.ts: bursts of 16 allocs and 16 frees; in the
 * "cross" kinds one handle per burst is swapped through a shared slot so that Workers free
 * each other's blocks, in the "local" kinds nothing is swapped.
 *
 * Method: each allocator gets two Workers of its own (a realm that ran one SharedPool hot runs
 * another more slowly: bench/shared_second_instance.ts), started one after the other
 * (shared/PITFALLS.md 7). Each round runs every kind, in an order that rotates, once on one
 * Worker alone and once on both at the same moment (a spin barrier in shared memory); the
 * first two rounds warm up. Throughput alone is operations over the Worker's own time; together, all
 * operations over the span from the first start to the last end (hotpath's clock, one epoch
 * per process). Ratios are taken within each round; medians and ranges are reported. The
 * machine is shared: a run in which a Worker did not run (another process had its core) for
 * more than 5% of the time is run again, at most three times, and that share is reported.
 *
 * @module
 */
import { SharedPool } from "../mod.ts";
import type { SharedPoolDescriptor } from "../mod.ts";
import { TreiberStack } from "./treiber_stack.ts";
import { PARKING_ENTRIES } from "./shared_churn_loop.ts";

/** The allocators a Worker can churn. */
export type Allocator = "shared" | "sharedLocal" | "sharedWide" | "sharedDebug" | "malloc" | "treiber" | "pool";

/** What is measured: an allocator, and whether Workers free each other's blocks. */
export type ChurnKind =
  | "shared"
  | "sharedLocal"
  | "sharedWide"
  | "sharedDebug"
  | "malloc"
  | "mallocLocal"
  | "treiber"
  | "pool"
  | "poolSwap";

export const CHURN_KINDS: Record<ChurnKind, { allocator: Allocator; cross: boolean; label: string }> = {
  shared: { allocator: "shared", cross: true, label: "SharedPool" },
  sharedLocal: { allocator: "sharedLocal", cross: false, label: "SharedPool, local" },
  sharedWide: { allocator: "sharedWide", cross: false, label: "SharedPool cache: 256, local" },
  sharedDebug: { allocator: "sharedDebug", cross: true, label: "SharedPool, debug mode" },
  malloc: { allocator: "malloc", cross: true, label: "glibc malloc/free via FFI" },
  mallocLocal: { allocator: "malloc", cross: false, label: "glibc malloc/free via FFI, local" },
  treiber: { allocator: "treiber", cross: true, label: "JS Treiber stack over a SAB" },
  pool: { allocator: "pool", cross: false, label: "Pool, one per Worker, local (ceiling)" },
  poolSwap: { allocator: "pool", cross: true, label: "Pool per Worker, swap only (ceiling)" },
};
const KINDS = Object.keys(CHURN_KINDS) as ChurnKind[];
const ALLOCATORS: Allocator[] = ["shared", "sharedLocal", "sharedWide", "sharedDebug", "malloc", "treiber", "pool"];

/** What the main thread gives each Worker. */
export interface WorkerSetup {
  shared: SharedPoolDescriptor;
  sharedWide: SharedPoolDescriptor;
  sharedDebug: SharedPoolDescriptor;
  treiber: SharedArrayBuffer;
  /** Int32 word 0: the slot both Workers swap handles through (-1: empty). */
  slots: SharedArrayBuffer;
  /** Float64 parking entries for addresses in transit (malloc), PARKING_ENTRIES per Worker. */
  parking: SharedArrayBuffer;
  /** Int32 per parking entry: 1 while its address is in transit. */
  parked: SharedArrayBuffer;
  /** Word 0: Workers arrived at the start barrier. */
  control: SharedArrayBuffer;
}

/** How much to measure. */
export interface ChurnOptions {
  rounds: number;
  /** Bursts (32 operations each) per Worker per run. */
  bursts: number;
}

/** Operations per second of each allocator, one value per measured round. */
export interface ChurnResults {
  alone: Record<ChurnKind, number[]>;
  together: Record<ChurnKind, number[]>;
  /** Share of frees (of all operations) whose block the other Worker allocated, together. */
  crossShare: Record<ChurnKind, number[]>;
  /** The longest share of a run a Worker waited for a CPU (alone or together), per round. */
  waitShare: Record<ChurnKind, number[]>;
  /** Runs repeated because a Worker waited for a CPU more than WAIT_SHARE_MAX of the run. */
  retries: number;
  /** Blocks allocated in the SharedPools after the Workers closed (`check()`: 0 expected). */
  leftInUse: number;
}

const WARM_UP_ROUNDS = 2;
const CAPACITY = 4096;
const TIMEOUT_MS = 120_000;
/** A run in which a Worker waited for a CPU longer than this share of it is run again... */
export const WAIT_SHARE_MAX = 0.05;
/** ...at most this many times (then it counts as it is, with its wait share reported). */
const RETRIES_MAX = 3;

/** One run's figures. */
interface Run {
  perSecond: number;
  crossShare: number;
  waitShare: number;
}

interface Done {
  type: "done";
  start: number;
  end: number;
  operations: number;
  crossFrees: number;
  waitShare: number;
}

/** The next message of `worker`; rejects on an error message, a Worker error or a timeout. */
function next<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("shared churn: a Worker did not answer")), TIMEOUT_MS);
    worker.onmessage = (event: MessageEvent) => {
      clearTimeout(timer);
      const data = event.data as { type: string; message?: string };
      if (data.type === "error") reject(new Error(`shared churn Worker: ${data.message}`));
      else resolve(event.data as T);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      clearTimeout(timer);
      reject(new Error(`shared churn Worker failed: ${event.message}`));
    };
  });
}

/** Two Workers per allocator, started one at a time; each pushed to `into` as soon as it exists. */
async function startWorkers(setup: WorkerSetup, into: Worker[]): Promise<Record<Allocator, Worker[]>> {
  const url = new URL("./shared_workers/churn_worker.ts", import.meta.url).href;
  const pairs = {} as Record<Allocator, Worker[]>;
  for (const allocator of ALLOCATORS) {
    pairs[allocator] = [];
    for (let id = 0; id < 2; id++) {
      const worker = new Worker(url, { type: "module" });
      into.push(worker);
      pairs[allocator].push(worker);
      const ready = next(worker);
      worker.postMessage({ type: "init", id, allocator, setup });
      await ready;
    }
  }
  return pairs;
}

/** Runs `kind` on `workers` at once; returns operations per second and the cross-free share. */
async function runOnce(workers: Worker[], setup: WorkerSetup, kind: ChurnKind, bursts: number): Promise<Run> {
  new Int32Array(setup.control)[0] = 0;
  const replies = workers.map((worker) => next<Done>(worker));
  const { cross } = CHURN_KINDS[kind];
  const participants = workers.length;
  for (const worker of workers) worker.postMessage({ type: "run", cross, bursts, participants });
  const done = await Promise.all(replies);
  const start = Math.min(...done.map((entry) => entry.start));
  const end = Math.max(...done.map((entry) => entry.end));
  const operations = done.reduce((sum, entry) => sum + entry.operations, 0);
  const crossFrees = done.reduce((sum, entry) => sum + entry.crossFrees, 0);
  return {
    perSecond: operations / ((end - start) / 1e9),
    crossShare: crossFrees / operations,
    waitShare: Math.max(...done.map((entry) => entry.waitShare)),
  };
}

/** Runs again (at most RETRIES_MAX times) while a Worker waited for a CPU too long. */
async function runUndisturbed(workers: Worker[], setup: WorkerSetup, kind: ChurnKind, bursts: number) {
  let run = await runOnce(workers, setup, kind, bursts);
  let retries = 0;
  while (run.waitShare > WAIT_SHARE_MAX && retries < RETRIES_MAX) {
    retries++;
    run = await runOnce(workers, setup, kind, bursts);
  }
  return { ...run, retries };
}

function emptyRecord(): Record<ChurnKind, number[]> {
  return Object.fromEntries(KINDS.map((kind) => [kind, [] as number[]])) as Record<ChurnKind, number[]>;
}

async function measureRounds(pairs: Record<Allocator, Worker[]>, setup: WorkerSetup, options: ChurnOptions) {
  const [alone, together, crossShare, waitShare] = [emptyRecord(), emptyRecord(), emptyRecord(), emptyRecord()];
  let retries = 0;
  for (let round = 0; round < options.rounds + WARM_UP_ROUNDS; round++) {
    for (let at = 0; at < KINDS.length; at++) {
      const kind = KINDS[(at + round) % KINDS.length];
      const workers = pairs[CHURN_KINDS[kind].allocator];
      // Alternate which Worker runs alone, and whether alone or together comes first.
      const solo = () => runUndisturbed([workers[round % 2]], setup, kind, options.bursts);
      const pair = () => runUndisturbed(workers, setup, kind, options.bursts);
      const single = round % 2 === 0 ? await solo() : undefined;
      const both = await pair();
      const lone = single ?? await solo();
      if (round < WARM_UP_ROUNDS) continue;
      alone[kind].push(lone.perSecond);
      together[kind].push(both.perSecond);
      crossShare[kind].push(both.crossShare);
      waitShare[kind].push(Math.max(lone.waitShare, both.waitShare));
      retries += lone.retries + both.retries;
    }
  }
  return { alone, together, crossShare, waitShare, retries };
}

/** Measures every allocator alone and together; closes everything it made, even on error. */
export async function sharedChurn(options: ChurnOptions): Promise<ChurnResults> {
  const shared = new SharedPool({ blockSize: 64, capacity: CAPACITY, debug: false });
  const sharedWide = new SharedPool({ blockSize: 64, capacity: CAPACITY, cache: 256, debug: false });
  const sharedDebug = new SharedPool({ blockSize: 64, capacity: CAPACITY, debug: true });
  const setup: WorkerSetup = {
    shared: shared.share(),
    sharedWide: sharedWide.share(),
    sharedDebug: sharedDebug.share(),
    treiber: TreiberStack.create(CAPACITY),
    slots: new SharedArrayBuffer(64),
    parking: new SharedArrayBuffer(2 * PARKING_ENTRIES * 8),
    parked: new SharedArrayBuffer(2 * PARKING_ENTRIES * 4),
    control: new SharedArrayBuffer(64),
  };
  new Int32Array(setup.slots).fill(-1);
  const workers: Worker[] = [];
  try {
    const results = await measureRounds(await startWorkers(setup, workers), setup, options);
    await Promise.all(workers.map((worker) => {
      const closed = next(worker);
      worker.postMessage({ type: "close" });
      return closed;
    }));
    const stack = new TreiberStack(setup.treiber);
    if (stack.count() !== CAPACITY) throw new Error(`shared churn: the Treiber stack holds ${stack.count()}`);
    return { ...results, leftInUse: [shared, sharedWide, sharedDebug].reduce((sum, pool) => sum + pool.check(), 0) };
  } finally {
    for (const worker of workers) worker.terminate();
    for (const pool of [shared, sharedWide, sharedDebug]) pool.close();
  }
}
