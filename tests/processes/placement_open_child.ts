/**
 * Opens the named SharedPool and Ring given by name (tests/placement_process_test.ts) and
 * prints, as one JSON line, where their pages are as this process sees them (move_pages, after
 * reading one byte of each page, which maps the file's pages into this process) and
 * whether its own view of the pool reads what the creator wrote.
 *
 * @module
 */
import process from "node:process";
import { numa, Ring, SharedPool } from "../../mod.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const [poolName, ringName] = args;
using pool = SharedPool.open({ name: poolName });
using ring = Ring.open({ name: ringName });
const consumer = ring.consumer();
// A file's pages enter this process's page tables when first touched: read one byte of each.
let sum = 0;
for (const bytes of [pool.bytes, consumer.bytes]) {
  for (let offset = 0; offset < bytes.length; offset += 4096) sum += bytes[offset];
}
console.log(JSON.stringify({
  touched: sum >= 0,
  pool: numa.whereIs(pool),
  ring: numa.whereIs(consumer),
  requested: numa.placementOf(pool).requested ?? null,
  firstByte: pool.bytes[0],
}));
