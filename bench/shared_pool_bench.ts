/**
 * SharedPool alloc+free on one thread (the main thread), release and debug mode, in a mitata
 * summary of its own; bench/main.ts divides them by Pool alloc+free from bench/pool_bench.ts,
 * measured in the same run.
 *
 * @module
 */
import { bench, do_not_optimize, summary } from "mitata";
import { SharedPool } from "../mod.ts";
import { NAMES } from "./names.ts";
import { repeated } from "./repeat.ts";

/** Registers the SharedPool benchmarks with mitata; the pools live as long as the process. */
export function registerSharedPoolBenchmarks(): void {
  const shared = new SharedPool({ blockSize: 64, capacity: 4096, debug: false });
  const sharedDebug = new SharedPool({ blockSize: 64, capacity: 4096, debug: true });
  summary(() => {
    bench(
      NAMES.sharedPool,
      repeated(NAMES.sharedPool, () => {
        const handle = shared.alloc();
        shared.free(handle);
        do_not_optimize(handle);
      }),
    );
    bench(
      NAMES.sharedPoolDebug,
      repeated(NAMES.sharedPoolDebug, () => {
        const handle = sharedDebug.alloc();
        sharedDebug.free(handle);
        do_not_optimize(handle);
      }),
    );
  });
}
