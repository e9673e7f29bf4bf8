/**
 * Where the calling thread runs. `currentCpu()` is libc's sched_getcpu (glibc reads it from
 * rseq or the vDSO: no system call). `currentNode()` looks that CPU up in the node table of
 * the topology (read once per thread), which costs one FFI call instead of the getcpu system
 * call; a CPU the table does not know (hot-plugged since) asks the kernel.
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { HotpathError } from "./errors.ts";
import { nodeFacts } from "./numa_nodes.ts";

function answer(where: string, value: number): number {
  if (value >= 0) return value;
  throw new HotpathError("UNSUPPORTED", `${where}: getcpu is supported on Linux only.`);
}

/** The CPU the calling thread runs on. */
export function currentCpuOf(where = "numa.currentCpu"): number {
  return answer(where, openNative().symbols.hp_current_cpu());
}

/** The NUMA node the calling thread runs on, through the CPU-to-node table. */
export function currentNodeOf(where = "numa.currentNode"): number {
  const cpu = currentCpuOf(where);
  const node = nodeFacts().nodeOfCpu[cpu];
  return node >= 0 ? node : kernelNodeOf(where);
}

/** The getcpu system call's answer: no table involved. */
export function kernelNodeOf(where = "numa.currentNode"): number {
  return answer(where, openNative().symbols.hp_current_node());
}
