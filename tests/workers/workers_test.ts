import assert from "node:assert/strict";
import { libraryInfo } from "../../mod.ts";
import { collectGarbage, nextTurn, test } from "../harness.ts";

const workerUrl = new URL("./pool_worker.ts", import.meta.url).href;

/** Errors raised inside Workers; each test asserts there were none. */
const workerErrors: string[] = [];

function startWorker(): Worker {
  const worker = new Worker(workerUrl, { type: "module" });
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    workerErrors.push(event.message);
  };
  return worker;
}

/** The Worker's next message; rejects if a Worker error is recorded first (checked every 20 ms). */
function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const watch = setInterval(() => {
      if (workerErrors.length > 0) {
        clearInterval(watch);
        reject(new Error(`a Worker failed: ${workerErrors.join("; ")}`));
      }
    }, 20);
    worker.onmessage = (event: MessageEvent) => {
      clearInterval(watch);
      resolve(event.data as T);
    };
  });
}

/** Collects garbage and waits (at most `milliseconds`) until `done()` holds. */
async function eventually(milliseconds: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + milliseconds;
  while (!done() && Date.now() < deadline) {
    collectGarbage();
    await nextTurn();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return done();
}

/** Regions mapped once the main thread's own garbage is gone. */
async function settledRegions(): Promise<number> {
  for (let round = 0; round < 5; round++) {
    collectGarbage();
    await nextTurn();
  }
  return libraryInfo().regionsMapped;
}

test("Workers that create, use and abandon pools release every region when they end", async () => {
  const before = await settledRegions();
  const poolsPerWorker = 50;
  // Four Workers load the library at the same moment (shared/PITFALLS.md 7).
  const workers = Array.from({ length: 4 }, startWorker);
  const replies = workers.map((worker) => nextMessage<{ created: number; closed: number }>(worker));
  workers.forEach((worker, index) =>
    worker.postMessage({ mode: "churn", pools: poolsPerWorker, end: index % 2 === 0 ? "self" : undefined })
  );
  const results = await Promise.all(replies);
  const held = results.reduce((sum, result) => sum + result.created - result.closed, 0);
  assert.ok(held >= 4 * 30, `${held} regions held`);
  // Workers 1 and 3 are still alive and hold their regions; 0 and 2 closed themselves.
  assert.ok(libraryInfo().regionsMapped > before, "live Workers hold mapped regions");
  workers[1].terminate();
  workers[3].terminate();
  assert.ok(
    await eventually(10_000, () => libraryInfo().regionsMapped <= before),
    `${libraryInfo().regionsMapped - before} regions of ended Workers are still mapped`,
  );
});

test("a Worker terminated while it allocates leaves no region mapped and the process healthy", async () => {
  const before = await settledRegions();
  const worker = startWorker();
  const spinning = nextMessage<string>(worker);
  worker.postMessage({ mode: "spin", pools: 8 });
  assert.equal(await spinning, "spinning");
  assert.ok(libraryInfo().regionsMapped >= before + 8);
  await new Promise((resolve) => setTimeout(resolve, 100));
  worker.terminate();
  assert.ok(
    await eventually(10_000, () => libraryInfo().regionsMapped <= before),
    `${libraryInfo().regionsMapped - before} regions of the terminated Worker are still mapped`,
  );
});

interface Posted {
  buffer?: ArrayBuffer;
  blocksOffset?: number;
  offset?: number;
  refused?: string;
}

/** Reads and writes the posted region; returns false if the runtime refused the transfer. */
function touchPosted(posted: Posted): boolean {
  if (posted.refused !== undefined) return false;
  const view = new Uint8Array(posted.buffer!, posted.blocksOffset);
  // The Worker closed the pool (its pages went back: zeros) and ended; the memory is still mapped.
  assert.equal(view[posted.offset!], 0);
  view[posted.offset!] = 7;
  assert.equal(view[posted.offset!], 7);
  return true;
}

test("a region buffer posted to the parent stays mapped until the parent drops it", async () => {
  const before = await settledRegions();
  const worker = startWorker();
  const messages: Posted[] = [];
  const closed = new Promise<void>((resolve) => {
    worker.onmessage = (event: MessageEvent) => {
      if ((event.data as { closed?: boolean }).closed) resolve();
      else messages.push(event.data as Posted);
    };
  });
  worker.postMessage({ mode: "transfer", pools: 1 });
  await closed;
  worker.terminate();
  await eventually(300, () => false);
  if (touchPosted(messages[0])) {
    assert.ok(libraryInfo().regionsMapped >= before + 1, "the posted buffer holds its region");
  } else {
    // Bun: "Cannot transfer object marked as untransferable". The Worker keeps its buffer.
    assert.match(messages[0].refused!, /transfer/i);
  }
  messages.length = 0;
  assert.ok(
    await eventually(10_000, () => libraryInfo().regionsMapped <= before),
    "the region was not released after the parent dropped the buffer",
  );
  assert.deepEqual(workerErrors, []);
});
