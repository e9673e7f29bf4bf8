/**
 * The NUMA and CPU topology as the library reads it from sysfs and procfs
 * (zig/src/system/topology.zig): one JSON document, parsed here. The reading happens in Zig
 * because Deno refuses JavaScript reads of /sys without --allow-all.
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { LIMITS, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { describe } from "./validate.ts";

/** One NUMA node. */
export interface NumaNode {
  /** The kernel's node number. */
  id: number;
  /** Its CPUs that are online (empty for a node of memory only). */
  cpus: number[];
  /** Memory of the node (0 for a node without memory). */
  memoryBytes: number;
  /** Its memory free now. */
  freeBytes: number;
  /** SLIT distance to each node of `nodes`, in the same order (10 is local); empty if unknown. */
  distances: number[];
}

/** One cache a CPU uses. */
export interface CpuCache {
  /** 1 for L1, 2 for L2, ... */
  level: number;
  /** What it caches ("Unknown" when sysfs says something else). */
  type: "Data" | "Instruction" | "Unified" | "Unknown";
  /** 0 when sysfs does not say. */
  sizeBytes: number;
  /** The CPUs that share this cache (the CPU itself included). */
  sharedWith: number[];
}

/** One online CPU. */
export interface CpuInfo {
  /** The kernel's CPU number. */
  id: number;
  /** Its NUMA node, -1 if no node lists it. */
  node: number;
  /** Core number as sysfs gives it (unique within a package), -1 when it does not. */
  core: number;
  /** Package (socket) number, -1 when sysfs does not say. */
  package: number;
  /** Its caches, from L1 on. */
  caches: CpuCache[];
}

/** A huge page size the kernel offers, with its reserved pool (explicit huge pages). */
export interface HugePageSize {
  /** Bytes of one page. */
  sizeBytes: number;
  /** Pages reserved for explicit huge page mappings (`nr_hugepages`). */
  total: number;
  /** Of those, free now. */
  free: number;
}

/** What `numa.topology()` answers. */
export interface Topology {
  /** CPUs online now. */
  onlineCpus: number[];
  /** CPUs the kernel could bring online (offline ones included). */
  possibleCpus: number[];
  /** CPUs the scheduler leaves alone (`isolcpus`). */
  isolatedCpus: number[];
  /** CPUs without the scheduler tick (`nohz_full`). */
  nohzFullCpus: number[];
  /** The CPU affinity of the process's main thread (`Cpus_allowed_list`). */
  processCpus: number[];
  /** The memory nodes the process may use (`Mems_allowed_list`: its cpuset's). */
  processNodes: number[];
  /** The CPUs of the process's cgroup v2 cpuset, when it has one. */
  cpusetCpus?: number[];
  /** The NUMA nodes online, by id. */
  nodes: NumaNode[];
  /** Each online CPU, by id. */
  cpus: CpuInfo[];
  /** Huge page sizes the kernel offers. */
  hugePages: HugePageSize[];
  /**
   * When the kernel backs memory with transparent huge pages: "always", "madvise" (regions
   * created with `hugePages: "transparent"`), "never", or "unknown".
   */
  transparentHugePages: "always" | "madvise" | "never" | "unknown";
  /** True when some file was missing or malformed; `problems` says which parts are guesses. */
  degraded: boolean;
  /** What was missing or malformed, each once. */
  problems: string[];
}

/**
 * The topology under `root`: "" for this machine, a directory holding a copy of `sys/` and
 * `proc/self/` for tests (tests/fixtures/topology).
 */
export function readTopology(root: string, where = "numa.topology"): Topology {
  if (typeof root !== "string" || (root !== "" && !root.startsWith("/")) || root.includes("\0")) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: root must be "" or an absolute path; got ${describe(root)}.`);
  }
  const path = new TextEncoder().encode(root);
  const out = new Uint8Array(LIMITS.topologyBytesMax);
  const length = openNative().symbols.hp_numa_topology(path.length > 0 ? path : null, path.length, out, out.length);
  if (length === STATUS.unsupported) {
    throw new HotpathError("UNSUPPORTED", `${where}: reading the topology is supported on Linux only.`);
  }
  if (length === STATUS.exhausted) {
    throw new HotpathError("TOO_LARGE", `${where}: the topology does not fit ${LIMITS.topologyBytesMax} bytes.`);
  }
  if (length < 0) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: the root path is too long (${path.length} bytes).`);
  }
  const document = JSON.parse(new TextDecoder().decode(out.subarray(0, length))) as Topology & { supported?: boolean };
  delete document.supported;
  return document;
}
