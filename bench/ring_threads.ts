/**
 * The main thread's side of the ring benchmarks' Workers (bench/ring_workers/): start them one
 * after another (several fresh Bun Workers loading the library at once can crash:
 * shared/PITFALLS.md 7), send a request and wait for its one reply, and small statistics.
 *
 * @module
 */

const TIMEOUT_MS = 180_000;

/** The next reply of `worker`; rejects on an error reply, a Worker error or a timeout. */
export function reply<T>(worker: Worker, timeoutMs = TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("ring bench: a Worker did not answer")), timeoutMs);
    worker.onmessage = (event: MessageEvent) => {
      clearTimeout(timer);
      const data = event.data as { type: string; message?: string };
      if (data.type === "error") reject(new Error(`ring bench Worker: ${data.message}`));
      else resolve(event.data as T);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      clearTimeout(timer);
      reject(new Error(`ring bench Worker failed: ${event.message}`));
    };
  });
}

/** Sends `message` (transferring `transfer`) and waits for the reply. */
export function request<T>(worker: Worker, message: unknown, transfer: Transferable[] = []): Promise<T> {
  const answer = reply<T>(worker);
  worker.postMessage(message, transfer);
  return answer;
}

/**
 * Starts a Worker of bench/ring_workers/`file` and waits until it answered `init`; it is pushed
 * to `into` as soon as it exists, so that the caller can terminate it on any error.
 */
export async function startWorker(
  file: string,
  init: unknown,
  into: Worker[],
  transfer: Transferable[] = [],
): Promise<Worker> {
  const worker = new Worker(new URL(`./ring_workers/${file}`, import.meta.url).href, { type: "module" });
  into.push(worker);
  await request(worker, init, transfer);
  return worker;
}

/** Asks every Worker to close what it opened, then terminates them all. */
export async function closeWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((worker) => request(worker, { type: "close" })));
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `median [min-max]` of `values`, each formatted by `format`. */
export function medianRange(values: number[], format: (value: number) => string): string {
  if (values.length === 0) return "n/a";
  return `${format(median(values))} [${format(Math.min(...values))}-${format(Math.max(...values))}]`;
}

/** Per-round ratios of two series measured in the same rounds. */
export function perRound(top: number[], bottom: number[]): number[] {
  return top.map((value, round) => value / bottom[round]);
}

/** True on Bun. */
export const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
