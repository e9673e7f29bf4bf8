/**
 * The counter directory across processes: a Deno and a Bun process churn a Pool, an Arena and
 * a Ring while publishing; this process reads their counters live (consistent snapshots,
 * never going backwards, within the staleness bound), then, once a child is quiet, exactly
 * what its own stats() says. Killed with `kill -9`, a child leaves a directory that readers
 * recognise as dead, skip, and remove.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listCounters, type PublishedObject, readCounters, removeDeadCounters } from "../mod.ts";
import { test } from "./harness.ts";
import { spawnLines } from "./processes/child_lines.ts";

const CHILD = "tests/processes/stats_writer_child.ts";

function named(objects: PublishedObject[], name: string): PublishedObject {
  const found = objects.find((object) => object.name === name);
  assert.ok(found !== undefined, `"${name}" is published: ${objects.map((object) => object.name).join(", ")}`);
  return found;
}

for (const runtime of ["deno", "bun"] as const) {
  test(`counters of a churning ${runtime} process read live, then exactly; killed -9 it reads dead`, async () => {
    const directory = mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
    const child = spawnLines(runtime, CHILD, [directory]);
    try {
      await child.line("ready");
      let allocations = 0;
      for (let read = 0; read < 6; read++) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        const seen = readCounters(child.pid, { directory });
        assert.equal(seen.state, "alive");
        assert.ok(seen.command.includes("stats_writer_child"), seen.command);
        const churn = named(seen.objects, "churn");
        assert.ok(churn.consistent);
        // One consistent snapshot: in use is exactly allocations minus frees.
        assert.equal(churn.inUse, churn.allocations - churn.frees);
        assert.ok(churn.allocations >= allocations, "counters never go backwards");
        assert.equal(churn.intervalMs, 50);
        assert.ok(churn.ageMs >= 0 && churn.ageMs < 1000, `published ${churn.ageMs} ms ago`);
        allocations = churn.allocations;
      }
      assert.ok(allocations > 0, "the child churned");
      child.send("stop");
      const quiet = JSON.parse((await child.line("quiet ")).slice(6));
      const seen = readCounters(child.pid, { directory }).objects;
      const churn = named(seen, "churn");
      const pool = quiet.pool;
      assert.deepEqual(
        [churn.capacity, churn.inUse, churn.highWater, churn.allocations, churn.frees, churn.failedAllocations],
        [pool.capacity, pool.inUse, pool.highWater, pool.allocations, pool.frees, pool.failedAllocations],
      );
      const scratch = named(seen, "scratch");
      assert.deepEqual(
        [scratch.inUse, scratch.allocations, scratch.frees, scratch.fragmentation],
        [quiet.arena.offset, quiet.arena.allocations, quiet.arena.resets, quiet.arena.fragmentation],
      );
      const ring = seen.find((object) => object.kind === "Ring")!;
      assert.deepEqual([ring.allocations, ring.frees, ring.inUse], [
        quiet.ring.pushed,
        quiet.ring.popped,
        quiet.ring.depth,
      ]);

      await child.kill(); // kill -9: no chance to remove its file
      const path = join(directory, `hotpath-stats-${child.pid}`);
      assert.ok(existsSync(path), "the killed process left its directory");
      assert.equal(readCounters(child.pid, { directory }).state, "dead");
      const listed = listCounters({ directory });
      assert.deepEqual(listed.dead, [child.pid]);
      assert.equal(listed.processes.length, 0, "a dead process is skipped");
      assert.deepEqual(removeDeadCounters({ directory }), [child.pid]);
      assert.equal(existsSync(path), false);
    } finally {
      await child.kill();
      rmSync(directory, { recursive: true, force: true });
    }
  });
}

const root = fileURLToPath(new URL("..", import.meta.url));

test("HOTPATH_PUBLISH=50 publishes from import on, in Deno and Bun, and a normal exit removes the file", () => {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
  try {
    for (const runtime of ["deno", "bun"] as const) {
      const binary = join(root, "node_modules", ".bin", runtime);
      const script = join(root, "tests", "processes", "publish_env_child.ts");
      const args = runtime === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", script] : [script];
      const env = { ...process.env, HOTPATH_PUBLISH: "50", HOTPATH_STATS_DIR: directory };
      const result = spawnSync(binary, args, { encoding: "utf8", env, timeout: 60_000 });
      assert.equal(result.status, 0, `${runtime}: ${result.stderr}`);
      const seen = JSON.parse(result.stdout.trim().split("\n").pop()!) as { names: string[]; path: string };
      assert.deepEqual(seen.names, ["env-pool"], runtime);
      assert.ok(seen.path.startsWith(directory));
      assert.equal(existsSync(seen.path), false, `${runtime}: the exit removed ${seen.path}`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
