import assert from "node:assert/strict";
import { SharedPool } from "../../mod.ts";
import { test } from "../harness.ts";

const workerUrl = new URL("./shared_epoch_worker.ts", import.meta.url).href;

interface Result {
  seq?: number;
  waits?: number;
  retiredFreed?: number;
  walks?: number;
  steps?: number;
  reused?: number;
}

function run(worker: Worker, message: object, errors: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      errors.push(event.message);
      reject(new Error(`a Worker failed: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent) => resolve(event.data as Result);
    worker.postMessage(message);
  });
}

/** One writer and two readers over one list; returns what they counted. */
async function churnList(reclaim: "retire" | "free", operations: number) {
  using pool = new SharedPool({ blockSize: 8, capacity: 128, grow: { chunk: 128, maxCapacity: 4096 } });
  const control = new SharedArrayBuffer(12);
  const errors: string[] = [];
  const workers = [0, 1, 2].map(() => new Worker(workerUrl, { type: "module" }));
  try {
    const base = { descriptor: pool.share(), control, operations, reclaim };
    const [written, ...read] = await Promise.all([
      run(workers[0], { ...base, role: "writer" }, errors),
      run(workers[1], { ...base, role: "reader" }, errors),
      run(workers[2], { ...base, role: "reader" }, errors),
    ]);
    return { written, read, pool: pool.stats() };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

test("SharedPool epochs: readers never see a record reused under them (1,000,000 writer operations)", async () => {
  const { written, read, pool } = await churnList("retire", 1_000_000);
  assert.deepEqual(read.map((result) => result.reused), [0, 0], "a reader stood on a reused record");
  for (const result of read) assert.ok(result.walks! > 100, `only ${result.walks} walks`);
  assert.ok(written.retiredFreed! > 900_000, `only ${written.retiredFreed} retired blocks freed`);
  assert.ok(pool.capacity <= 1024, `retired blocks piled up: capacity ${pool.capacity}`);
});

test("SharedPool epochs, control: freeing at once instead of retiring is caught by the same readers", async () => {
  const { read } = await churnList("free", 0);
  const reused = read.reduce((sum, result) => sum + result.reused!, 0);
  assert.ok(reused > 0, "the readers detect reuse when blocks are freed without epochs");
});
