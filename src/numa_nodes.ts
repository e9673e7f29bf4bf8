/**
 * The facts placement needs from the topology, read once per thread and kept: which nodes
 * have memory this process may use, each CPU's node, and each node's neighbours by distance.
 * Reading the topology costs a few milliseconds (hundreds of sysfs files), so it happens at the
 * first placement or `currentNode()`, never on a hot path. Nodes and CPUs do not come and go
 * under a running trading system; a process that hot-plugs them calls `refreshNodes()`.
 *
 * @module
 */
import { CPUS_MAX } from "./affinity.ts";
import { readTopology, type Topology } from "./numa_topology.ts";

/** What placement knows of the machine. */
export interface NodeFacts {
  /** Nodes with memory that this process may use (its Mems_allowed), ascending. */
  memoryNodes: readonly number[];
  /** `nodeOfCpu[cpu]`: the node of each online CPU, -1 for CPUs the topology does not list. */
  nodeOfCpu: Int16Array;
  /** For each memory node, every memory node nearest first (itself, then by SLIT distance). */
  nearest: ReadonlyMap<number, readonly number[]>;
  /** `memoryNodeOfCpu[cpu]`: the CPU's node, or the nearest memory node when its own has none; -1 if unknown. */
  memoryNodeOfCpu: Int16Array;
}

let cached: NodeFacts | undefined;

/** The facts of `topology` (a fixture in tests). */
export function nodeFactsOf(topology: Topology): NodeFacts {
  const allowed = new Set(topology.processNodes);
  const memoryNodes = topology.nodes
    .filter((node) => node.memoryBytes > 0 && (allowed.size === 0 || allowed.has(node.id)))
    .map((node) => node.id)
    .sort((a, b) => a - b);
  const nodeOfCpu = new Int16Array(CPUS_MAX).fill(-1);
  for (const cpu of topology.cpus) if (cpu.id >= 0 && cpu.id < CPUS_MAX) nodeOfCpu[cpu.id] = cpu.node;
  const nearest = new Map<number, readonly number[]>();
  const position = new Map(topology.nodes.map((node, index) => [node.id, index]));
  for (const id of memoryNodes) {
    const node = topology.nodes[position.get(id)!];
    // distances[i] is to topology.nodes[i]; unknown distances sort last, then by number.
    const distance = (other: number) => node.distances[position.get(other)!] ?? Number.MAX_SAFE_INTEGER;
    const order = [...memoryNodes].sort((a, b) => (a === id ? -1 : b === id ? 1 : distance(a) - distance(b) || a - b));
    nearest.set(id, Object.freeze(order));
  }
  const memoryNodeOfCpu = new Int16Array(CPUS_MAX).fill(-1);
  for (let cpu = 0; cpu < CPUS_MAX; cpu++) {
    const node = nodeOfCpu[cpu];
    if (node < 0 || memoryNodes.length === 0) continue;
    if (nearest.has(node)) {
      memoryNodeOfCpu[cpu] = node;
      continue;
    }
    const row = topology.nodes[position.get(node)!]?.distances ?? [];
    const distance = (other: number) => row[position.get(other)!] ?? Number.MAX_SAFE_INTEGER;
    memoryNodeOfCpu[cpu] = [...memoryNodes].sort((a, b) => distance(a) - distance(b) || a - b)[0];
  }
  return { memoryNodes: Object.freeze(memoryNodes), nodeOfCpu, nearest, memoryNodeOfCpu };
}

/** This machine's facts, read at the first call. */
export function nodeFacts(): NodeFacts {
  cached ??= nodeFactsOf(readTopology(""));
  return cached;
}

/** Reads the topology again (after CPUs or nodes were hot-plugged). */
export function refreshNodes(): void {
  cached = undefined;
}
