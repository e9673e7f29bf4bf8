/**
 * NUMA: the machine's topology (`topology()`), and where the calling thread runs:
 * `currentCpu()` is libc's sched_getcpu (no system call with glibc), `currentNode()` the getcpu
 * system call, one FFI call each. The answer is where the thread was at the call; an unpinned
 * thread may be moved right after (pin it with `affinity.pin`).
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { HotpathError } from "./errors.ts";
import { readTopology, type Topology } from "./numa_topology.ts";
import { type PagePlacement, whereIs } from "./numa_where.ts";

/** NUMA topology and placement. */
export interface Numa {
  /**
   * Nodes with their CPUs, memory and distances; each online CPU with its node, core, package
   * and caches; the CPUs and nodes this process may use; isolated CPUs; huge page sizes. Read
   * from sysfs and procfs at each call (a few hundred files on a big machine: not for a hot
   * path). A missing or malformed file gives a `degraded` answer, never an error: without NUMA
   * the machine is one node 0 holding every online CPU.
   */
  topology(): Topology;
  /**
   * On which NUMA node each page of `memory` is now (a Uint8Array over native memory, or a
   * Pool, Arena or ring side: their `bytes`). The kernel answers (move_pages in query mode);
   * untouched pages count as `notPresent`. Ranges past 65,536 pages are sampled evenly.
   */
  whereIs(memory: Uint8Array | { readonly bytes: Uint8Array }): PagePlacement;
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
  topology(): Topology {
    return readTopology("");
  },
  whereIs(memory: Uint8Array | { readonly bytes: Uint8Array }): PagePlacement {
    return whereIs(memory);
  },
  currentCpu(): number {
    return answer("numa.currentCpu", openNative().symbols.hp_current_cpu());
  },
  currentNode(): number {
    return answer("numa.currentNode", openNative().symbols.hp_current_node());
  },
});
