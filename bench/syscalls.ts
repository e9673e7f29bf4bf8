/**
 * Child of the system-call check (scripts/bench.mjs): creates a pool and an arena, then runs
 * `operations` pool alloc+free pairs and arena allocations. Run under `strace -c` with two
 * operation counts; if the hot path made system calls, the totals would grow with the count.
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/syscalls.ts 1000000
 *
 * @module
 */
import { Arena, Pool } from "../mod.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const operations = Number(args[0] ?? "1000000");
if (!Number.isInteger(operations) || operations < 0) {
  throw new Error(`operations must be a whole number; got ${args[0]}`);
}

const pool = new Pool({ blockSize: 64, capacity: 1024 });
const arena = new Arena({ capacity: 1 << 20 });
let checksum = 0;
for (let index = 0; index < operations; index++) {
  const handle = pool.alloc();
  checksum += handle;
  pool.free(handle);
  if ((index & 1023) === 0) arena.reset();
  checksum += arena.alloc(64);
}
const stats = pool.stats();
console.log(JSON.stringify({ operations, allocations: stats.allocations, checksum: checksum % 1000 }));
