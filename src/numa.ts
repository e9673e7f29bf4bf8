/**
 * NUMA: where the calling thread runs. `currentCpu()` and `currentNode()` read getcpu through
 * the vDSO (no system call on x86-64): one FFI call each. The answer is where the thread was
 * at the call; an unpinned thread may be moved right after (pin it with `affinity.pin`).
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { HotpathError } from "./errors.ts";

/** NUMA topology and placement. */
export interface Numa {
  /** The CPU the calling thread runs on. */
  currentCpu(): number;
  /** The NUMA node the calling thread runs on (0 on a machine without NUMA). */
  currentNode(): number;
}

function answer(where: string, value: number): number {
  if (value >= 0) return value;
  throw new HotpathError("UNSUPPORTED", `${where}: getcpu is supported on Linux only.`);
}

/**
 * Where the calling thread runs.
 *
 * @example
 * ```ts
 * import { numa } from "@hotpath/core";
 * console.log(`CPU ${numa.currentCpu()} on node ${numa.currentNode()}`);
 * ```
 */
export const numa: Numa = Object.freeze({
  currentCpu(): number {
    return answer("numa.currentCpu", openNative().symbols.hp_current_cpu());
  },
  currentNode(): number {
    return answer("numa.currentNode", openNative().symbols.hp_current_node());
  },
});
