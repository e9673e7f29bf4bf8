/**
 * A Worker of bench/shared_churn.ts. Messages:
 * - { type: "init", id, allocator, setup }: attaches its SharedPool, or wraps the Treiber
 *   stack, opens libc or creates a private Pool, compiles its churn, posts { type: "ready" }.
 * - { type: "run", cross, bursts, participants }: waits until `participants` Workers have
 *   arrived at the barrier, churns, posts { type: "done", start, end, operations, crossFrees,
 *   waitShare } (start and end from hotpath's clock, one epoch for the whole process;
 *   waitShare: the part of the run this thread did not run, bench/thread_time.ts).
 * - { type: "close" }: closes its pools, posts { type: "closed" }.
 *
 * @module
 */
import { clockNs, Pool, SharedPool } from "../../mod.ts";
import { openLibc, pointerAddress, pointerAt } from "../libc.ts";
import { TreiberStack } from "../treiber_stack.ts";
import { idleShare, threadClock } from "../thread_time.ts";
import { BURST, type Churn, type ChurnSpec, compileChurn, handleChurn, pointerChurn } from "../shared_churn_loop.ts";
import type { Allocator, WorkerSetup } from "../shared_churn.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
const clock = clockNs();
const threadNow = threadClock();

interface State {
  id: number;
  allocator: Allocator;
  setup: WorkerSetup;
  /** The churn with cross-Worker swaps, and the one without. */
  churns: { cross: Churn; local: Churn };
  close: () => void;
}

let state: State | undefined;

/**
 * The spec of `allocator`, the only one this Worker runs: a realm that ran one SharedPool's
 * alloc and free hot runs another instance's more slowly (bench/shared_second_instance.ts).
 */
function build(allocator: Allocator, setup: WorkerSetup): { spec: ChurnSpec; close: () => void } {
  if (
    allocator === "shared" || allocator === "sharedLocal" || allocator === "sharedWide" || allocator === "sharedDebug"
  ) {
    // "sharedLocal": the pool the cross rows mix, from Workers of its own (a realm's feedback
    // from cross frees would otherwise shape the local loop too).
    const shared = SharedPool.attach(setup[allocator === "sharedLocal" ? "shared" : allocator]);
    return { spec: handleChurn(`${allocator} churn`, shared, "alloc", "free"), close: () => shared.close() };
  }
  if (allocator === "pool") {
    const pool = new Pool({ blockSize: 64, capacity: 4096, debug: false });
    const spec = { ...handleChurn("private Pool churn", pool, "alloc", "free"), swapOnly: true };
    return { spec, close: () => pool.close() };
  }
  if (allocator === "treiber") {
    return { spec: handleChurn("Treiber stack churn", new TreiberStack(setup.treiber), "pop", "push"), close() {} };
  }
  const libc = openLibc();
  const conversions = { address: pointerAddress, at: pointerAt };
  const parking = { addresses: new Float64Array(setup.parking), parked: new Int32Array(setup.parked) };
  return { spec: pointerChurn("malloc churn", libc.mallocOf(64), libc.free, conversions, parking), close() {} };
}

function init(id: number, allocator: Allocator, setup: WorkerSetup): State {
  const { spec, close } = build(allocator, setup);
  return { id, allocator, setup, churns: { cross: compileChurn(spec, true), local: compileChurn(spec, false) }, close };
}

/** Spins until `participants` Workers have arrived (the main thread reset the counter). */
function barrier(control: Int32Array, participants: number): void {
  Atomics.add(control, 0, 1);
  while (Atomics.load(control, 0) < participants) {
    // spin: both Workers start within a few microseconds
  }
}

interface RunMessage {
  type: "run";
  /** True: the churn that swaps one handle per burst with the other Worker; false: no swap. */
  cross: boolean;
  bursts: number;
  participants: number;
}

function run(current: State, message: RunMessage) {
  const { cross, bursts, participants } = message;
  const { id, allocator, setup, churns } = current;
  const churn = cross ? churns.cross : churns.local;
  const slots = new Int32Array(setup.slots);
  const held = allocator === "malloc" ? new Array<unknown>(BURST).fill(null) : new Int32Array(BURST);
  barrier(new Int32Array(setup.control), participants);
  const before = threadNow?.();
  const start = clock();
  const count = churn.run(bursts, id, slots, 0, held);
  const end = clock();
  const after = threadNow?.();
  churn.drain(slots, 0);
  return { type: "done", start, end, ...count, waitShare: idleShare(before, after) };
}

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as
    | { type: "init"; id: number; allocator: Allocator; setup: WorkerSetup }
    | RunMessage
    | { type: "close" };
  try {
    if (message.type === "init") {
      state = init(message.id, message.allocator, message.setup);
      scope.postMessage({ type: "ready" });
    } else if (message.type === "run") {
      scope.postMessage(run(state!, message));
    } else {
      state?.close();
      scope.postMessage({ type: "closed" });
    }
  } catch (error) {
    scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
  }
};
