import assert from "node:assert/strict";
import fc from "fast-check";
import { Arena } from "../mod.ts";
import { test } from "./harness.ts";

type Operation =
  | { kind: "alloc"; bytes: number; alignShift: number }
  | { kind: "mark" }
  | { kind: "rewind"; pick: number }
  | { kind: "reset" };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      bytes: fc.integer({ min: 1, max: 300 }),
      alignShift: fc.integer({ min: 0, max: 12 }),
    }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: "mark" } as const) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: "rewind", pick }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" } as const) },
);

/** The reference: one offset, rounded up and bumped. */
class ArenaModel {
  offset = 0;
  highWater = 0;
  allocations = 0;
  failed = 0;
  resets = 0;
  marks: number[] = [];

  constructor(readonly capacity: number) {}

  alloc(bytes: number, align: number): number {
    const start = Math.ceil(this.offset / align) * align;
    if (start + bytes > this.capacity) {
      this.failed += 1;
      return -1;
    }
    this.offset = start + bytes;
    this.highWater = Math.max(this.highWater, this.offset);
    this.allocations += 1;
    return start;
  }
}

const OPERATIONS_PER_RUN = 1000;
const RUNS = 110;
let operationsRun = 0;

test("Arena matches a bump model over random alloc/mark/rewind/reset sequences", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20_000 }),
      fc.array(operation, { minLength: OPERATIONS_PER_RUN, maxLength: OPERATIONS_PER_RUN }),
      (capacity, steps) => {
        using arena = new Arena({ capacity });
        const model = new ArenaModel(capacity);
        for (const step of steps) {
          if (step.kind === "alloc") {
            const align = 1 << step.alignShift;
            const bytes = 1 + ((step.bytes - 1) % capacity);
            const expected = model.alloc(bytes, align);
            const offset = arena.tryAlloc(bytes, align);
            assert.equal(offset, expected);
            if (offset >= 0) {
              assert.equal(arena.ptr(offset) % align, 0);
              assert.ok(offset + bytes <= arena.bytes.length, "allocation outside the mapping");
            }
          } else if (step.kind === "mark") {
            model.marks.push(arena.mark());
          } else if (step.kind === "rewind") {
            // Offset 0 is always a valid mark; later marks are valid while not ahead of the offset.
            const valid = [0, ...model.marks.filter((mark) => mark <= model.offset)];
            const mark = valid[step.pick % valid.length];
            arena.rewind(mark);
            model.offset = mark;
          } else {
            arena.reset();
            model.offset = 0;
            model.resets += 1;
          }
          const stats = arena.stats();
          assert.equal(stats.offset, model.offset);
          assert.equal(stats.highWater, model.highWater);
          assert.equal(stats.allocations, model.allocations);
          assert.equal(stats.failedAllocations, model.failed);
          assert.equal(stats.resets, model.resets);
          operationsRun += 1;
        }
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(operationsRun >= 100_000, `only ${operationsRun} operations ran`);
});
