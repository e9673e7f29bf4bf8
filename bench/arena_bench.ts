/**
 * Arena bump allocation (with a reset every 1024 allocations) against JS objects that the
 * garbage collector has to reclaim.
 *
 * @module
 */
import { bench, do_not_optimize, summary } from "mitata";
import { Arena } from "../mod.ts";
import { SmallOrder } from "./baselines.ts";
import { NAMES } from "./names.ts";
import { type Distribution, measureLatency } from "./latency.ts";
import { repeated } from "./repeat.ts";

const PER_RESET = 1024;

/** Registers the arena benchmarks with mitata. */
export function registerArenaBenchmarks(): void {
  const arena = new Arena({ capacity: 1 << 20 });
  let allocated = 0;
  summary(() => {
    bench(
      NAMES.arena,
      repeated(NAMES.arena, () => {
        if (++allocated === PER_RESET) {
          allocated = 0;
          arena.reset();
        }
        do_not_optimize(arena.alloc(64));
      }),
    );
    bench(NAMES.arenaObjects, repeated(NAMES.arenaObjects, () => do_not_optimize(new SmallOrder(1, 100.5, 10, 1))));
  });
}

/** Latency of arena allocations (batches of 64, reset untimed between batches when needed). */
export function arenaLatencies(samples: number): Distribution[] {
  const batch = 64;
  const arena = new Arena({ capacity: 1 << 20 });
  const result = measureLatency("arena_alloc (64B)", { samples, batch }, () => {
    for (let index = 0; index < batch; index++) arena.alloc(64);
  }, () => {
    if (arena.mark() > (1 << 20) - 64 * batch) arena.reset();
  });
  arena.close();
  return [result];
}
