/**
 * Placement across processes: a named SharedPool and Ring created here bound to node 0 are
 * opened by a Deno and a Bun process, which see every page on node 0 (the binding belongs to
 * the shared file, not to the creating process's mapping).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { numa, Ring, SharedPool } from "../mod.ts";
import { test } from "./harness.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const childScript = join(root, "tests", "processes", "placement_open_child.ts");

type Where = { byNode: number[]; pages: number; notPresent: number; other: number };

test("a named SharedPool and Ring bound to node 0 are on node 0 for the Deno and Bun processes that open them", () => {
  const poolName = `hotpath-test-placed-pool-${crypto.randomUUID()}`;
  const ringName = `hotpath-test-placed-ring-${crypto.randomUUID()}`;
  using pool = new SharedPool({ blockSize: 64, capacity: 8192, name: poolName, placement: { node: 0 } });
  using ring = Ring.spsc({ slot: 64, capacity: 8192, name: ringName, placement: { node: 0 } });
  try {
    pool.bytes[0] = 77;
    assert.equal(numa.placementOf(pool).requested?.policy, "bind");
    assert.equal(numa.placementOf(ring.producer()).requested?.policy, "bind");
    for (const runtime of ["deno", "bun"] as const) {
      const binary = join(root, "node_modules", ".bin", runtime);
      const args = runtime === "deno"
        ? ["run", "--allow-ffi", "--allow-read", "--allow-env", childScript]
        : [childScript];
      const result = spawnSync(binary, [...args, poolName, ringName], { encoding: "utf8", timeout: 60_000 });
      assert.equal(result.status, 0, `${runtime}: ${result.stderr}`);
      const seen = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
        pool: Where;
        ring: Where;
        requested: unknown;
        firstByte: number;
      };
      for (const [kind, where] of [["pool", seen.pool], ["ring", seen.ring]] as const) {
        const present = where.pages - where.notPresent;
        assert.ok(present > 0, `${runtime} ${kind}: pages are present`);
        assert.equal(where.byNode[0], present, `${runtime} ${kind}: ${JSON.stringify(where)}`);
        assert.equal(where.other, 0);
      }
      assert.equal(seen.requested, null, `${runtime}: an opener did not ask for a placement`);
      assert.equal(seen.firstByte, 77, `${runtime}: the opener reads what the creator wrote`);
    }
  } finally {
    SharedPool.unlink({ name: poolName });
    Ring.unlink({ name: ringName });
  }
});
