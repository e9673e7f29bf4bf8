/**
 * NUMA: the machine's topology (`topology()`), where the calling thread runs (`currentCpu()`,
 * `currentNode()`), where a region's pages are and what kind they are (`whereIs`,
 * `placementOf`), and the default placement of what this thread creates (`pinThread`,
 * `setDefaultPlacement`). The answer of `currentCpu()` is where the thread was at the call;
 * an unpinned thread may be moved right after (pin it with `affinity.pin` or `pinThread`).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { affinity } from "./affinity.ts";
import { readTopology, type Topology } from "./numa_topology.ts";
import { type PagePlacement, whereIs } from "./numa_where.ts";
import { currentCpuOf, currentNodeOf } from "./numa_current.ts";
import { nodeFacts } from "./numa_nodes.ts";
import { type Placement, setThreadDefault, threadDefaultPlacement } from "./placement.ts";
import { type PlacementFallbacks, placementFallbacks, placementOf, type RegionPlacement } from "./placement_report.ts";
import { integerIn } from "./validate.ts";

/** What `numa.pinThread` did. */
export interface PinnedThread {
  /** The CPU the calling thread now runs on, only. */
  cpu: number;
  /** That CPU's node, now the default placement of regions this thread creates. */
  node: number;
}

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
  /**
   * What a region got: its pages by node, page size, huge-page, resident and locked bytes (the
   * kernel's /proc/self/smaps), what its creation asked, and what fell back. Reads smaps: a
   * millisecond or more, not for a hot path.
   */
  placementOf(region: Uint8Array | { readonly bytes: Uint8Array }): RegionPlacement;
  /** This thread's placement fallbacks, counted at each region's creation. */
  fallbacks(): PlacementFallbacks;
  /** The CPU the calling thread runs on (sched_getcpu: no system call). */
  currentCpu(): number;
  /**
   * The NUMA node the calling thread runs on (0 on a machine without NUMA): its CPU looked up
   * in the topology, read once per thread.
   */
  currentNode(): number;
  /**
   * Pins the calling thread (a Worker, or the main thread) to `cpu` and makes that CPU's node
   * the default placement (`{ node, strict: false }`) of the regions it creates afterwards:
   * the pattern of a trading system's hot threads. INVALID_ARGUMENT for a CPU it may not use.
   */
  pinThread(cpu: number): PinnedThread;
  /** Sets (or with undefined clears) the placement of regions this thread creates without one. */
  setDefaultPlacement(placement: Placement | undefined): void;
  /** The placement of regions this thread creates without one, if any. */
  defaultPlacement(): Placement | undefined;
}

/**
 * Topology, where the calling thread runs, and where memory is.
 *
 * @example
 * ```ts
 * import { numa, Pool } from "@hotpath/core";
 * console.log(`CPU ${numa.currentCpu()} on node ${numa.currentNode()}`);
 * using book = new Pool({ blockSize: 64, capacity: 4096, placement: "LocalOnly" });
 * console.log(numa.placementOf(book).nodes.byNode); // [pages on node 0, ...]
 * ```
 */
export const numa: Numa = Object.freeze({
  topology(): Topology {
    return readTopology("");
  },
  whereIs(memory: Uint8Array | { readonly bytes: Uint8Array }): PagePlacement {
    return whereIs(memory);
  },
  placementOf(region: Uint8Array | { readonly bytes: Uint8Array }): RegionPlacement {
    return placementOf(region);
  },
  fallbacks(): PlacementFallbacks {
    return placementFallbacks();
  },
  currentCpu(): number {
    return currentCpuOf();
  },
  currentNode(): number {
    return currentNodeOf();
  },
  pinThread(cpu: number): PinnedThread {
    const where = "numa.pinThread";
    const checked = integerIn(where, "cpu", cpu, 0, nodeFacts().nodeOfCpu.length - 1);
    const node = nodeFacts().nodeOfCpu[checked];
    if (node < 0) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: CPU ${checked} is not online (see numa.topology()).`);
    }
    affinity.pin(checked);
    // A CPU of a memory-less node: its nearest memory, as the kernel would choose it.
    setThreadDefault(where, nodeFacts().memoryNodes.includes(node) ? { node, strict: false } : "LocalPreferred");
    return { cpu: checked, node };
  },
  setDefaultPlacement(placement: Placement | undefined): void {
    setThreadDefault("numa.setDefaultPlacement", placement);
  },
  defaultPlacement(): Placement | undefined {
    return threadDefaultPlacement();
  },
});
