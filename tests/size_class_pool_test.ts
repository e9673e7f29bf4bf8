import assert from "node:assert/strict";
import fc from "fast-check";
import { SizeClassPool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

test("SizeClassPool routes every boundary to the smallest class that holds it", () => {
  using pool = new SizeClassPool({ capacity: 8 });
  assert.deepEqual(pool.classes, [32, 64, 128, 256, 512, 1024]);
  const cases: [number, number][] = [[1, 32], [31, 32], [32, 32], [33, 64], [64, 64], [65, 128], [1023, 1024], [
    1024,
    1024,
  ]];
  for (const [bytes, classSize] of cases) {
    const handle = pool.alloc(bytes);
    assert.equal(pool.sizeOf(handle), classSize, `${bytes} bytes`);
    assert.equal(pool.view(handle).length, classSize);
    pool.free(handle);
  }
  assertCode(() => pool.alloc(1025), "TOO_LARGE", "1024 bytes");
});

test("SizeClassPool routes configured, uneven classes exactly", () => {
  using pool = new SizeClassPool({ classes: [24, 40, 100], capacity: [2, 2, 2] });
  assert.equal(pool.sizeOf(pool.alloc(24)), 24);
  assert.equal(pool.sizeOf(pool.alloc(25)), 40);
  assert.equal(pool.sizeOf(pool.alloc(41)), 100);
  assert.equal(pool.sizeOf(pool.alloc(100)), 100);
  assert.equal(pool.tryAlloc(99), -1, "the 100-byte class is full");
  assertCode(() => pool.alloc(99), "POOL_EXHAUSTED", "100-byte class");
});

test("SizeClassPool handles carry their class: free needs no size, and blocks do not overlap", () => {
  using pool = new SizeClassPool({ capacity: 4 });
  const handles = [pool.alloc(10), pool.alloc(100), pool.alloc(1000), pool.alloc(10)];
  handles.forEach((handle, index) =>
    pool.bytesOf(handle).fill(index + 1, pool.offset(handle), pool.offset(handle) + 8)
  );
  handles.forEach((handle, index) => assert.equal(pool.bytesOf(handle)[pool.offset(handle) + 7], index + 1));
  for (const handle of handles) pool.free(handle);
  assert.equal(pool.stats().total.inUse, 0);
  assertCode(() => pool.free(handles[0]), "DOUBLE_FREE");
  assertCode(() => pool.free(62 * 2 ** 26), "INVALID_HANDLE");
  assertCode(() => pool.free(-1), "INVALID_HANDLE");
});

test("SizeClassPool oversize 'allocate' tracks large allocations apart from the classes", () => {
  using pool = new SizeClassPool({ capacity: 2, oversize: "allocate" });
  const large = pool.alloc(5000);
  assert.equal(pool.sizeOf(large), 5000);
  pool.view(large).fill(7);
  assert.equal(pool.view(large)[4999], 7);
  assert.deepEqual(pool.stats().large, { live: 1, allocations: 1, bytes: 5000 });
  pool.free(large);
  assert.deepEqual(pool.stats().large, { live: 0, allocations: 1, bytes: 0 });
  assertCode(() => pool.free(large), "DOUBLE_FREE");
  const second = pool.alloc(6000);
  const third = pool.alloc(7000);
  pool.view(second).fill(2);
  pool.view(third).fill(3);
  assert.equal(pool.view(second)[5999], 2, "a second large allocation is reachable");
  assert.equal(pool.view(third)[6999], 3);
  assert.notEqual(pool.ptr(second), pool.ptr(third));
  assert.equal(pool.offset(third), 0);
  pool.free(second);
  pool.free(third);
});

test("SizeClassPool.stats reports per class and in total, with internal fragmentation", () => {
  using pool = new SizeClassPool({ classes: [32, 64], capacity: 4 });
  pool.alloc(32);
  pool.alloc(16);
  pool.alloc(48);
  const stats = pool.stats();
  assert.equal(stats.classes[0].allocations, 2);
  assert.equal(stats.classes[0].requestedBytes, 48);
  assert.equal(stats.classes[0].grantedBytes, 64);
  assert.equal(stats.classes[1].requestedBytes, 48);
  assert.equal(stats.total.requestedBytes, 96);
  assert.equal(stats.total.grantedBytes, 128);
  assert.equal(stats.total.fragmentation, 0.25);
  assert.equal(stats.total.inUse, 3);
  assert.equal(stats.total.capacity, 8);
});

test("SizeClassPool rejects bad options and sizes with INVALID_ARGUMENT naming them", () => {
  assertCode(() => new SizeClassPool({ capacity: 0 }), "INVALID_ARGUMENT", "capacity[0]");
  assertCode(() => new SizeClassPool({ classes: [], capacity: 1 }), "INVALID_ARGUMENT", "classes");
  assertCode(() => new SizeClassPool({ classes: [64, 32], capacity: 1 }), "INVALID_ARGUMENT", "classes[1]");
  assertCode(() => new SizeClassPool({ classes: [1 << 17], capacity: 1 }), "INVALID_ARGUMENT", "classes[0]");
  assertCode(() => new SizeClassPool({ classes: [8, 16], capacity: [1] }), "INVALID_ARGUMENT", "2 classes");
  assertCode(() => new SizeClassPool({ capacity: 1, oversize: "grow" as never }), "INVALID_ARGUMENT", "oversize");
  using pool = new SizeClassPool({ capacity: 1 });
  for (const bad of [0, -1, 1.5, Number.NaN, "8"]) {
    assertCode(() => pool.alloc(bad as number), "INVALID_ARGUMENT", "bytes");
  }
});

test("SizeClassPool.close makes every call throw CLOSED", () => {
  const pool = new SizeClassPool({ capacity: 1, oversize: "allocate" });
  const handle = pool.alloc(8);
  pool.alloc(4096);
  pool.close();
  pool.close();
  for (const call of [() => pool.alloc(8), () => pool.free(handle), () => pool.stats(), () => pool.view(handle)]) {
    assertCode(call, "CLOSED");
  }
});

test("SizeClassPool matches a model over random alloc/free sequences", () => {
  const classes = [16, 48, 64, 200];
  let operations = 0;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 260 }), fc.constant(-1)), { minLength: 1000, maxLength: 1000 }),
      (steps) => {
        using pool = new SizeClassPool({ classes, capacity: 6, oversize: "allocate" });
        const live = new Map<number, number>();
        for (const step of steps) {
          if (step === -1 || live.size >= 20) {
            const [handle, classSize] = live.entries().next().value ?? [];
            if (handle === undefined) continue;
            assert.equal(pool.sizeOf(handle), classSize);
            pool.free(handle);
            live.delete(handle);
          } else {
            const expected = classes.find((size) => size >= step) ?? step;
            const inClass = [...live.values()].filter((size) => size === expected).length;
            const handle = pool.tryAlloc(step);
            if (expected <= 200 && inClass === 6) {
              assert.equal(handle, -1);
            } else {
              assert.ok(!live.has(handle), `handle ${handle} handed out twice`);
              assert.equal(pool.sizeOf(handle), expected);
              live.set(handle, expected);
            }
          }
          operations++;
          assert.equal(pool.stats().total.inUse + pool.stats().large.live, live.size);
        }
      },
    ),
    { numRuns: 30 },
  );
  assert.ok(operations >= 25_000, `only ${operations} operations ran`);
});
