import assert from "node:assert/strict";
import { Order, Pool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("Pool with grow adds a chunk when exhausted and keeps every earlier handle, view and address", () => {
  using pool = new Pool({ blockSize: 64, capacity: 4, grow: { chunk: 3, maxCapacity: 10 }, debug: false });
  const before = pool.stats();
  const bytes = pool.bytes;
  const first = Array.from({ length: 4 }, () => pool.alloc());
  const views = first.map((handle) => pool.view(handle));
  const addresses = first.map((handle) => pool.ptr(handle));
  views.forEach((view, index) => view.fill(index + 1));

  const fifth = pool.alloc();
  assert.equal(fifth, 4, "the first block of the new chunk comes next");
  assert.equal(pool.capacity, 7);
  assert.equal(pool.bytes, bytes, "bytes is the same view before and after growth");
  first.forEach((handle, index) => {
    assert.equal(pool.ptr(handle), addresses[index], "a block moved");
    assert.ok(views[index].every((byte) => byte === index + 1), "an earlier view lost its data");
    assert.equal(bytes[pool.offset(handle)], index + 1);
  });
  pool.view(fifth).fill(9);
  assert.equal(bytes[pool.offset(fifth)], 9, "an earlier bytes view sees the new chunk");

  const after = pool.stats();
  assert.equal(after.growths, 1);
  assert.equal(after.capacity, 7);
  assert.equal(after.maxCapacity, 10);
  assert.equal(after.bytesReserved, before.bytesReserved, "the reservation never changes");
  assert.ok(after.bytesCommitted >= before.bytesCommitted);
  assert.equal(after.failedAllocations, 0, "a growth is not a failed allocation");
});

test("Pool with grow stops at maxCapacity: POOL_EXHAUSTED, tryAlloc -1, and the last chunk is clamped", () => {
  using pool = new Pool({ blockSize: 8, capacity: 2, grow: { chunk: 4, maxCapacity: 7 } });
  const handles = new Set<number>();
  for (let index = 0; index < 7; index++) handles.add(pool.alloc());
  assert.equal(handles.size, 7, "a handle was handed out twice");
  assert.equal(pool.capacity, 7);
  assert.equal(pool.stats().growths, 2);
  assert.equal(pool.tryAlloc(), -1);
  assertCode(() => pool.alloc(), "POOL_EXHAUSTED", "maxCapacity of 7");
  assertCode(() => pool.grow(), "POOL_EXHAUSTED", "maxCapacity of 7");
  assert.equal(pool.stats().failedAllocations, 2);
  for (const handle of handles) pool.free(handle);
  assert.equal(pool.stats().free, 7);
});

test("Pool without grow never grows, and grow() says how to get a growing pool", () => {
  using pool = new Pool({ blockSize: 8, capacity: 2 });
  pool.alloc();
  pool.alloc();
  assert.equal(pool.tryAlloc(), -1);
  assert.equal(pool.capacity, 2);
  assert.equal(pool.maxCapacity, 2);
  assertCode(() => pool.grow(), "POOL_EXHAUSTED", "fixed capacity");
  const stats = pool.stats();
  assert.equal(stats.growths, 0);
  assert.equal(stats.bytesCommitted, stats.bytesReserved);
});

test("Pool.grow() grows ahead of need, reset keeps the grown capacity, allocMany grows before a batch", () => {
  using pool = new Pool({ blockSize: 16, capacity: 8, grow: { chunk: 8, maxCapacity: 64 }, debug: false });
  assert.equal(pool.grow(), 16);
  pool.reset();
  assert.equal(pool.capacity, 16);
  const out = new Uint32Array(40);
  assert.equal(pool.allocMany(out), 40);
  assert.equal(pool.capacity, 40);
  assert.equal(new Set(out).size, 40);
  assert.equal(pool.stats().failedAllocations, 0);
  assert.equal(pool.allocMany(new Uint32Array(30)), 24, "the batch stops at maxCapacity");
  assert.equal(pool.stats().failedAllocations, 6);
});

test("Pool growth reserves address space but commits pages only as it grows", () => {
  using pool = new Pool({ blockSize: 4096, capacity: 1, grow: { chunk: 1, maxCapacity: 100_000 } });
  const stats = pool.stats();
  assert.ok(stats.bytesReserved >= 100_000 * 4096);
  // The header with the first state bytes (one page), and the first block, which straddles two
  // pages (blocks start after the 98 KB of state bytes, reserved for 100,000 blocks, not committed).
  assert.equal(stats.bytesCommitted, 3 * 4096, `committed ${stats.bytesCommitted} bytes up front`);
  const view = pool.view(pool.alloc());
  view.fill(1);
  pool.alloc();
  assert.equal(pool.stats().bytesCommitted, stats.bytesCommitted + 4096, "one chunk of one page");
  assert.equal(view[4095], 1);
});

test("Pool.of with grow: a cursor taken before growth still reads and writes its record", () => {
  using orders = Pool.of(Order, { capacity: 2, grow: { chunk: 2, maxCapacity: 1000 } });
  const first = orders.alloc();
  const cursor = orders.at(first);
  cursor.price = 101.25;
  const grown = Array.from({ length: 500 }, () => orders.alloc());
  assert.ok(orders.capacity >= 501);
  assert.equal(orders.at(first).price, 101.25);
  for (const handle of grown) orders.at(handle).quantity = handle;
  for (const handle of grown) assert.equal(orders.at(handle).quantity, handle);
  assert.equal(orders.at(first).price, 101.25);
});

test("Pool rejects bad grow options with INVALID_ARGUMENT naming the field", () => {
  assertCode(() => new Pool({ blockSize: 8, capacity: 4, grow: 3 as never }), "INVALID_ARGUMENT", "grow");
  assertCode(
    () => new Pool({ blockSize: 8, capacity: 4, grow: { chunk: 1, maxCapacity: 3 } }),
    "INVALID_ARGUMENT",
    "grow.maxCapacity",
  );
  assertCode(
    () => new Pool({ blockSize: 8, capacity: 4, grow: { chunk: 0, maxCapacity: 8 } }),
    "INVALID_ARGUMENT",
    "grow.chunk",
  );
  assertCode(
    () => new Pool({ blockSize: 8, capacity: 4, grow: { chunk: 9, maxCapacity: 8 } }),
    "INVALID_ARGUMENT",
    "grow.chunk",
  );
  assertCode(
    () => new Pool({ blockSize: 8, capacity: 4, grow: { chunk: 1, maxCapacity: 2 ** 27 } }),
    "INVALID_ARGUMENT",
    "grow.maxCapacity",
  );
  assertCode(
    () => new Pool({ blockSize: 1 << 20, capacity: 1, grow: { chunk: 1, maxCapacity: 5000 } }),
    "INVALID_ARGUMENT",
    "4 GiB",
  );
});

test("Pool with grow refuses every call once closed", () => {
  const pool = new Pool({ blockSize: 8, capacity: 1, grow: { chunk: 1, maxCapacity: 4 } });
  pool.alloc();
  pool.close();
  assertCode(() => pool.alloc(), "CLOSED");
  assertCode(() => pool.grow(), "CLOSED");
  assert.equal(pool.capacity, 1);
});
