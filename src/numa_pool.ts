/**
 * `NumaPool`: one Pool per NUMA node behind one API. Each node's pool is bound to its node
 * (mbind, strict), so a block's memory is on the node its handle names. The handle carries
 * the node's index in its top 6 bits, like SizeClassPool's class, so `free(handle)` needs no
 * node.
 *
 * Policies (`alloc()`):
 * - `LocalPreferred` (default): the calling thread's node; when that pool is empty, the other
 *   nodes nearest first (SLIT distance), each such allocation counted as a fallback.
 * - `LocalOnly`: the calling thread's node only; empty means POOL_EXHAUSTED.
 * - `RoundRobin`: successive allocations go to successive nodes; a full node is skipped
 *   (counted as a fallback).
 * - `Interleaved`: successive allocations take nodes in turn, like RoundRobin, but a full node
 *   ends the allocation with POOL_EXHAUSTED instead of skipping: the spread stays even.
 *
 * "The calling thread's node" costs one FFI call (sched_getcpu, no system call) and a table
 * lookup per alloc; a thread pinned to one CPU through `affinity.pin` or `numa.pinThread` skips
 * the call. Such a thread can also take its node's pool once with `local()` and allocate from
 * it directly; those handles are that Pool's, not this NumaPool's.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import type { Pool, PoolStats } from "./pool.ts";
import { poolWithHandleBits } from "./pool.ts";
import type { PoolOptions } from "./pool_options.ts";
import { currentCpuOf } from "./numa_current.ts";
import { openNative } from "../ffi/library.ts";
import { pinnedCpu } from "./affinity.ts";
import { type NodeFacts, nodeFacts } from "./numa_nodes.ts";
import { type MemoryOptions, noMemoryNodes, type NumaPolicy, PLACEMENT_NODES_MAX } from "./placement.ts";
import { describe, integerIn, label, readOptions } from "./validate.ts";
import { track, untrack } from "./metrics.ts";

/** Options of `new NumaPool(...)`. */
export interface NumaPoolOptions extends Omit<MemoryOptions, "placement"> {
  /** Bytes of one block, 1 to 1 MiB. */
  blockSize: number;
  /** Blocks of each node's pool, 1 to 2^26. */
  capacity: number;
  /** How `alloc()` chooses a node. Default: "LocalPreferred". */
  policy?: NumaPolicy;
  /** The nodes to have pools on, each a node with memory this process may use. Default: all of them. */
  nodes?: readonly number[];
  /** Alignment of every block, a power of two up to 4096. Default: 8. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
  /** Debug mode for every node's pool (see `PoolOptions.debug`). */
  debug?: boolean;
}

/** One node's counters. */
export interface NumaNodeStats extends PoolStats {
  /** The node. */
  node: number;
  /** Allocations this node's pool served for a thread of another node, or out of turn. */
  fallbacks: number;
}

/** What `numaPool.stats()` reports. */
export interface NumaPoolStats {
  /** One entry per node, in `nodes` order. */
  nodes: NumaNodeStats[];
  /** Allocations served by a node other than the one the policy chose first. */
  fallbacks: number;
  /** Allocations that found every allowed node empty. */
  failedAllocations: number;
  /** Sums over the nodes. */
  total: { capacity: number; inUse: number; allocations: number; bytesReserved: number };
}

const POLICIES: readonly NumaPolicy[] = ["LocalPreferred", "LocalOnly", "RoundRobin", "Interleaved"];
const BLOCK_BITS = 26;
const BLOCK_MASK = (1 << BLOCK_BITS) - 1;

/** Internal, for tests: the machine facts and CPU source a NumaPool uses, and whether it binds. */
export interface NumaPoolMachine {
  facts: NodeFacts;
  currentCpu: () => number;
  /** False for a fixture machine whose nodes this one does not have. */
  bind: boolean;
}

const machineOf = new WeakMap<object, NumaPoolMachine>();

/** Internal: a NumaPool over a fixture machine (tests/numa_pool_test.ts). */
export function numaPoolOn(options: NumaPoolOptions, machine: NumaPoolMachine): NumaPool {
  machineOf.set(options, machine);
  return new NumaPool(options);
}

/**
 * One pool per NUMA node behind one `alloc()`.
 *
 * @example
 * ```ts
 * import { NumaPool } from "@hotpath/core";
 * using orders = new NumaPool({ blockSize: 64, capacity: 4096 });
 * const handle = orders.alloc(); // from the calling thread's node
 * orders.bytesOf(handle)[orders.offset(handle)] = 1;
 * console.log(orders.nodeOf(handle));
 * orders.free(handle);
 * ```
 */
export class NumaPool {
  /** The nodes with a pool, in handle order. */
  readonly nodes: readonly number[];
  /** How `alloc()` chooses a node. */
  readonly policy: NumaPolicy;
  /** Bytes of one block. */
  readonly blockSize: number;
  /** The label given at creation, for `metrics()`. */
  readonly name: string;
  #pools: Pool[];
  /** CPU to the index (in `nodes`) of its node's pool, or of the nearest one. */
  #indexOfCpu: Int8Array;
  /** For each index, every index nearest first (LocalPreferred's fallback order). */
  #order: Int8Array[];
  /** For each index, every index from it on in turn (RoundRobin's). */
  #rotation: Int8Array[];
  #fallbacks: Float64Array;
  #failed = 0;
  #turn = 0;
  #currentCpu: () => number;
  #closed = false;
  /** RoundRobin and Interleaved: nodes in turn, not the thread's node. */
  #rotates: boolean;

  /** Creates one pool per node. INVALID_ARGUMENT for bad options or a node that does not exist. */
  constructor(options: NumaPoolOptions) {
    const where = "new NumaPool";
    const machine = machineOf.get(options as object) ??
      { facts: nodeFacts(), currentCpu: currentOrPinnedCpu, bind: true };
    const keys = ["blockSize", "capacity", "policy", "nodes", "align", "name", "debug", "hugePages", "lock"] as const;
    const given = readOptions(where, options, keys);
    const name = label(where, given.name);
    const policy = given.policy ?? "LocalPreferred";
    if (!(POLICIES as readonly unknown[]).includes(policy)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: policy must be "LocalPreferred", "LocalOnly", "RoundRobin" or "Interleaved"; got ${
          describe(policy)
        }.`,
      );
    }
    this.policy = policy as NumaPolicy;
    this.#rotates = policy === "RoundRobin" || policy === "Interleaved";
    this.nodes = Object.freeze(checkNodes(where, given.nodes, machine.facts));
    this.#currentCpu = machine.currentCpu;
    this.#indexOfCpu = indexTable(machine.facts, this.nodes);
    this.#order = this.nodes.map((node) => {
      const nearest = machine.facts.nearest.get(node) ?? [node];
      return Int8Array.from(nearest.filter((other) => this.nodes.includes(other)).map((n) => this.nodes.indexOf(n)));
    });
    const count = this.nodes.length;
    this.#rotation = this.nodes.map((_, first) =>
      Int8Array.from({ length: count }, (_, step) => (first + step) % count)
    );
    this.#fallbacks = new Float64Array(count);
    this.#pools = [];
    try {
      for (const node of this.nodes) {
        const poolOptions: PoolOptions = {
          blockSize: given.blockSize as number,
          capacity: given.capacity as number,
          align: given.align as number | undefined,
          debug: given.debug as boolean | undefined,
          hugePages: given.hugePages as MemoryOptions["hugePages"],
          lock: given.lock as boolean | undefined,
          // Strict: a block's memory is on the node its handle names, or creation fails.
          placement: machine.bind ? { node, strict: true } : undefined,
        };
        const pool = createNodePool(poolOptions, machine.facts.memoryNodes.length);
        untrack(pool); // counted once, as part of this NumaPool
        this.#pools.push(pool);
      }
    } catch (error) {
      for (const pool of this.#pools) pool.close();
      throw error;
    }
    this.blockSize = this.#pools[0].blockSize;
    this.name = name;
    track(this);
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Allocates a block as the policy says; POOL_EXHAUSTED when no allowed node has one. */
  alloc(): number {
    const handle = this.tryAlloc();
    if (handle < 0) {
      throw new HotpathError(
        "POOL_EXHAUSTED",
        `NumaPool: no block free on ${this.policy === "LocalOnly" ? "this thread's node" : "any node allowed"} ` +
          `(policy ${this.policy}, ${this.#pools[0].capacity} blocks per node). Free some, or raise capacity.`,
      );
    }
    return handle;
  }

  /** Like `alloc`, but returns -1 when no allowed node has a block. */
  tryAlloc(): number {
    if (this.#closed) throw closed();
    const first = this.#rotates ? this.#nextTurn() : this.#localIndex();
    const block = this.#pools[first].tryAlloc();
    if (block >= 0) return ((first << BLOCK_BITS) | block) >>> 0;
    return this.#fallback(first);
  }

  /** Frees a handle from any node. INVALID_HANDLE for a value that is not a handle, DOUBLE_FREE if not allocated. */
  free(handle: number): void {
    this.#pools[this.#indexOf(handle)].free(handle & BLOCK_MASK);
  }

  /** The node whose memory holds `handle`'s block (the handle says; no system call). */
  nodeOf(handle: number): number {
    return this.nodes[this.#indexOf(handle)];
  }

  /** The memory holding `handle`'s block: its node pool's `bytes`. No allocation. */
  bytesOf(handle: number): Uint8Array {
    return this.#pools[this.#indexOf(handle)].bytes;
  }

  /** Byte offset of `handle`'s block inside `bytesOf(handle)`. */
  offset(handle: number): number {
    return this.#pools[this.#indexOf(handle)].offset(handle & BLOCK_MASK);
  }

  /** A new Uint8Array over `handle`'s block. Allocates the view object. */
  view(handle: number): Uint8Array {
    return this.#pools[this.#indexOf(handle)].view(handle & BLOCK_MASK);
  }

  /** Native address of `handle`'s block. */
  ptr(handle: number): number {
    return this.#pools[this.#indexOf(handle)].ptr(handle & BLOCK_MASK);
  }

  /**
   * The pool of the calling thread's node, for a pinned thread to allocate from directly (its
   * handles are that Pool's own: free them there, not here).
   */
  local(): Pool {
    if (this.#closed) throw closed();
    return this.#pools[this.#localIndex()];
  }

  /** The pool of `node` (one of `nodes`). */
  poolOf(node: number): Pool {
    if (this.#closed) throw closed();
    const index = this.nodes.indexOf(node);
    if (index < 0) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `NumaPool.poolOf: ${describe(node)} is not one of its nodes (${this.nodes.join(", ")}).`,
      );
    }
    return this.#pools[index];
  }

  /** Each node's counters, the fallbacks and the failed allocations. */
  stats(): NumaPoolStats {
    if (this.#closed) throw closed();
    const nodes = this.#pools.map((pool, index) => ({
      ...pool.stats(),
      node: this.nodes[index],
      fallbacks: this.#fallbacks[index],
    }));
    const sum = (pick: (stats: NumaNodeStats) => number) => nodes.reduce((total, stats) => total + pick(stats), 0);
    return {
      nodes,
      fallbacks: sum((stats) => stats.fallbacks),
      failedAllocations: this.#failed,
      total: {
        capacity: sum((stats) => stats.capacity),
        inUse: sum((stats) => stats.inUse),
        allocations: sum((stats) => stats.allocations),
        bytesReserved: sum((stats) => stats.bytesReserved),
      },
    };
  }

  /** Closes every node's pool; later calls throw CLOSED. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pool of this.#pools) pool.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #nextTurn(): number {
    const turn = this.#turn;
    this.#turn = turn + 1 === this.#pools.length ? 0 : turn + 1;
    return turn;
  }

  #localIndex(): number {
    const cpu = this.#currentCpu();
    const index = cpu >= 0 && cpu < this.#indexOfCpu.length ? this.#indexOfCpu[cpu] : -1;
    return index >= 0 ? index : 0;
  }

  /** The chosen node is empty: the policy says where else to look. */
  #fallback(first: number): number {
    if (this.policy === "LocalOnly" || this.policy === "Interleaved") {
      this.#failed++;
      return -1;
    }
    const order = this.policy === "LocalPreferred" ? this.#order[first] : this.#rotation[first];
    for (let step = 1; step < order.length; step++) {
      const index = order[step];
      const block = this.#pools[index].tryAlloc();
      if (block >= 0) {
        this.#fallbacks[index]++;
        return ((index << BLOCK_BITS) | block) >>> 0;
      }
    }
    this.#failed++;
    return -1;
  }

  #indexOf(handle: number): number {
    if (this.#closed) throw closed();
    if (typeof handle !== "number" || (handle >>> 0) !== handle) throw notAHandle(handle);
    const index = handle >>> BLOCK_BITS;
    if (index >= this.#pools.length) throw notAHandle(handle);
    return index;
  }
}

/**
 * One node's pool, bound to its node. A kernel that refuses mbind (no NUMA support, a seccomp
 * filter) on a machine of one memory node gets an unbound pool: its pages are on that node all
 * the same. With several nodes the refusal stands: the handles would name nodes falsely.
 */
function createNodePool(options: PoolOptions, memoryNodes: number): Pool {
  try {
    return poolWithHandleBits(options, BLOCK_BITS);
  } catch (error) {
    const refused = error instanceof HotpathError && error.code === "UNSUPPORTED";
    if (!refused || memoryNodes !== 1 || options.placement === undefined) throw error;
    return poolWithHandleBits({ ...options, placement: undefined }, BLOCK_BITS);
  }
}

let getCpu: (() => number) | undefined;

/** A pinned thread's CPU without an FFI call, else sched_getcpu (the symbol looked up once). */
function currentOrPinnedCpu(): number {
  const pinned = pinnedCpu();
  if (pinned >= 0) return pinned;
  getCpu ??= openNative().symbols.hp_current_cpu;
  const cpu = getCpu();
  return cpu >= 0 ? cpu : currentCpuOf("NumaPool.alloc"); // the negative status becomes its error
}

function closed(): HotpathError {
  return new HotpathError("CLOSED", "NumaPool is closed; create a new one.");
}

function notAHandle(handle: unknown): HotpathError {
  return new HotpathError("INVALID_HANDLE", `NumaPool: ${describe(handle)} is not a handle of this pool.`);
}

/** The `nodes` option: distinct nodes with memory this process may use; default all of them. */
function checkNodes(where: string, nodes: unknown, facts: NodeFacts): number[] {
  if (facts.memoryNodes.length === 0) throw noMemoryNodes(where);
  if (nodes === undefined) return [...facts.memoryNodes];
  if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > PLACEMENT_NODES_MAX) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: nodes must be an array of 1 to ${PLACEMENT_NODES_MAX} node numbers; got ${describe(nodes)}.`,
    );
  }
  const length = nodes.length;
  const checked: number[] = [];
  for (let index = 0; index < length; index++) {
    const node = integerIn(where, `nodes[${index}]`, nodes[index], 0, PLACEMENT_NODES_MAX - 1);
    if (!facts.memoryNodes.includes(node)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: node ${node} does not exist here, or has no memory this process may use (nodes it may use: ` +
          `${facts.memoryNodes.join(", ")}).`,
      );
    }
    if (checked.includes(node)) throw new HotpathError("INVALID_ARGUMENT", `${where}: node ${node} is named twice.`);
    checked.push(node);
  }
  return checked;
}

/** CPU to pool index: its node's pool, else the pool of the nearest of `nodes`. */
function indexTable(facts: NodeFacts, nodes: readonly number[]): Int8Array {
  const table = new Int8Array(facts.memoryNodeOfCpu.length).fill(-1);
  for (let cpu = 0; cpu < table.length; cpu++) {
    const node = facts.memoryNodeOfCpu[cpu];
    if (node < 0) continue;
    const nearest = facts.nearest.get(node) ?? [node];
    const chosen = nearest.find((candidate) => nodes.includes(candidate));
    table[cpu] = chosen === undefined ? 0 : nodes.indexOf(chosen);
  }
  return table;
}
