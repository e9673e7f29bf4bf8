/**
 * `affinity` across threads: a Worker that pins itself runs only where it asked (getcpu inside
 * it reports that CPU on every read), while the main thread's mask stays as it was.
 *
 * @module
 */
import assert from "node:assert/strict";
import { affinity, numa } from "../../mod.ts";
import { test } from "../harness.ts";

const workerUrl = new URL("./affinity_worker.ts", import.meta.url).href;
const READS = 100_000;
const REPLY_LIMIT_MS = 30_000;

type Pinned = {
  type: string;
  mask: number[];
  seen: number[];
  node: number;
  message?: string;
  placement?: {
    pinned: { cpu: number; node: number };
    requested?: { placement: unknown; policy: string; nodes: number[] };
    nodes: { byNode: number[]; pages: number; notPresent: number };
    default: unknown;
  };
};

function pinInWorker(cpu: number, pinThread = false): Promise<Pinned> {
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
    worker.postMessage({ cpu, reads: READS, pinThread });
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

test("numa.pinThread: a Worker pins itself and what it creates next is placed on its CPU's node", async () => {
  const allowed = affinity.allowed();
  const cpu = allowed[allowed.length - 1];
  const node = numa.topology().cpus.find((info) => info.id === cpu)!.node;
  const reply = await pinInWorker(cpu, true);
  assert.equal(reply.type, "pinned", reply.message);
  assert.deepEqual([reply.mask, reply.seen], [[cpu], [cpu]]);
  const placement = reply.placement!;
  assert.deepEqual(placement.pinned, { cpu, node });
  assert.deepEqual(placement.default, { node, strict: false });
  assert.deepEqual(placement.requested?.placement, { node, strict: false });
  assert.deepEqual([placement.requested?.policy, placement.requested?.nodes], ["preferred", [node]]);
  const { byNode, pages, notPresent } = placement.nodes;
  assert.equal(byNode[node], pages - notPresent, "every present page of the Worker's pool is on its node");
  assert.equal(numa.defaultPlacement(), undefined, "the main thread's default is its own");
});
