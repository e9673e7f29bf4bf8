/**
 * A Worker of tests/workers/shared_pool_workers_test.ts. Commands:
 * - `churn`: attaches to the pool and runs random alloc / free / hand-over for `operations`
 *   operations. Every handle it holds is claimed in a shared ownership table with a CAS, so a
 *   block handed to two Workers at once, or freed by one while another holds it, is counted.
 *   Hand-overs go through mailboxes: the receiving Worker frees what it takes (cross-Worker free).
 * - `fill`: attaches, fills its cache, keeps `keep` blocks allocated, reports and waits to be
 *   terminated without closing anything.
 *
 * @module
 */
import { SharedPool, type SharedPoolDescriptor } from "../../mod.ts";
import { random01 } from "../random.ts";

/** The Worker's global scope, typed without the DOM library. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

interface Churn {
  command: "churn";
  descriptor: SharedPoolDescriptor;
  /** Int32Array over a SharedArrayBuffer: 0 free, worker id (1..) held, -1 in a mailbox. */
  ownership: SharedArrayBuffer;
  /** Int32Array of mailboxes: -1 empty, else a handle in transit. */
  mailboxes: SharedArrayBuffer;
  id: number;
  operations: number;
  seed: number;
}

interface Fill {
  command: "fill";
  descriptor: SharedPoolDescriptor;
  keep: number;
}

function churn(message: Churn): Record<string, number> {
  const pool = SharedPool.attach(message.descriptor);
  const owners = new Int32Array(message.ownership);
  const mailboxes = new Int32Array(message.mailboxes);
  const next = random01(message.seed);
  const held: number[] = [];
  const counts = { allocs: 0, frees: 0, sent: 0, received: 0, failed: 0, violations: 0 };
  const take = (handle: number, from: number) => {
    if (Atomics.compareExchange(owners, handle, from, message.id) !== from) counts.violations++;
    held.push(handle);
  };
  const release = (handle: number, to: number) => {
    if (Atomics.compareExchange(owners, handle, message.id, to) !== message.id) counts.violations++;
  };
  for (let i = 0; i < message.operations; i++) {
    const roll = next();
    if (roll < 0.45 && held.length < 256) {
      const handle = pool.tryAlloc();
      if (handle < 0) counts.failed++;
      else {
        take(handle, 0);
        counts.allocs++;
      }
    } else if (held.length > 0 && roll < 0.85) {
      const index = Math.floor(next() * held.length);
      const handle = held[index];
      held[index] = held[held.length - 1];
      held.pop();
      if (roll < 0.8) {
        release(handle, 0);
        pool.free(handle);
        counts.frees++;
      } else {
        release(handle, -1);
        const previous = Atomics.exchange(mailboxes, Math.floor(next() * mailboxes.length), handle);
        counts.sent++;
        if (previous >= 0) received(previous);
      }
    } else {
      const previous = Atomics.exchange(mailboxes, Math.floor(next() * mailboxes.length), -1);
      if (previous >= 0) received(previous);
    }
  }
  function received(handle: number) {
    if (Atomics.compareExchange(owners, handle, -1, 0) !== -1) counts.violations++;
    counts.received++;
    pool.free(handle); // allocated by another Worker, freed here
    counts.frees++;
  }
  for (const handle of held) {
    release(handle, 0);
    pool.free(handle);
    counts.frees++;
  }
  pool.close();
  return counts;
}

function fill(message: Fill): void {
  const pool = SharedPool.attach(message.descriptor);
  const handles: number[] = [];
  while (handles.length < 64) handles.push(pool.alloc());
  for (const handle of handles.splice(message.keep)) pool.free(handle);
  const mine = pool.stats().caches.find((cache) => cache.mine)!;
  scope.postMessage({ kept: handles, cached: mine.cached, tid: mine.tid });
  // Holds `pool` (and its cache) until the main thread terminates this Worker.
  (globalThis as { keepAlive?: unknown }).keepAlive = pool;
}

scope.onmessage = (event: MessageEvent<Churn | Fill>) => {
  const message = event.data;
  if (message.command === "churn") scope.postMessage(churn(message));
  else fill(message);
};
