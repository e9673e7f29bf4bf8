/**
 * The clocks: the TSC clock never goes backwards (one thread, many reads, and in a Worker),
 * keeps pace with nowNs() over 200 ms and shares its epoch, clockInfo() is well formed and
 * frozen, and HOTPATH_CLOCK=monotonic forces the fallback (in a child process).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { clockInfo, clockNs, nowNs, tscClockNs, tscNowNs } from "../mod.ts";
import { runtime, test } from "./harness.ts";

const REASONS = [
  "unsupportedPlatform",
  "noInvariantTsc",
  "noRdtscp",
  "kernelDistrustsTsc",
  "calibrationFailed",
  "forced",
];

test("clockInfo is well formed, frozen and the same object on every call", () => {
  const info = clockInfo();
  assert.ok(Object.isFrozen(info));
  assert.equal(clockInfo(), info);
  assert.ok(info.source === "tsc" || info.source === "monotonic");
  assert.ok(["tsc", "other", "unknown"].includes(info.kernelClocksource));
  assert.equal(typeof info.invariantTsc, "boolean");
  assert.equal(typeof info.rdtscp, "boolean");
  if (info.source === "tsc") {
    assert.equal(info.fallbackReason, undefined);
    assert.ok(info.invariantTsc && info.rdtscp && info.kernelClocksource !== "other");
    assert.ok(info.ticksPerNs >= 0.1 && info.ticksPerNs <= 20, `${info.ticksPerNs} ticks per ns`);
    assert.ok(info.calibrationErrorPpm >= 0 && info.calibrationErrorPpm <= 200, `${info.calibrationErrorPpm} ppm`);
    assert.ok(info.calibrationWindowNs >= 20e6, `${info.calibrationWindowNs} ns window`);
  } else {
    assert.ok(REASONS.includes(info.fallbackReason!), `fallback reason ${info.fallbackReason}`);
  }
  console.log(`clockInfo on ${runtime}: ${JSON.stringify(info)}`);
});

test("tscNowNs never goes backwards over a million reads, and tscClockNs is the matching bound function", () => {
  let previous = tscNowNs();
  let backwards = 0;
  for (let index = 0; index < 1_000_000; index++) {
    const now = tscNowNs();
    if (now < previous) backwards++;
    previous = now;
  }
  assert.equal(backwards, 0);
  const clock = tscClockNs();
  const before = clock();
  assert.ok(Number.isInteger(before) && before >= previous);
  if (clockInfo().source === "monotonic") assert.equal(clock, clockNs());
  else assert.notEqual(clock, clockNs());
});

test("tscNowNs keeps pace with nowNs over 200 ms and shares its epoch", async () => {
  const startTsc = tscNowNs();
  const start = nowNs();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const elapsedTsc = tscNowNs() - startTsc;
  const elapsed = nowNs() - start;
  assert.ok(elapsed >= 150e6, `only ${elapsed} ns passed`);
  // Behaviour, not timing: a wrong rate or unit would be off by far more than 2%.
  assert.ok(Math.abs(elapsedTsc - elapsed) <= elapsed * 0.02, `TSC ${elapsedTsc} ns, monotonic ${elapsed} ns`);
  // Same epoch: read back to back, they differ by the calls' cost and the drift since calibration.
  const tsc = tscNowNs();
  const monotonic = nowNs();
  assert.ok(Math.abs(monotonic - tsc) < 1e6, `TSC ${tsc}, monotonic ${monotonic}`);
});

test("tscNowNs in a Worker never goes backwards and falls between the main thread's readings", async () => {
  const worker = new Worker(new URL("./workers/clock_worker.ts", import.meta.url).href, { type: "module" });
  try {
    const reply = new Promise<{ first: number; last: number; backwards: number }>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent) => resolve(event.data);
      worker.onerror = (event: ErrorEvent) => reject(new Error(event.message));
    });
    const before = tscNowNs();
    worker.postMessage({ reads: 200_000 });
    const { first, last, backwards } = await reply;
    const after = tscNowNs();
    assert.equal(backwards, 0);
    // The message orders the reads: the Worker's came after `before` and before `after`.
    assert.ok(before <= first && first <= last && last <= after, `${before} <= ${first} <= ${last} <= ${after}`);
  } finally {
    worker.terminate();
  }
});

test("HOTPATH_CLOCK=monotonic forces the fallback: reason 'forced', nowNs's function, same readings", () => {
  const child = fileURLToPath(new URL("./processes/clock_info_child.ts", import.meta.url));
  const args = runtime === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", child] : [child];
  const result = spawnSync(process.execPath, args, {
    env: { ...process.env, HOTPATH_CLOCK: "monotonic" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `the child failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
  assert.equal(report.info.source, "monotonic");
  assert.equal(
    report.info.fallbackReason,
    process.platform === "linux" && process.arch === "x64" ? "forced" : "unsupportedPlatform",
  );
  assert.equal(report.info.ticksPerNs, 0);
  assert.equal(report.boundIsMonotonic, true);
  assert.ok(report.gapNs >= 0 && report.gapNs < 1e6, `nowNs read ${report.gapNs} ns after the TSC clock`);
});
