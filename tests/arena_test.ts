import assert from "node:assert/strict";
import { Arena } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("Arena bumps the offset by size and alignment", () => {
  using arena = new Arena({ capacity: 1024 });
  assert.equal(arena.alloc(10), 0);
  assert.equal(arena.alloc(10), 16);
  assert.equal(arena.alloc(1, 1), 26);
  assert.equal(arena.alloc(4, 64), 64);
  assert.equal(arena.alloc(1, 4), 68);
  assert.equal(arena.stats().offset, 69);
});

test("Arena aligns every allocation, in offset and in address", () => {
  using arena = new Arena({ capacity: 1 << 16, align: 1 });
  for (let shift = 0; shift <= 12; shift++) {
    const align = 1 << shift;
    arena.alloc(3, 1);
    const offset = arena.alloc(5, align);
    assert.equal(offset % align, 0);
    assert.equal(arena.ptr(offset) % align, 0);
  }
});

test("Arena.tryAlloc returns -1 and alloc throws ARENA_FULL when it does not fit", () => {
  using arena = new Arena({ capacity: 64 });
  assert.equal(arena.alloc(60), 0);
  assert.equal(arena.tryAlloc(8), -1);
  assertCode(() => arena.alloc(8), "ARENA_FULL", "do not fit");
  assert.equal(arena.alloc(4, 4), 60);
  assert.equal(arena.stats().failedAllocations, 2);
});

test("Arena.reset restores the whole capacity", () => {
  using arena = new Arena({ capacity: 256 });
  arena.alloc(256, 1);
  assert.equal(arena.tryAlloc(1), -1);
  arena.reset();
  assert.equal(arena.alloc(256, 1), 0);
  const stats = arena.stats();
  assert.equal(stats.resets, 1);
  assert.equal(stats.highWater, 256);
  assert.equal(stats.allocations, 2);
});

test("Arena.rewind returns to a mark", () => {
  using arena = new Arena({ capacity: 256 });
  arena.alloc(24);
  const mark = arena.mark();
  assert.equal(mark, 24);
  arena.alloc(100);
  arena.alloc(100);
  arena.rewind(mark);
  assert.equal(arena.mark(), 24);
  assert.equal(arena.alloc(8), 24);
  assertCode(() => arena.rewind(100), "INVALID_ARGUMENT", "mark");
  assertCode(() => arena.rewind(-1), "INVALID_ARGUMENT", "mark");
});

test("Arena rejects every bad argument with INVALID_ARGUMENT naming it", () => {
  using arena = new Arena({ capacity: 128 });
  const allocCases: [unknown, unknown, string][] = [
    [0, 8, "bytes"],
    [-1, 8, "bytes"],
    [Number.NaN, 8, "bytes"],
    [1.5, 8, "bytes"],
    [129, 8, "bytes"],
    ["8", 8, "bytes"],
    [8, 3, "align"],
    [8, 0, "align"],
    [8, 8192, "align"],
    [8, Number.NaN, "align"],
  ];
  for (const [bytes, align, named] of allocCases) {
    assertCode(() => arena.alloc(bytes as number, align as number), "INVALID_ARGUMENT", named);
    assertCode(() => arena.tryAlloc(bytes as number, align as number), "INVALID_ARGUMENT", named);
  }
  const createCases: [unknown, string][] = [
    [null, "options"],
    [{ capacity: 0 }, "capacity"],
    [{ capacity: -5 }, "capacity"],
    [{ capacity: 2 ** 30 + 1 }, "capacity"],
    [{ capacity: 64, align: 6 }, "align"],
  ];
  for (const [options, named] of createCases) {
    assertCode(() => new Arena(options as never), "INVALID_ARGUMENT", named);
  }
  assertCode(() => arena.ptr(128), "INVALID_ARGUMENT", "offset");
  assert.equal(arena.stats().offset, 0);
});

test("Arena memory is native and shared with its views", () => {
  using arena = new Arena({ capacity: 64 });
  const offset = arena.alloc(16);
  arena.bytes.fill(9, offset, offset + 16);
  assert.equal(arena.bytes[offset + 15], 9);
  assert.ok(arena.ptr(offset) > 0);
  assert.equal(arena.ptr(offset + 1) - arena.ptr(offset), 1);
});

test("Arena.close makes every call throw CLOSED and keeps old views safe", () => {
  const arena = new Arena({ capacity: 4096 });
  const bytes = arena.bytes;
  bytes[0] = 1;
  arena.close();
  arena.close();
  assert.equal(arena.closed, true);
  for (
    const call of [
      () => arena.alloc(8),
      () => arena.tryAlloc(8),
      () => arena.mark(),
      () => arena.rewind(0),
      () => arena.reset(),
      () => arena.ptr(0),
      () => arena.stats(),
      () => arena.bytes,
    ]
  ) {
    assertCode(call, "CLOSED");
  }
  assert.equal(bytes[0], 0);
  bytes[4095] = 5;
});

test("Arena.stats counts alignment waste across rewinds and resets: requested vs skipped bytes", () => {
  using arena = new Arena({ capacity: 4096, align: 1 });
  arena.alloc(3);
  arena.alloc(8, 8); // 5 bytes skipped
  const mark = arena.mark();
  arena.alloc(1);
  arena.alloc(16, 16); // 16 + 1 = 17 -> 32: 15 skipped
  arena.rewind(mark);
  arena.reset();
  arena.alloc(8, 8); // at 0: nothing skipped
  const stats = arena.stats();
  assert.deepEqual([stats.requestedBytes, stats.alignmentWasteBytes], [3 + 8 + 1 + 16 + 8, 5 + 15]);
  assert.equal(stats.fragmentation, 20 / (36 + 20));
  using fresh = new Arena({ capacity: 64 });
  assert.deepEqual([fresh.stats().requestedBytes, fresh.stats().fragmentation], [0, 0]);
});
