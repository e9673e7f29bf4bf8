/**
 * A Worker of tests/workers/shared_epoch_workers_test.ts, writer or reader of one linked list
 * of records in a SharedPool. A record is [seq, next] (u32s): `next` is a handle + 1 (0 ends the
 * list), `seq` a number the writer gives each record it links, larger for newer ones. The
 * writer links new records at the head only, so seqs fall strictly along the list.
 * - writer: `operations` times, unlinks a random record, retires it, allocates a new record and
 *   links it at the head. As a control it frees instead of retiring, until a reader reports a
 *   reuse (or 20 s pass).
 * - reader: until the writer is done, walks the list inside an epoch. A record reused while the
 *   reader stands on it shows a changed seq, or leads to a newer record: both are counted.
 *
 * @module
 */
import { SharedPool, type SharedPoolDescriptor } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

interface Message {
  role: "writer" | "reader";
  descriptor: SharedPoolDescriptor;
  /** Int32Array: [0] head (handle + 1), [1] writer done flag, [2] a reader saw a reuse. */
  control: SharedArrayBuffer;
  operations: number;
  reclaim: "retire" | "free";
}

function records(pool: SharedPool): Int32Array {
  const bytes = pool.bytes;
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
}

function writer(message: Message): Record<string, number> {
  const pool = SharedPool.attach(message.descriptor);
  const words = records(pool);
  const perRecord = pool.stride >>> 2;
  const control = new Int32Array(message.control);
  const order: number[] = [];
  let seq = 1;
  const link = (handle: number) => {
    Atomics.store(words, handle * perRecord, seq++);
    Atomics.store(words, handle * perRecord + 1, Atomics.load(control, 0));
    Atomics.store(control, 0, handle + 1); // published: the reader may follow it now
    order.unshift(handle);
  };
  for (let i = 0; i < 64; i++) link(pool.alloc());
  let waits = 0;
  const controlRun = message.reclaim === "free";
  const deadline = Date.now() + 20_000;
  for (let i = 0; controlRun ? Atomics.load(control, 2) === 0 && Date.now() < deadline : i < message.operations; i++) {
    const at = (Math.imul(i, 2654435761) >>> 0) % order.length;
    const handle = order[at];
    const after = Atomics.load(words, handle * perRecord + 1);
    if (at === 0) Atomics.store(control, 0, after);
    else Atomics.store(words, order[at - 1] * perRecord + 1, after);
    order.splice(at, 1);
    if (message.reclaim === "free") pool.free(handle);
    else {
      while (!pool.tryRetire(handle)) waits++;
    }
    link(pool.alloc());
  }
  Atomics.store(control, 1, 1);
  const stats = pool.stats();
  pool.close();
  return { seq, waits, retiredFreed: stats.retiredFreed };
}

function reader(message: Message): Record<string, number> {
  const pool = SharedPool.attach(message.descriptor);
  const words = records(pool);
  const perRecord = pool.stride >>> 2;
  const control = new Int32Array(message.control);
  let walks = 0;
  let steps = 0;
  let reused = 0;
  while (Atomics.load(control, 1) === 0) {
    pool.enter();
    let link = Atomics.load(control, 0);
    let previous = Infinity;
    while (link !== 0) {
      const handle = link - 1;
      const seq = Atomics.load(words, handle * perRecord);
      link = Atomics.load(words, handle * perRecord + 1);
      if (Atomics.load(words, handle * perRecord) !== seq || !(seq < previous)) {
        reused++;
        Atomics.store(control, 2, 1);
        break;
      }
      previous = seq;
      steps++;
    }
    pool.exit();
    walks++;
  }
  pool.close();
  return { walks, steps, reused };
}

scope.onmessage = (event: MessageEvent<Message>) => {
  const message = event.data;
  scope.postMessage(message.role === "writer" ? writer(message) : reader(message));
};
