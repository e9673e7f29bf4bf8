/**
 * The placement options every region takes (Pool, Arena, SharedPool, Ring): which NUMA node
 * its pages go to, huge pages and mlock. They are checked and resolved here, in the creating
 * thread, into the `Placement` words of the creation config (zig/src/abi/config.zig); the
 * library binds the mapping (mbind) before its first touch and pre-faults it after.
 *
 * - `{ node: n }` binds to node n (strict: creation fails rather than use another node);
 *   `{ node: n, strict: false }` prefers it and falls back when it is full.
 * - `"LocalPreferred"`: the creating thread's node, others when it is full.
 * - `"LocalOnly"`: the creating thread's node, strictly.
 * - `"RoundRobin"`: successive regions of this thread go to successive nodes (preferred).
 * - `"Interleaved"`: pages spread across every node this process may use.
 *
 * @module
 */
import { PLACEMENT } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { currentCpuOf, kernelNodeOf } from "./numa_current.ts";
import { nodeFacts } from "./numa_nodes.ts";
import { describe, integerIn, readOptions } from "./validate.ts";

/** The placement policies. */
export type NumaPolicy = "LocalPreferred" | "LocalOnly" | "RoundRobin" | "Interleaved";

/** Where a region's pages go: a policy, or one node. */
export type Placement = NumaPolicy | { readonly node: number; readonly strict?: boolean };

/** The memory options every region takes. */
export interface MemoryOptions {
  /**
   * Where the pages go. Default: the thread's default placement (`numa.pinThread`,
   * `numa.setDefaultPlacement`), else the kernel's (the node of the thread that first touches
   * a page: the creating thread, since regions are pre-faulted).
   */
  placement?: Placement;
  /**
   * `"transparent"`: ask for transparent huge pages (MADV_HUGEPAGE, 2 MiB aligned);
   * `"explicit"`: reserved huge pages (MAP_HUGETLB), base pages when none are free. Either may
   * fall back, so `numa.placementOf(region)` reports what was obtained. Default: false.
   */
  hugePages?: "transparent" | "explicit" | false;
  /** Lock the pages in memory (mlock): never swapped out. MEMLOCK_LIMIT past RLIMIT_MEMLOCK. Default: false. */
  lock?: boolean;
}

/** The keys of `MemoryOptions`, for the option readers of each region kind. */
export const MEMORY_OPTION_KEYS = ["placement", "hugePages", "lock"] as const;

/** Kernel policy names, as `numa.placementOf` reports them. */
export type KernelPolicy = "default" | "preferred" | "bind" | "interleave";

/** A placement resolved against this machine, as the library will apply it. */
export interface ResolvedPlacement {
  policy: KernelPolicy;
  /** The nodes of the policy (empty for "default"). */
  nodes: readonly number[];
  hugePages: "transparent" | "explicit" | false;
  lock: boolean;
  /** What was asked: the option, or the thread's default. */
  asked: Placement | undefined;
}

const POLICIES: readonly NumaPolicy[] = ["LocalPreferred", "LocalOnly", "RoundRobin", "Interleaved"];
const POLICY_CODES: Record<KernelPolicy, number> = { default: 0, preferred: 1, bind: 2, interleave: 3 };
const HUGE_CODES = { false: 0, transparent: 1, explicit: 2 } as const;
/** Nodes a Placement's bitmask names. */
export const PLACEMENT_NODES_MAX = 64;

/** The one node a placement puts memory on, -1 when none in particular (default, interleave). */
export function placedNode(placement: ResolvedPlacement): number {
  return placement.policy !== "default" && placement.policy !== "interleave" && placement.nodes.length === 1
    ? placement.nodes[0]
    : -1;
}

/** No placement: the kernel's default, base pages, not locked. */
export const NO_PLACEMENT: ResolvedPlacement = Object.freeze({
  policy: "default",
  nodes: Object.freeze([]),
  hugePages: false,
  lock: false,
  asked: undefined,
});

let threadDefault: Placement | undefined;
let roundRobinNext = 0;

/** Checks a `placement` value; returns it frozen (a copy, so later edits by the caller do not count). */
export function checkPlacement(where: string, value: unknown): Placement | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    if ((POLICIES as readonly string[]).includes(value)) return value as NumaPolicy;
  } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const given = readOptions(`${where}: placement`, value, ["node", "strict"]);
    const node = integerIn(where, "placement.node", given.node, 0, PLACEMENT_NODES_MAX - 1);
    if (given.strict !== undefined && typeof given.strict !== "boolean") {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: placement.strict must be true or false; got ${describe(given.strict)}.`,
      );
    }
    return Object.freeze({ node, strict: given.strict ?? true });
  }
  throw new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: placement must be { node }, "LocalPreferred", "LocalOnly", "RoundRobin" or "Interleaved"; got ` +
      `${describe(value)}.`,
  );
}

/**
 * Sets the placement of regions this thread creates without one (undefined: the kernel's
 * default). It is resolved once here, so a node that does not exist is refused now rather than
 * at every later creation.
 */
export function setThreadDefault(where: string, placement: unknown): void {
  const checked = checkPlacement(where, placement);
  if (checked !== undefined) policyFor(where, checked);
  threadDefault = checked;
}

/** The placement this thread's regions get when they name none. */
export function threadDefaultPlacement(): Placement | undefined {
  return threadDefault;
}

/** Checks the memory options read from a region's options and resolves them for this thread. */
export function resolvePlacement(
  where: string,
  given: { placement?: unknown; hugePages?: unknown; lock?: unknown },
): ResolvedPlacement {
  const checked = checkMemoryOptions(where, given);
  const asked = checked.placement ?? threadDefault;
  const kernel = asked === undefined ? { policy: "default" as const, nodes: [] } : policyFor(where, asked);
  return { ...kernel, hugePages: checked.hugePages ?? false, lock: checked.lock === true, asked };
}

/**
 * Checks the memory options without resolving them (for a structure that passes them on to
 * the regions it creates): a frozen copy of the placement, so a getter is read once.
 */
export function checkMemoryOptions(
  where: string,
  given: { placement?: unknown; hugePages?: unknown; lock?: unknown },
): MemoryOptions {
  const placement = checkPlacement(where, given.placement);
  const hugePages = given.hugePages;
  if (hugePages !== undefined && hugePages !== false && hugePages !== "transparent" && hugePages !== "explicit") {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: hugePages must be "transparent", "explicit" or false; got ${describe(hugePages)}.`,
    );
  }
  if (given.lock !== undefined && typeof given.lock !== "boolean") {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: lock must be true or false; got ${describe(given.lock)}.`);
  }
  return { placement, hugePages, lock: given.lock };
}

function policyFor(where: string, asked: Placement): { policy: KernelPolicy; nodes: readonly number[] } {
  const { memoryNodes } = nodeFacts();
  if (memoryNodes.length === 0) throw noMemoryNodes(where);
  if (typeof asked === "object") {
    if (!memoryNodes.includes(asked.node)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: placement node ${asked.node} does not exist here, or has no memory this process may use ` +
          `(nodes it may use: ${memoryNodes.join(", ")}; see numa.topology()).`,
      );
    }
    return { policy: asked.strict === false ? "preferred" : "bind", nodes: Object.freeze([asked.node]) };
  }
  switch (asked) {
    case "LocalPreferred":
      return { policy: "preferred", nodes: Object.freeze([localMemoryNode()]) };
    case "LocalOnly":
      return { policy: "bind", nodes: Object.freeze([localMemoryNode()]) };
    case "RoundRobin": {
      const node = memoryNodes[roundRobinNext++ % memoryNodes.length];
      return { policy: "preferred", nodes: Object.freeze([node]) };
    }
    case "Interleaved":
      return { policy: "interleave", nodes: memoryNodes };
  }
}

/** The calling thread's node, or its nearest node with memory when its own has none. */
function localMemoryNode(): number {
  const { memoryNodes, memoryNodeOfCpu } = nodeFacts();
  const nearest = memoryNodeOfCpu[currentCpuOf()];
  if (nearest !== undefined && nearest >= 0) return nearest;
  // A CPU the table does not know (hot-plugged since it was read): ask the kernel.
  const node = kernelNodeOf();
  return memoryNodes.includes(node) ? node : memoryNodes[0];
}

/** The error of a machine whose topology shows no node with memory this process may use. */
export function noMemoryNodes(where: string): HotpathError {
  return new HotpathError(
    "UNSUPPORTED",
    `${where}: the topology lists no NUMA node with memory this process may use, so there is nothing to place ` +
      "on (see numa.topology().problems). Create regions without placement.",
  );
}

/** Writes `placement` into a creation config's words at the config's `placement` offset. */
export function writePlacement(words: Uint32Array, configOffset: number, placement: ResolvedPlacement): void {
  const at = (field: number) => (configOffset + field) >>> 2;
  let low = 0;
  let high = 0;
  for (const node of placement.nodes) {
    if (node < 32) low |= 1 << node;
    else high |= 1 << (node - 32);
  }
  words[at(PLACEMENT.policy)] = POLICY_CODES[placement.policy];
  words[at(PLACEMENT.nodesLow)] = low >>> 0;
  words[at(PLACEMENT.nodesHigh)] = high >>> 0;
  words[at(PLACEMENT.hugePages)] = HUGE_CODES[`${placement.hugePages}`];
  words[at(PLACEMENT.lock)] = placement.lock ? 1 : 0;
}

/** True when `placement` asks nothing of the kernel (no bind, huge pages or lock). */
export function isDefaultPlacement(placement: ResolvedPlacement): boolean {
  return placement.policy === "default" && placement.hugePages === false && !placement.lock;
}
