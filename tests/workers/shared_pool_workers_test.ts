import assert from "node:assert/strict";
import { SharedPool } from "../../mod.ts";
import { collectGarbage, test } from "../harness.ts";

const workerUrl = new URL("./shared_pool_worker.ts", import.meta.url).href;

interface Counts {
  allocs: number;
  frees: number;
  sent: number;
  received: number;
  failed: number;
  violations: number;
}

function startWorker(errors: string[]): Worker {
  const worker = new Worker(workerUrl, { type: "module" });
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    errors.push(event.message);
  };
  return worker;
}

/** The Worker's next message; rejects when a Worker error is recorded first. */
function reply<T>(worker: Worker, errors: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const watch = setInterval(() => {
      if (errors.length > 0) {
        clearInterval(watch);
        reject(new Error(`a Worker failed: ${errors.join("; ")}`));
      }
    }, 20);
    worker.onmessage = (event: MessageEvent) => {
      clearInterval(watch);
      resolve(event.data as T);
    };
  });
}

test("SharedPool: 3 Workers x 1,000,000 random allocs, frees and cross-Worker frees lose nothing", async () => {
  const capacity = 1024;
  using pool = new SharedPool({ blockSize: 32, capacity, grow: { chunk: 256, maxCapacity: 2048 }, cache: 32 });
  const ownership = new SharedArrayBuffer(4 * 2048);
  const mailboxes = new SharedArrayBuffer(4 * 16);
  new Int32Array(mailboxes).fill(-1);
  const errors: string[] = [];
  const workers = [1, 2, 3].map(() => startWorker(errors));
  const replies = workers.map((worker) => reply<Counts>(worker, errors));
  workers.forEach((worker, index) =>
    worker.postMessage({
      command: "churn",
      descriptor: pool.share(),
      ownership,
      mailboxes,
      id: index + 1,
      operations: 1_000_000,
      seed: 0x5eed + index,
    })
  );
  const counts = await Promise.all(replies);
  for (const worker of workers) worker.terminate();
  assert.deepEqual(counts.map((count) => count.violations), [0, 0, 0], "a block was held by two Workers at once");
  const total = (key: keyof Counts) => counts.reduce((sum, count) => sum + count[key], 0);
  assert.ok(total("received") > 1000, `only ${total("received")} cross-Worker frees`);
  let inMailboxes = 0;
  for (const handle of new Int32Array(mailboxes)) {
    if (handle < 0) continue;
    pool.free(handle);
    inMailboxes++;
  }
  assert.equal(total("allocs"), total("frees") + inMailboxes, "every allocation was freed exactly once");
  assert.equal(pool.check(), 0, "every block is exactly once free-listed or cached");
  const stats = pool.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(stats.freeListed + stats.cached + stats.homed, stats.capacity);
  assert.ok(stats.refills > 0 && stats.flushes > 0);
});

test("SharedPool: a Worker terminated with a full cache gives its blocks back", async () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 256, cache: 64 });
  const errors: string[] = [];
  const worker = startWorker(errors);
  const answer = reply<{ kept: number[]; cached: number; tid: number }>(worker, errors);
  worker.postMessage({ command: "fill", descriptor: pool.share(), keep: 5 });
  const { kept, cached, tid } = await answer;
  assert.ok(cached >= 32, `the Worker's cache held only ${cached}`);
  assert.ok(pool.stats().caches.some((cache) => cache.tid === tid && cache.cached === cached));
  worker.terminate();
  // Either the Worker's buffer is finalized (its cache is freed) or its thread is found dead.
  const deadline = Date.now() + 10_000;
  let reclaimed = 0;
  while (pool.stats().caches.length > 1 && Date.now() < deadline) {
    collectGarbage();
    reclaimed += pool.reclaimAbandoned();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stats = pool.stats();
  assert.deepEqual(stats.caches.map((cache) => cache.mine), [true], "the ended Worker's cache is gone");
  assert.equal(stats.inUse, kept.length, "its allocated blocks stay allocated (they may have been handed on)");
  assert.equal(stats.freeListed + stats.cached + stats.homed, 256 - kept.length, `reclaimed ${reclaimed}`);
  for (const handle of kept) pool.free(handle);
  assert.equal(pool.check(), 0);
});
