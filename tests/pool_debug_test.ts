import assert from "node:assert/strict";
import fc from "fast-check";
import { HotpathError, Order, Pool, SizeClassPool } from "../mod.ts";
import { assertCode, runtime, test } from "./harness.ts";

const POISON = 0xdd;
const GUARD = 0xfd;

test("Pool debug: freeing a handle twice is DOUBLE_FREE naming the handle", () => {
  using pool = new Pool({ blockSize: 32, capacity: 4, debug: true });
  const handle = pool.alloc();
  pool.free(handle);
  assertCode(() => pool.free(handle), "DOUBLE_FREE", `free(${handle})`);
});

test("Pool debug: a stale handle is caught even after its block was handed out again", () => {
  using pool = new Pool({ blockSize: 32, capacity: 4, debug: true });
  const stale = pool.alloc();
  pool.free(stale);
  const fresh = pool.alloc();
  assert.notEqual(fresh, stale, "the reused block got the same handle: no generation bits");
  assert.equal(pool.offset(fresh), pool.offset(fresh), "the fresh handle works");
  assertCode(() => pool.free(stale), "DOUBLE_FREE", `handed out again as handle ${fresh}`);
  assert.ok(pool.isAllocated(fresh), "the failed free touched the new owner's block");
  assert.equal(pool.isAllocated(stale), false);
  for (const use of [() => pool.offset(stale), () => pool.view(stale), () => pool.ptr(stale)]) {
    assertCode(use, "USE_AFTER_FREE", `handle ${stale}`);
  }
  pool.free(fresh);
});

test("Pool debug: a freed block written through a kept view is USE_AFTER_FREE on reuse and on check()", () => {
  using pool = new Pool({ blockSize: 48, capacity: 2, debug: true });
  const handle = pool.alloc();
  const view = pool.view(handle);
  pool.free(handle);
  assert.ok(view.subarray(4).every((byte) => byte === POISON), "a freed block is poisoned");
  view[20] = 1;
  assertCode(() => pool.check(), "USE_AFTER_FREE", "byte 20");
  assertCode(() => pool.alloc(), "USE_AFTER_FREE", "block 0 was written after it was freed");
});

test("Pool debug: a write past the end of a block is OVERFLOW on free and on check()", () => {
  using pool = new Pool({ blockSize: 24, capacity: 3, debug: true });
  const handle = pool.alloc();
  const bytes = pool.bytes;
  const end = pool.offset(handle) + 24;
  assert.ok(bytes.subarray(end, end + 8).every((byte) => byte === GUARD), "guard bytes follow the block");
  pool.view(handle).fill(7); // the whole block is the caller's: no false alarm
  assert.equal(pool.check(), 3);
  bytes[end + 1] = 0;
  assertCode(() => pool.check(), "OVERFLOW", `handle ${handle}`);
  assertCode(() => pool.free(handle), "OVERFLOW", "guard byte 1");
  assert.ok(pool.isAllocated(handle), "a block with a broken guard stays allocated");
});

test("Pool debug: stale handles from before reset are USE_AFTER_FREE, freeMany is all or nothing", () => {
  using pool = new Pool({ blockSize: 16, capacity: 8, debug: true });
  const out = new Uint32Array(4);
  assert.equal(pool.allocMany(out), 4);
  const before = [...out];
  pool.reset();
  for (const handle of before) assertCode(() => pool.offset(handle), "USE_AFTER_FREE");
  assert.equal(pool.allocMany(out), 4);
  const batch = Uint32Array.of(out[0], out[1], before[2]);
  assertCode(() => pool.freeMany(batch), "DOUBLE_FREE");
  assert.equal(pool.stats().inUse, 4, "a rejected batch freed something");
  assertCode(() => pool.freeMany(Uint32Array.of(out[0], out[0])), "DOUBLE_FREE");
  pool.freeMany(out);
  assert.equal(pool.stats().inUse, 0);
  assert.equal(pool.check(), 8);
});

test("Pool debug: growth poisons and guards the new chunk", () => {
  using pool = new Pool({ blockSize: 40, capacity: 1, grow: { chunk: 2, maxCapacity: 5 }, debug: true });
  const handles = Array.from({ length: 5 }, () => pool.alloc());
  assert.equal(new Set(handles).size, 5);
  assert.equal(pool.stats().growths, 2);
  for (const handle of handles) pool.free(handle);
  assert.equal(pool.check(), 5);
});

test("Pool debug: StructPool cursors refuse stale handles", () => {
  using orders = Pool.of(Order, { capacity: 4, debug: true });
  const handle = orders.alloc();
  orders.at(handle).price = 99.5;
  assert.equal(orders.at(handle).price, 99.5);
  orders.free(handle);
  assertCode(() => orders.at(handle), "USE_AFTER_FREE");
});

test("Pool release mode stays silent about overflow and writes after free, but never hands out a block twice", () => {
  using pool = new Pool({ blockSize: 24, capacity: 3, debug: false });
  const bytes = pool.bytes;
  const first = pool.alloc();
  const second = pool.alloc();
  bytes.fill(1, pool.offset(first), pool.offset(first) + pool.stride + 4); // overflow into the next block
  const stale = pool.alloc();
  const staleView = pool.view(stale);
  pool.free(stale);
  staleView[8] = 5; // a write after free that spares the free-list link
  pool.free(first);
  pool.free(second);
  const handles = new Set([pool.alloc(), pool.alloc(), pool.alloc()]);
  assert.equal(handles.size, 3);
  assert.equal(pool.tryAlloc(), -1);
  for (const handle of handles) pool.free(handle);
  // A write after free over the link: the freed block itself is handed out (it was free), and
  // the link it held is caught as CORRUPTED when it would be followed, never followed.
  const victim = pool.alloc();
  const view = pool.view(victim);
  pool.free(victim);
  view.fill(0xff, 0, 4);
  view[0] = 200;
  assert.equal(pool.alloc(), victim);
  assertCode(() => pool.alloc(), "CORRUPTED");
  assertCode(() => pool.check(), "CORRUPTED");
});

test("Pool debug is on with HOTPATH_DEBUG=1 unless debug: false is given", () => {
  const env = runtime === "deno"
    ? {
      set: (value: string) => Deno.env.set("HOTPATH_DEBUG", value),
      unset: () => Deno.env.delete("HOTPATH_DEBUG"),
    }
    : { set: (value: string) => (process.env.HOTPATH_DEBUG = value), unset: () => delete process.env.HOTPATH_DEBUG };
  env.set("1");
  try {
    using on = new Pool({ blockSize: 8, capacity: 2 });
    using off = new Pool({ blockSize: 8, capacity: 2, debug: false });
    assert.equal(on.debug, true);
    assert.equal(on.stats().debug, true);
    assert.equal(off.debug, false);
  } finally {
    env.unset();
  }
  using plain = new Pool({ blockSize: 8, capacity: 2 });
  assert.equal(plain.debug, false);
  assertCode(() => new Pool({ blockSize: 8, capacity: 2, debug: "yes" as never }), "INVALID_ARGUMENT", "debug");
});

test("SizeClassPool debug: stale handles are caught in every class and handles keep their class", () => {
  using pool = new SizeClassPool({ capacity: 4, debug: true, oversize: "allocate" });
  const small = pool.alloc(20);
  const large = pool.alloc(3000);
  assert.equal(pool.sizeOf(small), 32);
  pool.free(small);
  const again = pool.alloc(20);
  assert.notEqual(again, small);
  assert.equal(pool.sizeOf(again), 32);
  assertCode(() => pool.free(small), "DOUBLE_FREE");
  assertCode(() => pool.view(small), "USE_AFTER_FREE");
  pool.view(large).fill(1);
  pool.free(large);
  pool.free(again);
});

type DebugStep =
  | { kind: "alloc" }
  | { kind: "free"; pick: number }
  | { kind: "staleFree"; pick: number }
  | { kind: "staleRead"; pick: number }
  | { kind: "write"; pick: number; value: number };

const debugStep: fc.Arbitrary<DebugStep> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: "alloc" } as const) },
  { weight: 8, arbitrary: fc.nat().map((pick) => ({ kind: "free", pick }) as const) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "staleFree", pick }) as const) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "staleRead", pick }) as const) },
  {
    weight: 6,
    arbitrary: fc.record({ pick: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }).map((step) =>
      ({ kind: "write", ...step }) as const
    ),
  },
);

test("Pool debug matches a model: live handles work, every stale handle is refused, data survives", () => {
  let steps = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 24 }),
      fc.constantFrom(1, 4, 13, 64),
      fc.array(debugStep, { minLength: 300, maxLength: 300 }),
      (capacity, blockSize, script) => {
        using pool = new Pool({ blockSize, capacity, debug: true });
        const live = new Map<number, number>();
        const stale: number[] = [];
        for (const step of script) {
          const handles = [...live.keys()];
          if (step.kind === "alloc") {
            const handle = pool.tryAlloc();
            if (handle >= 0) {
              assert.ok(!live.has(handle), "a live handle was handed out again");
              live.set(handle, -1);
            } else assert.equal(live.size, capacity);
          } else if (step.kind === "free" && handles.length > 0) {
            const handle = handles[step.pick % handles.length];
            pool.free(handle);
            live.delete(handle);
            stale.push(handle);
          } else if (step.kind === "write" && handles.length > 0) {
            const handle = handles[step.pick % handles.length];
            pool.view(handle)[blockSize - 1] = step.value;
            live.set(handle, step.value);
          } else if ((step.kind === "staleFree" || step.kind === "staleRead") && stale.length > 0) {
            const handle = stale[step.pick % stale.length];
            const code = step.kind === "staleFree" ? "DOUBLE_FREE" : "USE_AFTER_FREE";
            assert.throws(
              () => step.kind === "staleFree" ? pool.free(handle) : pool.offset(handle),
              (error: unknown) => error instanceof HotpathError && error.code === code,
            );
          }
          for (const [handle, value] of live) {
            if (value >= 0) assert.equal(pool.view(handle)[blockSize - 1], value);
          }
          steps++;
        }
        assert.equal(pool.check(), capacity);
        assert.equal(pool.stats().inUse, live.size);
      },
    ),
    { numRuns: 60 },
  );
  assert.equal(steps, 60 * 300);
});
