/**
 * How much of a stretch of wall time the calling thread actually ran: its CPU time from libc's
 * `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` through FFI (Deno refuses /proc/thread-self without
 * --allow-all). On a shared 2-core machine this tells a run in which two Workers really had a
 * core each from one in which another process took one of them.
 *
 * @module
 */
import { adapter } from "../ffi/runtime.ts";
import type { SymbolSpec } from "../ffi/symbols.ts";
import { clockNs } from "../mod.ts";

const symbols = {
  /** int clock_gettime(clockid_t clock, struct timespec *now) */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Record<string, SymbolSpec>;

const CLOCK_THREAD_CPUTIME_ID = 3;

/** A point in time: wall (hotpath's clock) and this thread's CPU time, in ns. */
export interface ThreadStamp {
  wallNs: number;
  cpuNs: number;
}

/** A clock of the calling thread; undefined where libc.so.6 cannot be opened (not glibc Linux). */
export function threadClock(): (() => ThreadStamp) | undefined {
  let clockGettime: (clock: number, now: ArrayBufferView | null) => number;
  try {
    clockGettime = adapter.open("libc.so.6", symbols).clock_gettime;
  } catch {
    return undefined;
  }
  const wall = clockNs();
  const now = new BigInt64Array(2);
  return () => {
    const wallNs = wall();
    if (clockGettime(CLOCK_THREAD_CPUTIME_ID, now) !== 0) return { wallNs, cpuNs: Number.NaN };
    return { wallNs, cpuNs: Number(now[0]) * 1e9 + Number(now[1]) };
  };
}

/**
 * The share of the wall time from `before` to `after` in which the thread did not run (it
 * waited for a CPU, or blocked): 0 to 1, 0 when unknown.
 */
export function idleShare(before: ThreadStamp | undefined, after: ThreadStamp | undefined): number {
  if (before === undefined || after === undefined) return 0;
  const wall = after.wallNs - before.wallNs;
  const cpu = after.cpuNs - before.cpuNs;
  if (!(wall > 0) || !Number.isFinite(cpu)) return 0;
  return Math.min(1, Math.max(0, 1 - cpu / wall));
}
