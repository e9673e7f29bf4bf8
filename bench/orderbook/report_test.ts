/**
 * The GC-log parsers of the order-book report (bench/orderbook/report.ts). They live beside
 * the benchmark they serve; the test suite runs this file with the other tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "../../tests/harness.ts";
import { jscGcDuringChurn, v8GcDuringChurn } from "./report.ts";

test("order book report counts only the collections inside the churn", () => {
  const pooled = "pooled: 0.0 MB";
  const v8 = [
    `[1:0x1]  10 ms: Scavenge 3.2 (4.2) -> 2.3 (4.5) MB, ${pooled}, 0.20 / 0.00 ms allocation failure;`,
    `[1:0x1]  20 ms: Mark-Compact 6.2 (8.5) -> 5.2 (8.5) MB, ${pooled}, 5.64 / 0.00 ms testing; old space`,
    `[1:0x1]  30 ms: Scavenge 3.2 (4.2) -> 2.3 (4.5) MB, ${pooled}, 1.50 / 0.00 ms allocation failure;`,
    `[1:0x1]  40 ms: Incremental Mark-Compact 102 (156) -> 21 (99) MB, pooled: 18.5 MB, 8.50 / 0.00 ms finalize`,
    `[1:0x1]  50 ms: Mark-Compact 6.2 (8.5) -> 5.2 (8.5) MB, ${pooled}, 4.00 / 0.00 ms testing; old space`,
    `[1:0x1]  60 ms: Scavenge 3.2 (4.2) -> 2.3 (4.5) MB, ${pooled}, 0.20 / 0.00 ms allocation failure;`,
  ].join("\n");
  assert.deepEqual(v8GcDuringChurn(v8), { events: 2, pauseMs: 10 });
  const jsc = [
    "[GC<0x1>: START M 8896kb => EdenCollection, p=0.5ms (max 0.5) END]",
    "HOTPATH-CHURN-BEGIN",
    "[GC<0x1>: START M 9054kb => EdenCollection, p=0.25ms (max 0.5) END]",
    "HOTPATH-CHURN-END",
    "[GC<0x1>: START M 9054kb => FullCollection, p=3ms (max 3) END]",
  ].join("\n");
  assert.deepEqual(jscGcDuringChurn(jsc), { events: 1, pauseMs: 0.25 });
  assert.throws(() => v8GcDuringChurn("no collections at all"));
});
