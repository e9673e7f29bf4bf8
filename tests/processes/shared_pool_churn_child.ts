/**
 * One process of tests/shared_pool_process_test.ts, run by Deno or Bun:
 *   <runtime> shared_pool_churn_child.ts <name> <milliseconds> <seed>
 * Opens the named SharedPool and churns it: random allocs and frees, holding up to 200 blocks.
 * Each block it holds carries a stamp (this pid, HELD) that it checks before freeing and
 * replaces by (0, FREED): a block handed to two processes at once shows a foreign stamp.
 * Prints `progress <ops>` lines, then one JSON line of counts, then frees what it holds.
 * Between rounds it reads commands on stdin, as the survivor of a `kill -9` of the other process:
 * `reclaim` (take back the dead process's cache) and `recover` (return the blocks it may have
 * stranded), each answered with a line `<command> <blocks>`.
 *
 * @module
 */
import process from "node:process";
import { SharedPool } from "../../mod.ts";
import { FREED, HELD } from "./shared_pool_stamps.ts";

const [name, milliseconds, seed] = process.argv.slice(2);
const pool = SharedPool.open({ name });
const stamps = new DataView(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength);
const pid = process.pid;
let state = Number(seed) >>> 0;
const held: number[] = [];
let ops = 0;
let violations = 0;
let failed = 0;

function next(): number {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
}

function alloc(): void {
  const handle = pool.tryAlloc();
  if (handle < 0) {
    failed++;
    return;
  }
  const at = handle * pool.stride;
  if (stamps.getUint32(at + 4, true) === HELD) violations++;
  stamps.setUint32(at, pid, true);
  stamps.setUint32(at + 4, HELD, true);
  held.push(handle);
}

function free(index: number): void {
  const handle = held[index];
  held[index] = held[held.length - 1];
  held.pop();
  const at = handle * pool.stride;
  if (stamps.getUint32(at, true) !== pid || stamps.getUint32(at + 4, true) !== HELD) violations++;
  // The stamp before the holder: killed in between, the block reads (pid, FREED), which the
  // parent counts as mid-operation, never as (0, HELD).
  stamps.setUint32(at + 4, FREED, true);
  stamps.setUint32(at, 0, true);
  pool.free(handle);
}

const commands: string[] = [];
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text: string) => commands.push(...text.split("\n").filter((line) => line !== "")));
let reclaimed = 0;
let recovered = 0;

function obey(command: string): void {
  if (command === "reclaim") {
    reclaimed += pool.reclaimAbandoned();
    console.log(`reclaim ${reclaimed}`);
  } else if (command === "recover") {
    recovered += pool.recover();
    console.log(`recover ${recovered}`);
  }
}

const deadline = Date.now() + Number(milliseconds);
while (Date.now() < deadline) {
  for (let i = 0; i < 10_000; i++) {
    if (held.length < 200 && next() < 0.5) alloc();
    else if (held.length > 0) free(Math.floor(next() * held.length));
  }
  ops += 10_000;
  if (ops % 100_000 === 0) console.log(`progress ${ops}`);
  // Let stdin's data events in between rounds.
  await new Promise((resolve) => setTimeout(resolve, 0));
  while (commands.length > 0) obey(commands.shift()!);
}
const heldAtEnd = held.length;
while (held.length > 0) free(held.length - 1);
const interrupted = pool.stats().interruptedBatches;
console.log(JSON.stringify({ pid, ops, violations, failed, heldAtEnd, reclaimed, recovered, interrupted }));
pool.close();
// stdin's listener would keep the event loop (and the process) alive.
process.exit(0);
