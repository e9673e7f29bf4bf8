/**
 * Runs the SharedPool ABI fuzz (tests/processes/shared_abi_fuzz_child.ts) in a child process on
 * the runtime running this test: every `hp_shared_*` export (and `hp_region_close`) called
 * straight through FFI with hostile ids, tokens, indexes, out buffers, configs and paths. A crash
 * kills only the child; this test then replays the seed with a call trace to name the crashing
 * call. Contract breaches the child detects without a crash (a dead id accepted, a short out
 * buffer written, a malformed path taken) fail the test too.
 *
 * Named regions and hostile files live in a private directory this test creates and removes.
 * HOTPATH_SHARED_FUZZ_CALLS overrides the number of calls (default 300,000) and
 * HOTPATH_SHARED_FUZZ_SEED the seed (default random; printed, and in every failure message).
 * Run it with HOTPATH_LIB naming a ReleaseSafe or Debug build of the library to turn assertions
 * that JavaScript input reaches into crashes the fuzz reports (the default ReleaseFast build
 * compiles them out).
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
import type { SharedFuzzReport } from "./processes/shared_abi_fuzz_child.ts";

const childScript = fileURLToPath(new URL("./processes/shared_abi_fuzz_child.ts", import.meta.url));
const callsDefault = 300_000;
function runChild(seed: number, calls: number, traceFrom?: number): SpawnSyncReturns<string> {
  const directory = privateDirectory("hotpath-fuzz-");
  try {
    return spawnFuzzChild({
      script: childScript,
      args: [String(seed), String(calls), directory],
      permissions: ["--allow-ffi", "--allow-read", "--allow-env", "--allow-write", "--allow-run"],
      traceVariable: "HOTPATH_SHARED_FUZZ_TRACE_FROM",
      traceFrom,
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The exports the fuzz must reach: every hp_shared_* one, and the close that detaches. */
const targets = Object.keys(symbols).filter((name) => name.startsWith("hp_shared_") || name === "hp_region_close");

test("shared abi fuzz every hp_shared_* export survives hostile calls and keeps its contracts", () => {
  const calls = integerFromEnvironment("HOTPATH_SHARED_FUZZ_CALLS") ?? callsDefault;
  const seed = (integerFromEnvironment("HOTPATH_SHARED_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const replayHint = `seed=${seed} (replay: HOTPATH_SHARED_FUZZ_SEED=${seed} HOTPATH_SHARED_FUZZ_CALLS=${calls})`;
  console.log(`shared abi fuzz on ${runtime}: ${replayHint}`);

  const result = runChild(seed, calls);
  const stdout = result.stdout ?? "";
  const stderr = result.stderr ?? "";
  const failure = failureOf(result);
  const context = () => `${replayHint}\nstderr tail:\n${tail(stderr, 25)}`;

  assert.equal(stdout.split("\n")[0], `seed=${seed}`, `the child must print the seed first; ${context()}`);
  if (failure !== undefined && crashed(result)) {
    assert.fail(
      `shared ABI fuzz child on ${runtime} ${failure}; ${
        replayCrash(stderr, "HOTPATH_SHARED_FUZZ_TRACE_FROM", (from) => runChild(seed, calls, from))
      }\n${context()}`,
    );
  }
  assert.equal(failure, undefined, `shared ABI fuzz child on ${runtime} ${failure}; ${context()}`);

  const report = parseReport<SharedFuzzReport>(stdout);
  assert.ok(report !== undefined, `the child printed no JSON report; ${context()}`);
  assert.equal(report.seed, seed);
  assert.equal(report.runtime, runtime);
  assert.ok(report.calls >= calls, `only ${report.calls} of ${calls} calls were made; ${context()}`);
  assert.deepEqual(report.violations, [], `${report.violationCount} contract breaches; ${replayHint}`);

  const thrown = Object.values(report.perFunction).reduce((sum, stats) => sum + stats.thrown, 0);
  assert.ok(thrown <= report.calls / 100, `${thrown} calls were refused by the runtime; ${context()}`);
  if (calls >= 50_000) {
    for (const name of targets) {
      const stats = report.perFunction[name];
      assert.ok(stats !== undefined && stats.calls > 0, `${name} was never called; ${context()}`);
      assert.ok(stats.nonNegative > 0, `${name} never got past its checks (no result >= 0); ${context()}`);
    }
    assert.ok(report.namedCreated > 0 && report.opened > 0, `no named region was created and opened; ${context()}`);
  }
  assert.ok(
    report.peakRssBytes < CHILD_RSS_LIMIT_BYTES,
    `the fuzz peaked at ${Math.round(report.peakRssBytes / 2 ** 20)} MiB RSS; ${context()}`,
  );
  console.log(
    `shared abi fuzz on ${runtime}: ${report.calls} calls over ${targets.length} exports in ${report.elapsedMs} ms, ` +
      `${report.regionsCreated} regions created (${report.namedCreated} named), ${report.opened} opened, ` +
      `${report.claims} caches claimed, hostile files: ${report.fixtures.join(" ")}; ` +
      `peak RSS ${Math.round(report.peakRssBytes / 2 ** 20)} MiB, 0 crashes, 0 contract breaches`,
  );
});
