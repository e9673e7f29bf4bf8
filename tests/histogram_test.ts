/**
 * Histogram: percentiles against an exact sort of the same samples (within 1/128), exact
 * count, mean, min and max, merging snapshots from Workers, and hostile values and snapshots.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Histogram, HISTOGRAM_VALUE_LIMIT } from "../mod.ts";
import { assertCode, test } from "./harness.ts";
import { NOT_INTEGERS_OR_UNDEFINED } from "./hostile_values.ts";

/** The exact percentile of sorted `values`: the value of rank ceil(p% of n). */
function exact(sorted: number[], percent: number): number {
  return sorted[Math.max(1, Math.ceil((percent / 100) * sorted.length)) - 1];
}

function assertClose(histogram: Histogram, values: number[]): void {
  const sorted = values.map(Math.floor).sort((a, b) => a - b);
  for (const percent of [0, 1, 10, 50, 90, 99, 99.9, 100]) {
    const want = exact(sorted, percent);
    const got = histogram.percentile(percent);
    assert.ok(got >= want && got <= want + want / 128, `p${percent}: ${got} for exact ${want}`);
  }
  const summary = histogram.summary();
  assert.equal(summary.count, sorted.length);
  assert.equal(summary.min, sorted[0]);
  assert.equal(summary.max, sorted[sorted.length - 1]);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  assert.ok(Math.abs(summary.mean - mean) <= mean * 1e-12, `mean ${summary.mean} for ${mean}`);
  assert.equal(histogram.sum, sorted.reduce((sum, value) => sum + value, 0), "sum is exact");
}

test("Histogram percentiles are within 1/128 of an exact sort, over random samples of any spread", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: 0, max: 100_000 }),
          fc.double({ min: 0, max: HISTOGRAM_VALUE_LIMIT - 1, noNaN: true }),
        ),
        { minLength: 1, maxLength: 400 },
      ),
      (values) => {
        using histogram = new Histogram();
        for (const value of values) histogram.record(value);
        assertClose(histogram, values);
      },
    ),
    { numRuns: 150 },
  );
});

test("Histogram: every bucket boundary up to 2^40 lands in a bucket that holds it", () => {
  using histogram = new Histogram();
  for (let power = 0; power < 40; power++) {
    for (const value of [2 ** power - 1, 2 ** power, 2 ** power + 1, 1.5 * 2 ** power]) {
      if (value >= HISTOGRAM_VALUE_LIMIT) continue;
      histogram.reset();
      histogram.record(value);
      const got = histogram.percentile(50);
      assert.equal(got, Math.floor(value), "one value: the percentile is clamped to min and max");
      histogram.record(0);
      histogram.record(0);
      const top = histogram.percentile(100);
      assert.equal(top, Math.floor(value));
    }
  }
  histogram.reset();
  assert.deepEqual(histogram.summary(), { count: 0, mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
});

test("Histogram snapshots merge: several recorders add up to one histogram of every value", async () => {
  const parts = [[1, 2, 3, 500, 70_000], [10, 20, 1e9], [], [7]];
  const all: number[] = parts.flat();
  using total = new Histogram();
  for (const values of parts) {
    using part = new Histogram();
    for (const value of values) part.record(value);
    total.merge(part.snapshot());
  }
  assertClose(total, all);
  // From a Worker: its own histogram, sent as a snapshot.
  const worker = new Worker(new URL("./workers/histogram_worker.ts", import.meta.url).href, { type: "module" });
  try {
    const snapshot = await new Promise<Float64Array>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent) => resolve(event.data as Float64Array);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      worker.postMessage({ values: 1000 });
    });
    total.merge(snapshot);
  } finally {
    worker.terminate();
  }
  assertClose(total, [...all, ...Array.from({ length: 1000 }, (_, index) => index * 1000)]);
  using other = new Histogram();
  other.record(5);
  total.merge(other);
  assert.equal(total.count, all.length + 1001);
});

test("Histogram snapshots from a Deno and a Bun process merge into this one", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const script = join(root, "tests", "processes", "histogram_child.ts");
  using total = new Histogram();
  for (const runtime of ["deno", "bun"] as const) {
    const binary = join(root, "node_modules", ".bin", runtime);
    const args = runtime === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", script] : [script];
    const result = spawnSync(binary, [...args, "500"], { encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, 0, `${runtime}: ${result.stderr}`);
    total.merge(Float64Array.from(JSON.parse(result.stdout.trim().split("\n").pop()!)));
  }
  const values = Array.from({ length: 500 }, (_, index) => index * 1000);
  assertClose(total, [...values, ...values]);
  assert.deepEqual([total.count, total.summary().max, total.sum], [1000, 499_000, 2 * 124_750_000]);
});

test("Histogram refuses hostile values and snapshots, and everything after close", () => {
  const histogram = new Histogram();
  for (const [, value] of NOT_INTEGERS_OR_UNDEFINED) {
    if (typeof value === "number" && value >= 0 && value < HISTOGRAM_VALUE_LIMIT) continue; // fractions are fine
    assertCode(() => histogram.record(value as never), "INVALID_ARGUMENT");
  }
  for (const value of [undefined, -1, -0.5, HISTOGRAM_VALUE_LIMIT, Infinity, NaN, 5n, "5", null]) {
    assertCode(() => histogram.record(value as never), "INVALID_ARGUMENT");
  }
  histogram.record(-0);
  assert.equal(histogram.summary().min, 0);
  for (const percent of [-1, 101, NaN, "50", 50n, undefined]) {
    assertCode(() => histogram.percentile(percent as never), "INVALID_ARGUMENT");
  }
  const good = histogram.snapshot();
  const forged = [
    new Float64Array(3),
    new Float64Array(good.length),
    Object.assign(good.slice(), { 9: -1 }),
    Object.assign(good.slice(), { 9: 0.5 }),
    Object.assign(good.slice(), { 1: 99 }),
    Object.assign(good.slice(), { 2: -5 }),
    Array.from(good),
    new Uint8Array(good.buffer),
    Object.create(Histogram.prototype),
    null,
    5,
  ];
  for (const snapshot of forged) assertCode(() => histogram.merge(snapshot as never), "INVALID_ARGUMENT");
  const detached = good.slice();
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assertCode(() => histogram.merge(detached), "INVALID_ARGUMENT");
  assert.equal(histogram.count, 1, "refused merges changed nothing");
  histogram.close();
  histogram.close();
  for (
    const call of [() => histogram.record(1), () => histogram.count, () => histogram.sum, () => histogram.snapshot()]
  ) {
    assertCode(call, "CLOSED");
  }
});
