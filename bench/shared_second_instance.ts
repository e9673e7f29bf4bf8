/**
 * A SharedPool oddity, measured: once one SharedPool's alloc and free have run hot, a loop over
 * a second SharedPool runs them more slowly; a loop over the same pool does not, and Pool shows
 * neither. Each mode runs in a process of its own:
 * - "fresh": nothing runs before the measured loops;
 * - "same": a warm-up loop (its own call site) churns pool A, the measured loop churns pool A;
 * - "second": the same warm-up on pool A, the measured loop churns a new pool B.
 * The warm-up and the measured loops are done for Pool and for SharedPool alike, and each
 * measured round times Pool and SharedPool one after the other (median of 10 rounds).
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/shared_second_instance.ts fresh|same|second
 *   bun bench/shared_second_instance.ts fresh|same|second
 *
 * @module
 */
import process from "node:process";
import { Pool, SharedPool } from "../mod.ts";
import { median } from "./tight.ts";

type Churnable = { alloc(): number; free(handle: number): void };

/** An alloc+free loop compiled from source of its own (its own call site and feedback). */
function loop(label: string, target: Churnable): (n: number) => number {
  return new Function(
    "pool",
    `/* ${label} */ return function (n) {
      let sink = 0;
      for (let i = 0; i < n; i++) { const h = pool.alloc(); pool.free(h); sink = (sink + h) | 0; }
      return sink;
    };`,
  )(target);
}

function measure(mode: string): { pool: number; shared: number } {
  const options = { blockSize: 64, capacity: 4096, debug: false };
  const firstPool = new Pool(options);
  const firstShared = new SharedPool(options);
  let sink = 0;
  if (mode !== "fresh") {
    sink ^= loop("warm-up Pool", firstPool)(20_000_000);
    sink ^= loop("warm-up SharedPool", firstShared)(20_000_000);
  }
  const pool = mode === "second" ? new Pool(options) : firstPool;
  const shared = mode === "second" ? new SharedPool(options) : firstShared;
  const [poolLoop, sharedLoop] = [loop("measured Pool", pool), loop("measured SharedPool", shared)];
  const times = { pool: [] as number[], shared: [] as number[] };
  const ops = 2_000_000;
  for (let round = 0; round < 12; round++) {
    const start = performance.now();
    sink ^= poolLoop(ops);
    const middle = performance.now();
    sink ^= sharedLoop(ops);
    const end = performance.now();
    if (round < 2) continue;
    times.pool.push(((middle - start) * 1e6) / ops);
    times.shared.push(((end - middle) * 1e6) / ops);
  }
  if (sink === 0.5) console.log(sink);
  return { pool: median(times.pool), shared: median(times.shared) };
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
  const mode = args[0] ?? "fresh";
  if (!["fresh", "same", "second"].includes(mode)) throw new Error(`mode must be fresh, same or second; got ${mode}`);
  const { pool, shared } = measure(mode);
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  console.log(
    `${runtime} ${mode.padEnd(6)}: Pool ${pool.toFixed(2)} ns, SharedPool ${shared.toFixed(2)} ns per alloc+free, ` +
      `SharedPool/Pool ${(shared / pool).toFixed(2)}x`,
  );
}
