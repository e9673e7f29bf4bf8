/**
 * A Worker for tests/workers/workers_test.ts. It answers one message: { mode, pools }.
 * - "churn": creates `pools` pools (and one arena per ten), writes to them, closes every
 *   third, keeps the rest referenced and never closed, then posts { created, closed }.
 * - "spin": creates `pools` pools, posts "spinning", then allocates and frees in slices of
 *   10,000 operations between event-loop turns, holding 100 blocks, until terminated. (Deno
 *   2.9's terminate() does not stop a Worker that never yields: its thread keeps running, so
 *   its pools rightly stay mapped. Real Workers yield; this one does, as they do.)
 * - "transfer": writes a pattern into a pool, posts the pool's whole ArrayBuffer to the parent
 *   with a transfer list (Bun refuses to transfer external buffers: then { refused }), closes
 *   the pool and posts { closed: true }.
 * With { end: "self" } the Worker closes itself after answering.
 *
 * @module
 */
import process from "node:process";
import { Arena, Pool } from "../../mod.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close?: () => void;
}

/** Ends this Worker: `close()` on Deno; Bun Workers have none and end with `process.exit()`. */
function endSelf(): void {
  if (typeof scope.close === "function") scope.close();
  else process.exit(0);
}

const scope = globalThis as unknown as WorkerScope;
const kept: unknown[] = [];
(globalThis as { kept?: unknown[] }).kept = kept;

function churn(count: number): { created: number; closed: number } {
  let closed = 0;
  for (let index = 0; index < count; index++) {
    const pool = new Pool({ blockSize: 64, capacity: 64, debug: false });
    const handle = pool.alloc();
    pool.bytes.fill(index & 0xff, pool.offset(handle), pool.offset(handle) + 64);
    if (index % 3 === 0) {
      pool.close();
      closed++;
    } else {
      kept.push(pool);
    }
    if (index % 10 === 0) {
      const arena = new Arena({ capacity: 4096 });
      arena.alloc(100);
      kept.push(arena);
    }
  }
  return { created: count + Math.ceil(count / 10), closed };
}

function spin(count: number): void {
  const pools = Array.from({ length: count }, () => new Pool({ blockSize: 32, capacity: 1024, debug: false }));
  for (const pool of pools) for (let block = 0; block < 100; block++) pool.alloc();
  scope.postMessage("spinning");
  let round = 0;
  const slice = () => {
    for (let step = 0; step < 10_000; step++) {
      const pool = pools[round++ % pools.length];
      const handle = pool.alloc();
      pool.bytes[pool.offset(handle)] = round & 0xff;
      pool.free(handle);
    }
    setTimeout(slice, 0);
  };
  slice();
}

function transfer(): void {
  const pool = new Pool({ blockSize: 64, capacity: 16, debug: false });
  const handle = pool.alloc();
  pool.bytes.fill(0xab, pool.offset(handle), pool.offset(handle) + 64);
  const buffer = pool.bytes.buffer as ArrayBuffer;
  try {
    scope.postMessage({ buffer, blocksOffset: pool.bytes.byteOffset, offset: pool.offset(handle) }, [buffer]);
  } catch (error) {
    scope.postMessage({ refused: String(error) });
  }
  pool.close();
  scope.postMessage({ closed: true });
}

scope.onmessage = (event: MessageEvent) => {
  const { mode, pools, end } = event.data as { mode: string; pools: number; end?: string };
  if (mode === "churn") scope.postMessage(churn(pools));
  else if (mode === "spin") spin(pools);
  else if (mode === "transfer") transfer();
  if (end === "self") endSelf();
};
