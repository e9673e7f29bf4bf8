import assert from "node:assert/strict";
import { SharedPool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("SharedPool.retire frees a block only after every reader inside has left", () => {
  using writer = new SharedPool({ blockSize: 16, capacity: 64 });
  using reader = SharedPool.attach(writer.share());
  const handle = writer.alloc();
  {
    using _guard = reader.enter();
    writer.retire(handle);
    assert.equal(writer.isAllocated(handle), false);
    assert.equal(reader.view(handle).length, 16, "a retired block is still readable");
    assert.equal(writer.collect(), 1, "the reader inside holds it back");
    assert.equal(writer.stats().retired, 1);
  }
  assert.equal(writer.collect(), 0);
  const stats = writer.stats();
  assert.equal(stats.retired, 0);
  assert.equal(stats.retiredFreed, 1);
  assert.ok(stats.epoch > 1);
  assert.equal(writer.check(), 0);
});

test("SharedPool.retire and free refuse blocks that are free or retired", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 8 });
  const handle = pool.alloc();
  pool.retire(handle);
  assertCode(() => pool.retire(handle), "DOUBLE_FREE");
  assertCode(() => pool.free(handle), "DOUBLE_FREE");
  pool.collect();
  assertCode(() => pool.retire(handle), "DOUBLE_FREE");
  for (const bad of [-1, 8, 0.5, Number.NaN]) assertCode(() => pool.retire(bad), "INVALID_HANDLE");
  assert.equal(pool.check(), 0);
});

test("SharedPool.enter nests, and exit without enter is refused", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 8 });
  using other = SharedPool.attach(pool.share());
  const handle = pool.alloc();
  other.enter();
  other.enter();
  other.exit();
  pool.retire(handle);
  assert.equal(pool.collect(), 1, "still inside after one of two exits");
  other.exit();
  assert.equal(pool.collect(), 0);
  assertCode(() => other.exit(), "INVALID_ARGUMENT");
});

test("SharedPool: a reader that stays inside is reported stuck and bounds what retire holds", async () => {
  using writer = new SharedPool({ blockSize: 16, capacity: 64, retire: 4 });
  using reader = SharedPool.attach(writer.share());
  reader.enter();
  writer.retire(writer.alloc()); // retired under the epoch the reader is in
  let retired = 1;
  while (writer.tryRetire(writer.alloc())) retired++;
  assert.ok(retired <= 4, `${retired} retired with a ring of 4`);
  await new Promise((resolve) => setTimeout(resolve, 150));
  writer.collect();
  const stats = writer.stats();
  assert.equal(stats.stuckReaders, 1);
  assert.ok(stats.blockingMs >= 100, `${stats.blockingMs} ms`);
  assertCode(() => writer.retire(writer.alloc()), "LIMIT_REACHED", "stuck reader");
  reader.exit();
  assert.equal(writer.collect(), 0);
  assert.equal(writer.stats().stuckReaders, 0);
});

test("SharedPool: retired blocks of a closed attachment are freed by whoever collects later", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 32 });
  const writer = SharedPool.attach(pool.share());
  using reader = SharedPool.attach(pool.share());
  reader.enter();
  for (let i = 0; i < 10; i++) writer.retire(writer.alloc());
  writer.close();
  assert.equal(pool.stats().limbo, 10);
  reader.exit();
  pool.collect();
  assert.equal(pool.stats().limbo, 0);
  assert.equal(pool.stats().retiredFreed, 10);
  assert.equal(pool.check(), 0);
});
