/**
 * Runs the ABI fuzz (tests/processes/abi_fuzz_child.ts) in a child process on the runtime
 * running this test: every export of libhotpath called directly through FFI with random and
 * boundary arguments, at least 1,000,000 calls, and no crash allowed. A crash kills only the
 * child; this test then replays the same seed with a call trace to name the crashing call.
 *
 * HOTPATH_FUZZ_CALLS overrides the number of calls (default 1,000,000) and HOTPATH_FUZZ_SEED
 * the seed (default random; it is printed and is in every failure message).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { SpawnSyncReturns } from "node:child_process";
import { fileURLToPath } from "node:url";
import { symbols } from "../ffi/symbols.ts";
import { runtime, test } from "./harness.ts";
import {
  CHILD_RSS_LIMIT_BYTES,
  crashed,
  failureOf,
  integerFromEnvironment,
  parseReport,
  replayCrash,
  spawnFuzzChild,
  tail,
} from "./processes/child_outcome.ts";
import type { FuzzReport } from "./processes/abi_fuzz_report.ts";

const childScript = fileURLToPath(new URL("./processes/abi_fuzz_child.ts", import.meta.url));
const callsDefault = 1_000_000;
function runChild(seed: number, calls: number, traceFrom?: number): SpawnSyncReturns<string> {
  return spawnFuzzChild({
    script: childScript,
    args: [String(seed), String(calls)],
    permissions: ["--allow-ffi", "--allow-read", "--allow-env"],
    traceVariable: "HOTPATH_FUZZ_TRACE_FROM",
    traceFrom,
  });
}

test("abi fuzz every export survives 1,000,000 random and boundary calls in a child process", () => {
  const calls = integerFromEnvironment("HOTPATH_FUZZ_CALLS") ?? callsDefault;
  const seed = (integerFromEnvironment("HOTPATH_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const replayHint = `seed=${seed} (replay: HOTPATH_FUZZ_SEED=${seed} HOTPATH_FUZZ_CALLS=${calls})`;
  console.log(`abi fuzz on ${runtime}: ${replayHint}`);

  const started = performance.now();
  const result = runChild(seed, calls);
  const elapsed = Math.round(performance.now() - started);
  const stdout = result.stdout ?? "";
  const stderr = result.stderr ?? "";
  const failure = failureOf(result);
  const crashes = failure !== undefined && crashed(result) ? 1 : 0;
  const context = () => `${replayHint}\nstderr tail:\n${tail(stderr, 25)}`;

  assert.equal(stdout.split("\n")[0], `seed=${seed}`, `the child must print the seed first; ${context()}`);
  if (crashes > 0) {
    assert.equal(
      crashes,
      0,
      `ABI fuzz child on ${runtime} ${failure}; ${
        replayCrash(stderr, "HOTPATH_FUZZ_TRACE_FROM", (from) => runChild(seed, calls, from))
      }\n${context()}`,
    );
  }
  assert.equal(failure, undefined, `ABI fuzz child on ${runtime} ${failure}; ${context()}`);

  const report = parseReport<FuzzReport>(stdout);
  assert.ok(report !== undefined, `the child printed no JSON report; ${context()}`);
  assert.equal(report.seed, seed);
  assert.equal(report.runtime, runtime);
  assert.ok(report.calls >= calls, `only ${report.calls} of ${calls} calls were made; ${context()}`);

  const exported = Object.keys(symbols).filter((name) => !(name in report.skipped));
  const thrown = Object.values(report.perFunction).reduce((sum, stats) => sum + stats.thrown, 0);
  assert.ok(thrown <= report.calls / 100, `${thrown} calls were refused by the runtime; ${context()}`);
  if (calls >= 100_000) {
    for (const name of exported) {
      const stats = report.perFunction[name];
      assert.ok(stats !== undefined && stats.calls > 0, `${name} was never called; ${context()}`);
    }
    assert.ok(report.regionsCreated > 0, `no region was ever created, so no live id was exercised; ${context()}`);
  }
  assert.ok(
    report.peakRssBytes < CHILD_RSS_LIMIT_BYTES,
    `the fuzz peaked at ${Math.round(report.peakRssBytes / 2 ** 20)} MiB RSS; ${context()}`,
  );

  const unaligned = Object.entries(report.perFunction)
    .filter(([, stats]) => stats.unalignedAccepted > 0)
    .map(([name, stats]) => `${name} ${stats.unalignedAccepted}`);
  console.log(
    `abi fuzz on ${runtime}: ${report.calls} calls over ${exported.length} exports in ${report.elapsedMs} ms ` +
      `(child ${elapsed} ms), ${report.regionsCreated} regions created, ${report.seeded} seed argument lists, ` +
      `${report.regionViews} regions viewed as buffers, ` +
      `peak RSS ${Math.round(report.peakRssBytes / 2 ** 20)} MiB, 0 crashes` +
      (unaligned.length > 0 ? `; unaligned buffers accepted: ${unaligned.join(", ")}` : "") +
      (report.seedErrors.length > 0 ? `; seed steps failed: ${report.seedErrors.join("; ")}` : ""),
  );
});
