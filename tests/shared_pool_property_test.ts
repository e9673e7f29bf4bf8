import assert from "node:assert/strict";
import fc from "fast-check";
import { HotpathError, SharedPool } from "../mod.ts";
import { test } from "./harness.ts";

/** Operations through one of three attachments of one pool; `pick` chooses a live handle. */
type Operation =
  | { kind: "alloc"; by: number }
  | { kind: "free"; by: number; pick: number }
  | { kind: "doubleFree"; by: number; pick: number }
  | { kind: "badHandle"; by: number; value: number }
  | { kind: "reattach"; by: number };

const by = fc.integer({ min: 0, max: 2 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 30, arbitrary: by.map((by) => ({ kind: "alloc", by }) as const) },
  { weight: 25, arbitrary: fc.tuple(by, fc.nat()).map(([by, pick]) => ({ kind: "free", by, pick }) as const) },
  { weight: 3, arbitrary: fc.tuple(by, fc.nat()).map(([by, pick]) => ({ kind: "doubleFree", by, pick }) as const) },
  {
    weight: 2,
    arbitrary: fc.tuple(by, fc.constantFrom(-1, 1.5, Number.NaN, 2 ** 32, 1e9)).map(([by, value]) =>
      ({ kind: "badHandle", by, value }) as const
    ),
  },
  { weight: 2, arbitrary: by.map((by) => ({ kind: "reattach", by }) as const) },
);

/**
 * The model: the set of allocated handles. A SharedPool may refuse an allocation while free
 * blocks sit in other attachments' caches, so a refusal is checked against what the pool says
 * is free outside them: nothing on the shared list, nothing in the refusing cache, no growth left.
 */
function expectCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => error instanceof HotpathError && error.code === code);
}

function apply(pools: SharedPool[], live: number[], op: Operation, maxCapacity: number): void {
  const pool = pools[op.by];
  switch (op.kind) {
    case "alloc": {
      const handle = pool.tryAlloc();
      if (handle < 0) {
        const stats = pool.stats();
        assert.equal(stats.freeListed, 0, "refused with blocks on the shared list");
        assert.equal(stats.caches.find((cache) => cache.mine)?.cached, 0, "refused with blocks in its own cache");
        assert.equal(stats.capacity, maxCapacity, "refused while it could still grow");
        return;
      }
      assert.ok(handle >= 0 && handle < maxCapacity && !live.includes(handle), `handle ${handle} handed out twice`);
      live.push(handle);
      return;
    }
    case "free": {
      if (live.length === 0) return;
      const [handle] = live.splice(op.pick % live.length, 1);
      pool.free(handle);
      return;
    }
    case "doubleFree": {
      if (live.length > 0) {
        const [handle] = live.splice(op.pick % live.length, 1);
        pool.free(handle);
        expectCode(() => pools[(op.by + 1) % 3].free(handle), "DOUBLE_FREE");
      }
      return;
    }
    case "badHandle":
      expectCode(() => pool.free(op.value), "INVALID_HANDLE");
      return;
    case "reattach":
      pools[op.by] = SharedPool.attach(pool.share());
      pool.close();
      return;
  }
}

test("SharedPool agrees with a set model across three attachments, fixed and growing", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 2, max: 8 }),
      fc.array(operation, { maxLength: 300 }),
      (capacity, extra, cache, operations) => {
        const grow = extra > 0 ? { chunk: Math.max(1, extra >> 1), maxCapacity: capacity + extra } : undefined;
        const maxCapacity = capacity + extra;
        const first = new SharedPool({ blockSize: 16, capacity, grow, cache });
        const pools = [first, SharedPool.attach(first.share()), SharedPool.attach(first.share())];
        const live: number[] = [];
        try {
          for (const op of operations) {
            apply(pools, live, op, maxCapacity);
            assert.equal(pools[0].stats().inUse, live.length);
          }
          assert.equal(pools[0].check(), live.length);
          for (const handle of live) pools[handle % 3].free(handle);
          assert.equal(pools[0].check(), 0);
        } finally {
          for (const pool of pools) pool.close();
        }
      },
    ),
    { numRuns: 150 },
  );
});
