import assert from "node:assert/strict";
import fc from "fast-check";
import { HotpathError, Pool } from "../mod.ts";
import { test } from "./harness.ts";

/** Operations on a pool; `pick` chooses among live or free handles. */
type Operation =
  | { kind: "alloc" }
  | { kind: "free"; pick: number }
  | { kind: "doubleFree"; pick: number }
  | { kind: "badHandle"; value: number }
  | { kind: "allocMany"; count: number }
  | { kind: "freeMany"; count: number }
  | { kind: "reset" };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 30, arbitrary: fc.constant({ kind: "alloc" } as const) },
  { weight: 25, arbitrary: fc.nat().map((pick) => ({ kind: "free", pick }) as const) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: "doubleFree", pick }) as const) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(-1, 1.5, Number.NaN, 2 ** 32, 1e9).map((value) =>
      ({ kind: "badHandle", value }) as const
    ),
  },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 20 }).map((count) => ({ kind: "allocMany", count }) as const) },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 20 }).map((count) => ({ kind: "freeMany", count }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" } as const) },
);

/**
 * The trivially correct reference: a LIFO stack of freed handles, the next never-used handle,
 * and a set of live ones. Never-used handles (including a grown chunk) are handed out in order,
 * only when no freed handle is waiting.
 */
class PoolModel {
  free: number[] = [];
  next = 0;
  live = new Set<number>();
  allocations = 0;
  frees = 0;
  failed = 0;
  highWater = 0;
  growths = 0;

  constructor(public capacity: number, readonly chunk = 0, readonly maxCapacity = capacity) {
    this.reset();
  }

  reset(): void {
    this.frees += this.live.size;
    this.live.clear();
    this.free = [];
    this.next = 0;
  }

  grow(): boolean {
    if (this.chunk === 0 || this.capacity === this.maxCapacity) return false;
    this.capacity = Math.min(this.maxCapacity, this.capacity + this.chunk);
    this.growths += 1;
    return true;
  }

  alloc(): number {
    if (this.free.length === 0 && this.next === this.capacity) this.grow();
    const handle = this.free.length > 0 ? this.free.pop() : this.next < this.capacity ? this.next++ : undefined;
    if (handle === undefined) {
      this.failed += 1;
      return -1;
    }
    this.live.add(handle);
    this.allocations += 1;
    this.highWater = Math.max(this.highWater, this.live.size);
    return handle;
  }

  release(handle: number): void {
    assert.ok(this.live.delete(handle));
    this.free.push(handle);
    this.frees += 1;
  }
}

const OPERATIONS_PER_RUN = 1000;
const RUNS = 110;
let operationsRun = 0;

function expectCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => error instanceof HotpathError && error.code === code);
}

function tag(pool: Pool, handle: number, view: DataView): void {
  view.setUint32(pool.offset(handle), handle ^ 0x5A5A_5A5A, true);
}

function checkTag(pool: Pool, handle: number, view: DataView): void {
  assert.equal(view.getUint32(pool.offset(handle), true), handle ^ 0x5A5A_5A5A, `block ${handle} was overwritten`);
}

function apply(pool: Pool, model: PoolModel, step: Operation, view: DataView): void {
  const live = [...model.live];
  switch (step.kind) {
    case "alloc": {
      const expected = model.alloc();
      assert.equal(pool.tryAlloc(), expected);
      if (expected >= 0) tag(pool, expected, view);
      break;
    }
    case "free": {
      if (live.length === 0) break;
      const handle = live[step.pick % live.length];
      checkTag(pool, handle, view);
      pool.free(handle);
      model.release(handle);
      break;
    }
    case "doubleFree": {
      const notLive = Array.from({ length: model.capacity }, (_, index) => index).filter((h) => !model.live.has(h));
      if (notLive.length === 0) break;
      expectCode(() => pool.free(notLive[step.pick % notLive.length]), "DOUBLE_FREE");
      break;
    }
    case "badHandle":
      expectCode(() => pool.free(step.value), "INVALID_HANDLE");
      break;
    case "allocMany": {
      const out = new Uint32Array(step.count);
      while (model.capacity - model.live.size < step.count && model.grow()) {
        // The pool grows before a batch that does not fit, as many chunks as it needs.
      }
      const expected = Array.from({ length: step.count }, () => model.alloc()).filter((handle) => handle >= 0);
      assert.equal(pool.allocMany(out), expected.length);
      assert.deepEqual([...out.subarray(0, expected.length)], expected);
      for (const handle of expected) tag(pool, handle, view);
      break;
    }
    case "freeMany": {
      const chosen = live.slice(0, step.count);
      for (const handle of chosen) checkTag(pool, handle, view);
      pool.freeMany(Uint32Array.from(chosen));
      for (const handle of chosen) model.release(handle);
      break;
    }
    case "reset":
      pool.reset();
      model.reset();
      break;
  }
}

function checkAgainstModel(pool: Pool, model: PoolModel): void {
  const stats = pool.stats();
  assert.equal(stats.inUse, model.live.size);
  assert.equal(stats.inUse + stats.free, model.capacity);
  assert.equal(stats.highWater, model.highWater);
  assert.equal(stats.allocations, model.allocations);
  assert.equal(stats.frees, model.frees);
  assert.equal(stats.failedAllocations, model.failed);
  assert.equal(stats.capacity, model.capacity);
  assert.equal(stats.growths, model.growths);
  for (let handle = 0; handle < model.capacity; handle++) {
    assert.equal(pool.isAllocated(handle), model.live.has(handle), `handle ${handle}`);
  }
  for (const handle of model.live) {
    assert.ok(pool.offset(handle) + pool.blockSize <= pool.bytes.length, "block outside the mapping");
  }
}

const growth = fc.option(
  fc.record({ chunk: fc.integer({ min: 1, max: 16 }), extra: fc.integer({ min: 1, max: 40 }) }),
  { nil: undefined },
);

test("Pool matches a LIFO model over random alloc/free/batch/reset sequences, fixed and growing", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 48 }),
      fc.constantFrom(4, 8, 12, 64, 100),
      growth,
      fc.array(operation, { minLength: OPERATIONS_PER_RUN, maxLength: OPERATIONS_PER_RUN }),
      (capacity, blockSize, grows, steps) => {
        const maxCapacity = capacity + (grows?.extra ?? 0);
        const chunk = Math.min(grows?.chunk ?? 0, maxCapacity);
        using pool = new Pool({
          blockSize,
          capacity,
          debug: false,
          ...(grows === undefined ? {} : { grow: { chunk, maxCapacity } }),
        });
        const model = new PoolModel(capacity, chunk, maxCapacity);
        const view = new DataView(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength);
        for (const step of steps) {
          apply(pool, model, step, view);
          checkAgainstModel(pool, model);
          operationsRun += 1;
        }
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(operationsRun >= 100_000, `only ${operationsRun} operations ran`);
});
