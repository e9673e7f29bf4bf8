/**
 * A guard, not a benchmark: fails when a hot path regresses badly on the runtime it runs on.
 * The bounds are about twice what bench/RESULTS.md records, because these machines are shared
 * and noisy; figures and targets are the benchmark's business (npm run bench).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "../tests/harness.ts";
import permissions from "../deno-permissions.json" with { type: "json" };

/** The most each ratio may reach before the guard fails (about 2x the recorded figures). */
const BOUNDS: Record<string, number> = {
  "(a) pool vs free list": 3.2,
  "(c) arena vs free list": 2.5,
  "(d) cursor vs JS object": 6.5,
};

test("performance guard: pool, arena and cursor ratios have not regressed 2x", () => {
  const child = fileURLToPath(new URL("./tight_child.ts", import.meta.url));
  const args = runtime === "deno" ? ["run", ...permissions.run, child] : [child];
  const result = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 110_000 });
  assert.equal(result.status, 0, `tight_child failed: ${result.stderr}`);
  const ratios = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
  const regressions = Object.entries(BOUNDS)
    .filter(([label, bound]) => !(ratios[label] <= bound))
    .map(([label, bound]) => `${label}: ${ratios[label]?.toFixed(2)}x > ${bound}x`);
  assert.deepEqual(regressions, [], `hot path regressed on ${runtime}: ${JSON.stringify(ratios)}`);
});
