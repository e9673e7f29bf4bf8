/**
 * One named SharedPool churned by a Deno process and a Bun process at the same time
 * (tests/processes/shared_pool_churn_child.ts), then the same with `kill -9` of one of them
 * mid-churn: the other keeps going, and afterwards every block is accounted for exactly once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HotpathError, SharedPool } from "../mod.ts";
import { test } from "./harness.ts";
import { FREED, HELD } from "./processes/shared_pool_stamps.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const childScript = join(root, "tests", "processes", "shared_pool_churn_child.ts");
const capacity = 2048;

interface Child {
  process: ChildProcess;
  output: string;
  /** Resolves with the exit code, or the signal that ended it. */
  exit: Promise<number | string>;
}

function start(runtime: "deno" | "bun", name: string, milliseconds: number, seed: number): Child {
  const binary = join(root, "node_modules", ".bin", runtime);
  const args = runtime === "deno"
    ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "--allow-run", childScript]
    : [childScript];
  const child = spawn(binary, [...args, name, String(milliseconds), String(seed)], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const result: Child = { process: child, output: "", exit: Promise.resolve(0) };
  child.stdout!.on("data", (chunk) => result.output += chunk);
  child.stderr!.on("data", (chunk) => result.output += chunk);
  result.exit = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code ?? -1)));
  return result;
}

async function until(condition: () => boolean, milliseconds: number): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Counts {
  violations: number;
  ops: number;
  heldAtEnd: number;
  reclaimed: number;
  recovered: number;
  interrupted: number;
}

function counts(child: Child): Counts {
  const line = child.output.split("\n").find((text) => text.startsWith("{"));
  assert.ok(line !== undefined, `no result from the child: ${child.output.slice(-2000)}`);
  return JSON.parse(line);
}

/** Removes a name if the test left it (Deno's file APIs need --allow-all under /dev). */
function unlinkIfThere(name: string): void {
  try {
    SharedPool.unlink({ name });
  } catch (error) {
    if (!(error instanceof HotpathError && error.code === "NOT_FOUND")) throw error;
  }
}

function withPool(label: string, body: (pool: SharedPool, name: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const name = `hotpath-test-${label}-${process.pid}`;
    const named = new SharedPool({ blockSize: 16, capacity, cache: 32, name });
    try {
      await body(named, name);
    } finally {
      named.close();
      unlinkIfThere(name);
    }
  };
}

test(
  "SharedPool: a Deno and a Bun process churn one named pool at once and lose nothing",
  withPool("both", async (pool, name) => {
    const children = [start("deno", name, 1500, 1), start("bun", name, 1500, 2)];
    const exits = await Promise.all(children.map((child) => child.exit));
    assert.deepEqual(exits, [0, 0], children.map((child) => child.output.slice(-1000)).join("\n---\n"));
    for (const child of children) {
      const result = counts(child);
      assert.equal(result.violations, 0, "a block was held by two processes at once");
      assert.ok(result.ops >= 100_000, `only ${result.ops} operations`);
    }
    assert.equal(pool.check(), 0);
    const stats = pool.stats();
    assert.equal(stats.freeListed + stats.cached + stats.homed, capacity);
  }),
);

test(
  "SharedPool: kill -9 of one process mid-churn; the other recovers every block",
  withPool("kill", async (creator, name) => {
    const victimRuntime = Math.random() < 0.5 ? "deno" : "bun";
    const victim = start(victimRuntime, name, 30_000, 3);
    const survivor = start(victimRuntime === "deno" ? "bun" : "deno", name, 4000, 4);
    await until(() => victim.output.includes("progress") && survivor.output.includes("progress"), 20_000);
    // The survivor recovers alone: this process keeps no open attachment meanwhile.
    creator.close();
    const victimPid = victim.process.pid!;
    victim.process.kill("SIGKILL");
    assert.equal(await victim.exit, "SIGKILL");
    survivor.process.stdin!.write("reclaim\nrecover\n");
    await until(() => /^recover \d+/m.test(survivor.output), 20_000);
    assert.equal(await survivor.exit, 0, survivor.output.slice(-2000));
    const result = counts(survivor);
    assert.equal(result.violations, 0);
    assert.ok(result.reclaimed > 0 || result.interrupted > 0, `the survivor reclaimed nothing: ${survivor.output}`);
    assert.ok(result.recovered <= 64, `${result.recovered} stranded blocks`);
    if (result.interrupted === 0) assert.equal(result.recovered, 0, "strays without an interrupted batch");
    using pool = SharedPool.open({ name });
    assert.ok(pool.stats().caches.every((cache) => cache.pid !== victimPid), "the killed process's cache is gone");
    // What is still allocated is what the killed process held: stamped by it, or at most one
    // block it was in the middle of allocating or freeing. The test frees them as its restart would.
    const view = new DataView(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength);
    let midOperation = 0;
    for (let handle = 0; handle < capacity; handle++) {
      if (!pool.isAllocated(handle)) continue;
      const at = handle * pool.stride;
      const holder = view.getUint32(at, true);
      const stamp = view.getUint32(at + 4, true);
      if (holder !== victimPid || stamp !== HELD) {
        assert.ok(stamp !== HELD, `block ${handle} is held by ${holder}, not the killed ${victimRuntime} ${victimPid}`);
        assert.ok(stamp === 0 || stamp === FREED);
        midOperation++;
      }
      pool.free(handle);
    }
    assert.ok(midOperation <= 1, `${midOperation} blocks were mid-operation`);
    assert.equal(pool.check(), 0, "every block is exactly once free-listed or cached");
    assert.equal(pool.stats().freeListed + pool.stats().cached + pool.stats().homed, capacity);
  }),
);
