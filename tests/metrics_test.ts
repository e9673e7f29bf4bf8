import assert from "node:assert/strict";
import { Arena, closeAll, metrics, Pool, SizeClassPool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("metrics lists every open pool and arena with its name, stats and memory", () => {
  using orders = new Pool({ blockSize: 64, capacity: 128, name: "orders" });
  using scratch = new Arena({ capacity: 4096, name: "scratch" });
  using sized = new SizeClassPool({ classes: [32, 64], capacity: 8, name: "messages" });
  orders.alloc();
  const report = metrics();
  const mine = report.regions.filter((region) => ["orders", "scratch", "messages"].includes(region.name));
  assert.deepEqual(mine.map((region) => [region.kind, region.name]).sort(), [
    ["Arena", "scratch"],
    ["Pool", "orders"],
    ["SizeClassPool", "messages"],
  ]);
  const pool = mine.find((region) => region.name === "orders")!;
  assert.equal((pool.stats as { inUse: number }).inUse, 1);
  assert.equal(pool.bytesReserved, orders.stats().bytesReserved);
  assert.equal(mine.find((region) => region.name === "messages")!.bytesReserved, sized.stats().total.bytesReserved);
  assert.ok(report.total.bytesReserved >= mine.reduce((sum, region) => sum + region.bytesReserved, 0));
  assert.equal(report.total.count, report.regions.length);
  orders.close();
  assert.ok(!metrics().regions.some((region) => region.name === "orders"), "closed pools leave the registry");
  assert.equal(scratch.closed, false);
});

test("closeAll closes every open pool and arena", () => {
  const pool = new Pool({ blockSize: 16, capacity: 4, name: "left-open" });
  const arena = new Arena({ capacity: 64 });
  const sized = new SizeClassPool({ capacity: 2 });
  assert.ok(closeAll() >= 3);
  assert.equal(pool.closed, true);
  assert.equal(arena.closed, true);
  assert.equal(sized.closed, true);
  assert.equal(metrics().total.count, 0);
  assertCode(() => pool.alloc(), "CLOSED");
});

test("a name that is not a short string is rejected", () => {
  assertCode(() => new Pool({ blockSize: 8, capacity: 1, name: 5 as never }), "INVALID_ARGUMENT", "name");
  assertCode(() => new Arena({ capacity: 8, name: "x".repeat(101) }), "INVALID_ARGUMENT", "name");
});
