import assert from "node:assert/strict";
import { Pool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("Pool hands out unique handles until exhausted", () => {
  using pool = new Pool({ blockSize: 24, capacity: 100 });
  const seen = new Set<number>();
  for (let index = 0; index < 100; index++) {
    const handle = pool.alloc();
    assert.ok(Number.isInteger(handle) && handle >= 0 && handle < 100);
    assert.ok(!seen.has(handle), `handle ${handle} handed out twice`);
    seen.add(handle);
  }
  assert.equal(pool.stats().inUse, 100);
});

test("Pool.tryAlloc returns -1 and alloc throws POOL_EXHAUSTED when exhausted", () => {
  using pool = new Pool({ blockSize: 8, capacity: 2 });
  pool.alloc();
  pool.alloc();
  assert.equal(pool.tryAlloc(), -1);
  assertCode(() => pool.alloc(), "POOL_EXHAUSTED", "2 blocks");
  assert.equal(pool.stats().failedAllocations, 2);
});

test("Pool reuses the last freed block first (LIFO)", () => {
  using pool = new Pool({ blockSize: 16, capacity: 8 });
  const [a, b, c] = [pool.alloc(), pool.alloc(), pool.alloc()];
  pool.free(a);
  pool.free(c);
  pool.free(b);
  assert.deepEqual([pool.alloc(), pool.alloc(), pool.alloc()], [b, c, a]);
});

test("Pool aligns every block to the requested alignment", () => {
  for (const align of [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096]) {
    using pool = new Pool({ blockSize: 13, capacity: 20, align });
    assert.equal(pool.stride % Math.max(align, 4), 0);
    for (let index = 0; index < 20; index++) {
      const handle = pool.alloc();
      assert.equal(pool.ptr(handle) % align, 0, `align ${align}, handle ${handle}`);
      assert.ok(pool.offset(handle) + pool.blockSize <= pool.bytes.length);
    }
  }
});

test("Pool views alias native memory without copies", () => {
  using pool = new Pool({ blockSize: 32, capacity: 4 });
  const handle = pool.alloc();
  const view = pool.view(handle);
  assert.equal(view.length, 32);
  view[5] = 99;
  assert.equal(pool.bytes[pool.offset(handle) + 5], 99);
  assert.equal(view.buffer, pool.bytes.buffer);
  assert.equal(pool.ptr(handle) - pool.ptr(pool.alloc()), -pool.stride);
});

test("Pool.free rejects out-of-range, fractional and non-number handles with INVALID_HANDLE", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  for (const bad of [-1, 4, 1.5, Number.NaN, Infinity, 2 ** 32, "1", null, undefined]) {
    assertCode(() => pool.free(bad as number), "INVALID_HANDLE");
  }
  assert.equal(pool.stats().inUse, 0);
});

test("Pool.free detects a double free and a free of a never-allocated handle", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  const handle = pool.alloc();
  pool.free(handle);
  assertCode(() => pool.free(handle), "DOUBLE_FREE", `handle ${handle}`);
  assertCode(() => pool.free(3), "DOUBLE_FREE");
  assert.equal(pool.stats().inUse, 0);
  assert.equal(pool.stats().free, 4);
});

test("Pool.offset, ptr and view reject handles that are not allocated", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  const handle = pool.alloc();
  pool.free(handle);
  assertCode(() => pool.offset(handle), "INVALID_HANDLE", "not allocated");
  assertCode(() => pool.ptr(9), "INVALID_HANDLE");
  assertCode(() => pool.view(-1), "INVALID_HANDLE");
});

test("Pool constructor rejects every bad option with INVALID_ARGUMENT naming it", () => {
  const cases: [unknown, string][] = [
    [undefined, "options"],
    [{ blockSize: 0, capacity: 1 }, "blockSize"],
    [{ blockSize: -8, capacity: 1 }, "blockSize"],
    [{ blockSize: 1.5, capacity: 1 }, "blockSize"],
    [{ blockSize: Number.NaN, capacity: 1 }, "blockSize"],
    [{ blockSize: (1 << 20) + 1, capacity: 1 }, "blockSize"],
    [{ blockSize: 8, capacity: 0 }, "capacity"],
    [{ blockSize: 8, capacity: "10" }, "capacity"],
    [{ blockSize: 8, capacity: 2 ** 26 + 1 }, "capacity"],
    [{ blockSize: 8, capacity: 1, align: 3 }, "align"],
    [{ blockSize: 8, capacity: 1, align: 0 }, "align"],
    [{ blockSize: 8, capacity: 1, align: 8192 }, "align"],
    [{ blockSize: 1 << 20, capacity: 1 << 13 }, "4 GiB"],
  ];
  for (const [options, named] of cases) {
    assertCode(() => new Pool(options as never), "INVALID_ARGUMENT", named);
  }
});

test("Pool.stats reports counters and keeps metadata under 5%", () => {
  using pool = new Pool({ blockSize: 64, capacity: 1024 });
  const handles = [pool.alloc(), pool.alloc(), pool.alloc()];
  pool.free(handles[1]);
  assert.equal(pool.tryAlloc() >= 0, true);
  const stats = pool.stats();
  assert.equal(stats.capacity, 1024);
  assert.equal(stats.blockSize, 64);
  assert.equal(stats.inUse, 3);
  assert.equal(stats.free, 1021);
  assert.equal(stats.highWater, 3);
  assert.equal(stats.allocations, 4);
  assert.equal(stats.frees, 1);
  assert.equal(stats.failedAllocations, 0);
  assert.ok(stats.bytesReserved >= 64 * 1024);
  assert.ok(stats.metadataBytes / stats.bytesReserved < 0.05, `metadata ${stats.metadataBytes} B`);
});

test("Pool.allocMany and freeMany move handles in one call, all or nothing", () => {
  using pool = new Pool({ blockSize: 8, capacity: 10 });
  const out = new Uint32Array(16);
  assert.equal(pool.allocMany(out, 6), 6);
  assert.equal(new Set(out.subarray(0, 6)).size, 6);
  assert.equal(pool.allocMany(out.subarray(6), 10), 4);
  assert.equal(pool.stats().failedAllocations, 6);
  const repeated = Uint32Array.of(out[0], out[1], out[0]);
  assertCode(() => pool.freeMany(repeated), "DOUBLE_FREE");
  assert.equal(pool.stats().inUse, 10);
  assertCode(() => pool.freeMany(Uint32Array.of(out[0], 77)), "INVALID_HANDLE");
  assert.equal(pool.stats().inUse, 10);
  pool.freeMany(out, 10);
  assert.equal(pool.stats().inUse, 0);
  assertCode(() => pool.freeMany([1, 2] as unknown as Uint32Array), "INVALID_ARGUMENT", "Uint32Array");
  assertCode(() => pool.allocMany(out, 17), "INVALID_ARGUMENT", "count");
});

test("Pool.reset frees every block", () => {
  using pool = new Pool({ blockSize: 8, capacity: 5 });
  for (let index = 0; index < 5; index++) pool.alloc();
  pool.reset();
  assert.equal(pool.stats().inUse, 0);
  assert.equal(pool.alloc(), 0);
  assert.equal(pool.isAllocated(1), false);
});

test("Pool detects a write into a freed block instead of handing a block out twice", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  const a = pool.alloc();
  const b = pool.alloc();
  pool.free(a);
  // Use after free: overwrite a's free-list link with b, which is allocated.
  new DataView(pool.bytes.buffer, pool.bytes.byteOffset).setUint32(a * pool.stride, b, true);
  assert.equal(pool.alloc(), a);
  assertCode(() => pool.alloc(), "CORRUPTED", "use after free");
});

test("Pool.close makes every call throw CLOSED and is idempotent", () => {
  const pool = new Pool({ blockSize: 8, capacity: 4 });
  const handle = pool.alloc();
  pool.close();
  pool.close();
  assert.equal(pool.closed, true);
  const calls: (() => unknown)[] = [
    () => pool.alloc(),
    () => pool.tryAlloc(),
    () => pool.free(handle),
    () => pool.offset(handle),
    () => pool.ptr(handle),
    () => pool.view(handle),
    () => pool.bytes,
    () => pool.stats(),
    () => pool.reset(),
    () => pool.allocMany(new Uint32Array(1)),
    () => pool.freeMany(new Uint32Array(0)),
    () => pool.isAllocated(handle),
  ];
  for (const call of calls) assertCode(call, "CLOSED");
});

test("Pool views taken before close stay safe to read and write", () => {
  const pool = new Pool({ blockSize: 64, capacity: 128 });
  const handle = pool.alloc();
  const view = pool.view(handle);
  const all = pool.bytes;
  view.fill(7);
  pool.close();
  assert.equal(view[0], 0, "closed memory reads as zeros");
  view.fill(1);
  all[all.length - 1] = 3;
  assert.equal(all[all.length - 1], 3);
});

test("Pool using-scope closes the pool at the end of the block", () => {
  let escaped: Pool | undefined;
  {
    using pool = new Pool({ blockSize: 8, capacity: 1 });
    escaped = pool;
  }
  assert.equal(escaped.closed, true);
});
