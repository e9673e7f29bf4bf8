/**
 * `affinity` across threads: a Worker that pins itself runs only where it asked (getcpu inside
 * it reports that CPU on every read), while the main thread's mask stays as it was.
 *
 * @module
 */
import assert from "node:assert/strict";
import { affinity } from "../../mod.ts";
import { test } from "../harness.ts";

const workerUrl = new URL("./affinity_worker.ts", import.meta.url).href;
const READS = 100_000;
const REPLY_LIMIT_MS = 30_000;

type Pinned = { type: string; mask: number[]; seen: number[]; node: number; message?: string };

function pinInWorker(cpu: number): Promise<Pinned> {
  const worker = new Worker(workerUrl, { type: "module" });
  return new Promise<Pinned>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no reply from the Worker in ${REPLY_LIMIT_MS} ms`)),
      REPLY_LIMIT_MS,
    );
    worker.onmessage = (event: MessageEvent) => resolve(event.data as Pinned);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`the Worker failed: ${event.message}`));
    };
    worker.postMessage({ cpu, reads: READS });
    return timer;
  }).finally(() => worker.terminate());
}

test("affinity: a Worker pinned to a CPU runs only there, and the main thread's mask is unchanged", async () => {
  const before = affinity.get();
  const allowed = affinity.allowed();
  // The last allowed CPU (CPU 1 on this 2-core machine): not 0, so a no-op pin cannot pass.
  const cpu = allowed[allowed.length - 1];
  const reply = await pinInWorker(cpu);
  assert.equal(reply.type, "pinned", reply.message);
  assert.deepEqual(reply.mask, [cpu]);
  assert.deepEqual(reply.seen, [cpu], `over ${READS} reads the pinned Worker ran on ${reply.seen}`);
  assert.ok(Number.isInteger(reply.node) && reply.node >= 0);
  assert.deepEqual(affinity.get(), before, "the main thread's mask changed");
  if (allowed.length > 1) {
    const other = await pinInWorker(allowed[0]);
    assert.deepEqual([other.mask, other.seen], [[allowed[0]], [allowed[0]]]);
  }
});
