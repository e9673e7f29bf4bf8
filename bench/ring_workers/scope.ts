/**
 * What every Worker of the ring benchmarks shares: its global scope, the start barrier, and a
 * message loop that answers each request with one reply or with `{ type: "error", message }`.
 *
 * @module
 */

/** The global scope of a Worker, as far as the ring Workers use it. */
export interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

export const scope = globalThis as unknown as WorkerScope;

/** Int32 words of the control buffer every run shares. */
export const CONTROL = {
  /** Workers arrived at the start barrier (the main thread resets it before a run). */
  arrived: 0,
  /** MPMC producers that have committed their last message. */
  producersDone: 16,
} as const;
export const CONTROL_BYTES = 128;

/** Spins until `participants` Workers have arrived (all start within a few microseconds). */
export function barrier(control: Int32Array, participants: number): void {
  Atomics.add(control, CONTROL.arrived, 1);
  while (Atomics.load(control, CONTROL.arrived) < participants) {
    // spin
  }
}

/**
 * Serves requests: `handle` returns the reply (or a promise of it); a thrown error becomes an
 * error reply carrying its stack.
 */
export function serve(handle: (message: { type: string }) => unknown): void {
  scope.onmessage = async (event: MessageEvent) => {
    try {
      scope.postMessage(await handle(event.data as { type: string }));
    } catch (error) {
      scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
    }
  };
}
