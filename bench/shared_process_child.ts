/**
 * Child of bench/shared_processes.ts: opens the named SharedPool, warms up, prints "READY",
 * then obeys one command per line of stdin and prints one "RESULT <json>" line for each:
 * - "shared <ms>": churns the named pool for <ms> milliseconds (bench/shared_churn_loop.ts,
 *   16 allocs then 16 frees, no cross frees: the slot is this process's own);
 * - "pool <ms>": the same on a private Pool of this process (the competitor);
 * - "quit": closes both and exits.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/shared_process_child.ts <name> <warm-up ms>
 *   bun bench/shared_process_child.ts <name> <warm-up ms>
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { clockNs, Pool, SharedPool } from "../mod.ts";
import { BURST, compileChurn, handleChurn } from "./shared_churn_loop.ts";
import { idleShare, threadClock } from "./thread_time.ts";

/** What a child prints per command, after RESULT_PREFIX. */
export interface ChildResult {
  runtime: "deno" | "bun";
  kind: "shared" | "pool";
  operations: number;
  perSecond: number;
  /** Share of the run the process's main thread did not run (bench/thread_time.ts). */
  waitShare: number;
}

export const READY_LINE = "READY";
export const RESULT_PREFIX = "RESULT ";

function main(name: string, warmUpMs: number): void {
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  const shared = SharedPool.open({ name });
  const pool = new Pool({ blockSize: 64, capacity: 4096, debug: false });
  const churns = {
    shared: compileChurn(handleChurn(`${runtime} process SharedPool churn`, shared, "alloc", "free"), false),
    pool: compileChurn(handleChurn(`${runtime} process Pool churn`, pool, "alloc", "free"), false),
  };
  const slots = new Int32Array(new SharedArrayBuffer(64)).fill(-1);
  const held = new Int32Array(BURST);
  const clock = clockNs();
  const threadNow = threadClock();
  const churnFor = (kind: "shared" | "pool", milliseconds: number): ChildResult => {
    const churn = churns[kind];
    const deadline = clock() + milliseconds * 1e6;
    const before = threadNow?.();
    const start = clock();
    let operations = 0;
    do operations += churn.run(256, 0, slots, 0, held).operations; while (clock() < deadline);
    const end = clock();
    const after = threadNow?.();
    churn.drain(slots, 0);
    const waitShare = idleShare(before, after);
    return { runtime, kind, operations, perSecond: operations / ((end - start) / 1e9), waitShare };
  };
  churnFor("shared", warmUpMs);
  churnFor("pool", warmUpMs);
  console.log(READY_LINE);
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [command, milliseconds] = line.trim().split(" ");
    if (command === "shared" || command === "pool") {
      console.log(RESULT_PREFIX + JSON.stringify(churnFor(command, Number(milliseconds))));
    } else if (command === "quit") {
      shared.close();
      pool.close();
      lines.close();
      process.exit(0);
    }
  });
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
  main(args[0], Number(args[1] ?? 200));
}
