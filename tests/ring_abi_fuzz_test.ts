/**
 * Runs the Ring ABI fuzz (tests/processes/ring_abi_fuzz_child.ts) in a child process on the
 * runtime running this test: every `hp_ring_*` export, `hp_yield` and `hp_region_close` called
 * straight through FFI with hostile ids, role tokens, kinds, selectors, expected values, park
 * timeouts, out buffers, configs and paths. A crash kills only the child; this test then replays
 * the seed with a call trace to name the crashing call. Contract breaches the child detects
 * without a crash (a dead id accepted, an invalid config or a role past the limits taken, a park
 * with a NaN timeout accepted, a hostile file given the wrong status) fail the test too.
 *
 * Ring files and hostile fixtures live in a private directory this test creates and removes.
 * HOTPATH_RING_FUZZ_CALLS overrides the number of calls (default 1,000,000: about 10 s on either
 * runtime) and HOTPATH_RING_FUZZ_SEED the seed (default random; printed, and in every failure
 * message). Run it with HOTPATH_LIB naming a ReleaseSafe or Debug build of the library to turn
 * assertions that JavaScript input reaches into crashes the fuzz reports.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SpawnSyncReturns } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { symbols } from "../ffi/symbols.ts";
import { runtime, test } from "./harness.ts";
import {
  CHILD_RSS_LIMIT_BYTES,
  crashed,
  failureOf,
  integerFromEnvironment,
  parseReport,
  privateDirectory,
  replayCrash,
  spawnFuzzChild,
  tail,
} from "./processes/child_outcome.ts";
import type { RingFuzzReport } from "./processes/ring_abi_fuzz_child.ts";

const childScript = fileURLToPath(new URL("./processes/ring_abi_fuzz_child.ts", import.meta.url));
const callsDefault = 1_000_000;

function runChild(seed: number, calls: number, traceFrom?: number): SpawnSyncReturns<string> {
  const directory = privateDirectory("hotpath-ring-fuzz-");
  try {
    return spawnFuzzChild({
      script: childScript,
      args: [String(seed), String(calls), directory],
      permissions: ["--allow-ffi", "--allow-read", "--allow-env", "--allow-write", "--allow-run"],
      traceVariable: "HOTPATH_RING_FUZZ_TRACE_FROM",
      traceFrom,
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The exports the fuzz must reach: every hp_ring_* one, hp_yield, and the close that detaches. */
const targets = Object.keys(symbols).filter((name) =>
  name.startsWith("hp_ring_") || name === "hp_yield" || name === "hp_region_close"
);

test("ring abi fuzz every hp_ring_* export survives hostile calls and keeps its contracts", () => {
  const calls = integerFromEnvironment("HOTPATH_RING_FUZZ_CALLS") ?? callsDefault;
  const seed = (integerFromEnvironment("HOTPATH_RING_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const replayHint = `seed=${seed} (replay: HOTPATH_RING_FUZZ_SEED=${seed} HOTPATH_RING_FUZZ_CALLS=${calls})`;
  console.log(`ring abi fuzz on ${runtime}: ${replayHint}`);

  const result = runChild(seed, calls);
  const stdout = result.stdout ?? "";
  const stderr = result.stderr ?? "";
  const failure = failureOf(result);
  const context = () => `${replayHint}\nstderr tail:\n${tail(stderr, 25)}`;

  assert.equal(stdout.split("\n")[0], `seed=${seed}`, `the child must print the seed first; ${context()}`);
  if (failure !== undefined && crashed(result)) {
    assert.fail(
      `ring ABI fuzz child on ${runtime} ${failure}; ${
        replayCrash(stderr, "HOTPATH_RING_FUZZ_TRACE_FROM", (from) => runChild(seed, calls, from))
      }\n${context()}`,
    );
  }
  assert.equal(failure, undefined, `ring ABI fuzz child on ${runtime} ${failure}; ${context()}`);

  const report = parseReport<RingFuzzReport>(stdout);
  assert.ok(report !== undefined, `the child printed no JSON report; ${context()}`);
  assert.equal(report.seed, seed);
  assert.equal(report.runtime, runtime);
  assert.ok(report.calls >= calls, `only ${report.calls} of ${calls} calls were made; ${context()}`);
  assert.deepEqual(report.violations, [], `${report.violationCount} contract breaches; ${replayHint}`);

  const thrown = Object.values(report.perFunction).reduce((sum, stats) => sum + stats.thrown, 0);
  assert.equal(thrown, 0, `${thrown} calls were refused by the runtime before the library; ${context()}`);
  if (calls >= 50_000) {
    for (const name of targets) {
      const stats = report.perFunction[name];
      assert.ok(stats !== undefined && stats.calls > 0, `${name} was never called; ${context()}`);
      assert.ok(stats.nonNegative > 0, `${name} never got past its checks (no result >= 0); ${context()}`);
    }
    assert.ok(report.namedCreated > 0 && report.opened > 0, `no named ring was created and opened; ${context()}`);
    assert.ok(report.roles > 0 && report.parks > 0, `no role was claimed or parked on; ${context()}`);
  }
  assert.ok(
    report.peakRssBytes < CHILD_RSS_LIMIT_BYTES,
    `the fuzz peaked at ${Math.round(report.peakRssBytes / 2 ** 20)} MiB RSS; ${context()}`,
  );
  console.log(
    `ring abi fuzz on ${runtime}: ${report.calls} calls over ${targets.length} exports in ${report.elapsedMs} ms, ` +
      `${report.ringsCreated} rings created (${report.namedCreated} named), ${report.opened} opened, ` +
      `${report.roles} roles claimed, ${report.parks} parks, hostile files: ${report.fixtures.join(" ")}; ` +
      `peak RSS ${Math.round(report.peakRssBytes / 2 ** 20)} MiB, 0 crashes, 0 contract breaches`,
  );
});
