/**
 * `SizeClassPool`: several pools behind one `alloc(bytes)`.
 *
 * Each size class is a Pool. A request goes to the smallest class that holds it through a
 * lookup table indexed by the request size (O(1), exact for any configured classes). The
 * handle carries its class in its top 6 bits, so `free(handle)` needs no size.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { Pool, type PoolStats, poolWithHandleBits } from "./pool.ts";
import { alignment, describe, integerIn, label, readOptions } from "./validate.ts";
import { debugOption } from "./pool_options.ts";
import { track, trackedNode, untrack } from "./metrics.ts";
import { checkMemoryOptions, MEMORY_OPTION_KEYS, type MemoryOptions } from "./placement.ts";

/**
 * Options of `new SizeClassPool(...)`; `placement`, `hugePages` and `lock` apply to every
 * class's pool and to oversize regions (see MemoryOptions; `"RoundRobin"` puts successive
 * classes on successive nodes).
 */
export interface SizeClassPoolOptions extends MemoryOptions {
  /** Block sizes in bytes, ascending, each 1 to 65536; at most 62. Default: 32, 64, 128, 256, 512, 1024. */
  classes?: number[];
  /** Blocks per class: one number for every class, or one per class. */
  capacity: number | number[];
  /** Alignment of every block, a power of two up to 4096. Default: 8. */
  align?: number;
  /**
   * Requests larger than the largest class: "throw" (TOO_LARGE) or "allocate" (a dedicated
   * region per request: one mmap and one munmap each, so not for the hot path). Default: "throw".
   */
  oversize?: "throw" | "allocate";
  /** A label for `metrics()`. Default: "". */
  name?: string;
  /** Debug mode for every class (see `PoolOptions.debug`). Default: on when HOTPATH_DEBUG=1. */
  debug?: boolean;
}

/** Counters of one size class: its pool's stats and the bytes asked versus granted. */
export interface SizeClassStats extends PoolStats {
  /** Bytes asked for by every allocation this class served. */
  requestedBytes: number;
  /** Bytes granted for them (allocations × blockSize). */
  grantedBytes: number;
}

/** What `sizeClassPool.stats()` reports. */
export interface SizeClassPoolStats {
  /** One entry per class, in class order. */
  classes: SizeClassStats[];
  /** Totals over every class (large allocations not included). */
  total: {
    capacity: number;
    inUse: number;
    allocations: number;
    failedAllocations: number;
    bytesReserved: number;
    requestedBytes: number;
    grantedBytes: number;
    /** Internal fragmentation: 1 - requested / granted (0 when nothing was allocated). */
    fragmentation: number;
  };
  /** The oversize path: live regions, allocations made, and bytes live in them. */
  large: { live: number; allocations: number; bytes: number };
}

const DEFAULT_CLASSES = [32, 64, 128, 256, 512, 1024];
const CLASS_SIZE_MAX = 1 << 16;
const CLASSES_MAX = 62;
const BLOCK_BITS = 26;
const BLOCK_MASK = (1 << BLOCK_BITS) - 1;
/** The handle of a large allocation's block inside its own one-block pool. */
const LARGE_BLOCK = 0;
/** The class index that marks a handle of the oversize path. */
const LARGE = 63;
const LARGE_SIZE_MAX = 1 << 30;

/**
 * Several fixed-size pools behind one `alloc(bytes)`.
 *
 * @example
 * ```ts
 * import { SizeClassPool } from "@hotpath/core";
 * using pool = new SizeClassPool({ capacity: 1024 });
 * const handle = pool.alloc(40); // served by the 64-byte class
 * pool.bytesOf(handle)[pool.offset(handle)] = 1;
 * pool.free(handle);
 * ```
 */
export class SizeClassPool {
  /** Block size of each class, ascending. */
  readonly classes: readonly number[];
  /** What happens to requests above the largest class. */
  readonly oversize: "throw" | "allocate";
  /** The label given at creation, for `metrics()`. */
  readonly name: string;
  #pools: Pool[];
  /** Request size (0 .. largest class) to class index. */
  #route: Uint8Array;
  #largest: number;
  #requested: Float64Array;
  #large = new Map<number, Pool>();
  #largeNext = 0;
  #largeAllocations = 0;
  #largeBytes = 0;
  #closed = false;
  #debug: boolean;
  /** The memory options every class pool and oversize region gets, read once. */
  #memory: MemoryOptions;

  /** Creates one pool per class. Throws INVALID_ARGUMENT for bad options. */
  constructor(options: SizeClassPoolOptions) {
    const where = "new SizeClassPool";
    const keys = ["classes", "capacity", "align", "oversize", "name", "debug", ...MEMORY_OPTION_KEYS] as const;
    const given = readOptions(where, options, keys);
    // Checked (and copied) here, so a bad option fails before any class pool is made.
    this.#memory = checkMemoryOptions(where, given);
    const classes = given.classes === undefined ? DEFAULT_CLASSES : checkClasses(where, given.classes);
    const capacities = checkCapacities(where, given.capacity, classes.length);
    const align = given.align === undefined ? 8 : alignment(where, "align", given.align);
    const oversize = given.oversize;
    if (oversize !== undefined && oversize !== "throw" && oversize !== "allocate") {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: oversize must be "throw" or "allocate"; got ${describe(oversize)}.`,
      );
    }
    this.classes = Object.freeze([...classes]);
    this.oversize = oversize ?? "throw";
    this.name = label(where, given.name);
    this.#debug = debugOption(where, given.debug);
    this.#largest = classes[classes.length - 1];
    this.#route = new Uint8Array(this.#largest + 1);
    let index = 0;
    for (let bytes = 1; bytes <= this.#largest; bytes++) {
      if (bytes > classes[index]) index++;
      this.#route[bytes] = index;
    }
    this.#requested = new Float64Array(classes.length);
    this.#pools = [];
    try {
      for (let index = 0; index < classes.length; index++) {
        const options = {
          blockSize: classes[index],
          capacity: capacities[index],
          align,
          debug: this.#debug,
          ...this.#memory,
        };
        const pool = poolWithHandleBits(options, BLOCK_BITS);
        untrack(pool); // counted once, as part of this SizeClassPool
        this.#pools.push(pool);
      }
    } catch (error) {
      for (const pool of this.#pools) pool.close();
      throw error;
    }
    track(this, trackedNode(this.#pools[0]));
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Allocates `bytes` from the smallest class that holds them. POOL_EXHAUSTED when that class is full. */
  alloc(bytes: number): number {
    const handle = this.tryAlloc(bytes);
    if (handle < 0) {
      const index = this.#route[bytes];
      throw new HotpathError(
        "POOL_EXHAUSTED",
        `SizeClassPool: the ${this.classes[index]}-byte class is exhausted (${
          this.#pools[index].capacity
        } blocks in use) ` +
          `for a request of ${bytes} bytes. Free some, or give that class a larger capacity.`,
      );
    }
    return handle;
  }

  /** Like `alloc`, but returns -1 when the class is full (TOO_LARGE and bad sizes still throw). */
  tryAlloc(bytes: number): number {
    if (typeof bytes !== "number" || (bytes >>> 0) !== bytes || bytes === 0 || bytes > this.#largest) {
      return this.#unusual(bytes);
    }
    const index = this.#route[bytes];
    const block = this.#pools[index].tryAlloc();
    if (block < 0) return -1;
    this.#requested[index] += bytes;
    return ((index << BLOCK_BITS) | block) >>> 0;
  }

  /** Frees a handle of any class. INVALID_HANDLE for a value that is not a handle, DOUBLE_FREE if not allocated. */
  free(handle: number): void {
    const index = this.#classIndex(handle);
    if (index === LARGE) return this.#freeLarge(handle);
    this.#pools[index].free(handle & BLOCK_MASK);
  }

  /** Block size of the class serving allocated `handle` (the bytes it may use). */
  sizeOf(handle: number): number {
    const pool = this.#poolOf(handle);
    pool.offset(blockOf(handle)); // throws unless the block is allocated
    return pool.blockSize;
  }

  /** The memory holding allocated `handle`'s block: its class pool's `bytes`. No allocation. */
  bytesOf(handle: number): Uint8Array {
    const pool = this.#poolOf(handle);
    pool.offset(blockOf(handle)); // throws unless the block is allocated
    return pool.bytes;
  }

  /** Byte offset of `handle`'s block inside `bytesOf(handle)`. */
  offset(handle: number): number {
    return this.#poolOf(handle).offset(blockOf(handle));
  }

  /** A new Uint8Array over `handle`'s block. Allocates the view object. */
  view(handle: number): Uint8Array {
    return this.#poolOf(handle).view(blockOf(handle));
  }

  /** Native address of `handle`'s block. */
  ptr(handle: number): number {
    return this.#poolOf(handle).ptr(blockOf(handle));
  }

  /** Per-class and total counters, including internal fragmentation. */
  stats(): SizeClassPoolStats {
    if (this.#closed) throw closed();
    const classes = this.#pools.map((pool, index) => {
      const stats = pool.stats();
      return { ...stats, requestedBytes: this.#requested[index], grantedBytes: stats.allocations * stats.blockSize };
    });
    const sum = (pick: (stats: SizeClassStats) => number) => classes.reduce((total, stats) => total + pick(stats), 0);
    const requestedBytes = sum((stats) => stats.requestedBytes);
    const grantedBytes = sum((stats) => stats.grantedBytes);
    return {
      classes,
      total: {
        capacity: sum((stats) => stats.capacity),
        inUse: sum((stats) => stats.inUse),
        allocations: sum((stats) => stats.allocations),
        failedAllocations: sum((stats) => stats.failedAllocations),
        bytesReserved: sum((stats) => stats.bytesReserved),
        requestedBytes,
        grantedBytes,
        fragmentation: grantedBytes === 0 ? 0 : 1 - requestedBytes / grantedBytes,
      },
      large: { live: this.#large.size, allocations: this.#largeAllocations, bytes: this.#largeBytes },
    };
  }

  /** Closes every class pool and every large region; later calls throw CLOSED. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pool of this.#pools) pool.close();
    for (const pool of this.#large.values()) pool.close();
    this.#large.clear();
    this.#largeBytes = 0;
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Sizes outside the classes: bad arguments, closed, too large, or the oversize path. */
  #unusual(bytes: number): number {
    if (this.#closed) throw closed();
    integerIn("SizeClassPool.alloc", "bytes", bytes, 1, LARGE_SIZE_MAX);
    if (this.oversize === "throw") {
      throw new HotpathError(
        "TOO_LARGE",
        `SizeClassPool: ${bytes} bytes is larger than the largest class (${this.#largest} bytes). ` +
          `Add a larger class, or create the pool with oversize: "allocate".`,
      );
    }
    return this.#allocLarge(bytes);
  }

  #allocLarge(bytes: number): number {
    if (this.#large.size > BLOCK_MASK) {
      throw new HotpathError("LIMIT_REACHED", `SizeClassPool: ${this.#large.size} large allocations are live.`);
    }
    while (this.#large.has(this.#largeNext)) this.#largeNext = (this.#largeNext + 1) & BLOCK_MASK;
    const id = this.#largeNext;
    this.#largeNext = (id + 1) & BLOCK_MASK;
    const pool = new Pool({ blockSize: bytes, capacity: 1, debug: this.#debug, ...this.#memory });
    untrack(pool);
    // The only block of a fresh pool: handle 0 in release and debug mode alike (generation 0).
    if (pool.alloc() !== LARGE_BLOCK) throw new HotpathError("CORRUPTED", "SizeClassPool: a large region misbehaved.");
    this.#large.set(id, pool);
    this.#largeAllocations++;
    this.#largeBytes += bytes;
    return ((LARGE << BLOCK_BITS) | id) >>> 0;
  }

  #freeLarge(handle: number): void {
    const pool = this.#largePool(handle);
    this.#large.delete(handle & BLOCK_MASK);
    this.#largeBytes -= pool.blockSize;
    pool.close();
  }

  #largePool(handle: number): Pool {
    const pool = this.#large.get(handle & BLOCK_MASK);
    if (pool === undefined) {
      throw new HotpathError("DOUBLE_FREE", `SizeClassPool: large handle ${handle} is not allocated (freed already?).`);
    }
    return pool;
  }

  #poolOf(handle: number): Pool {
    const index = this.#classIndex(handle);
    return index === LARGE ? this.#largePool(handle) : this.#pools[index];
  }

  #classIndex(handle: number): number {
    if (this.#closed) throw closed();
    if (typeof handle !== "number" || (handle >>> 0) !== handle) throw this.#notAHandle(handle);
    const index = handle >>> BLOCK_BITS;
    const large = index === LARGE && this.oversize === "allocate";
    if (index >= this.#pools.length && !large) throw this.#notAHandle(handle);
    return index;
  }

  #notAHandle(handle: unknown): HotpathError {
    return new HotpathError("INVALID_HANDLE", `SizeClassPool: ${describe(handle)} is not a handle of this pool.`);
  }
}

function closed(): HotpathError {
  return new HotpathError("CLOSED", "SizeClassPool is closed; create a new one.");
}

/** Copies the class sizes, reading each element once, and checks them. */
function checkClasses(where: string, classes: unknown): number[] {
  if (!Array.isArray(classes) || classes.length === 0 || classes.length > CLASSES_MAX) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: classes must be an array of 1 to ${CLASSES_MAX} block sizes; got ${describe(classes)}.`,
    );
  }
  const sizes: number[] = [];
  for (let index = 0; index < classes.length; index++) {
    const minimum = index === 0 ? 1 : sizes[index - 1] + 1;
    sizes.push(integerIn(where, `classes[${index}]`, classes[index], minimum, CLASS_SIZE_MAX));
  }
  return sizes;
}

/** The handle inside the class pool (for a large allocation: its region's only block). */
function blockOf(handle: number): number {
  return handle >>> BLOCK_BITS === LARGE ? LARGE_BLOCK : handle & BLOCK_MASK;
}

/** Copies the capacities (one number for all, or one per class), reading each once, and checks them. */
function checkCapacities(where: string, capacity: unknown, count: number): number[] {
  const capacities = Array.isArray(capacity) ? Array.from(capacity) : Array.from({ length: count }, () => capacity);
  if (capacities.length !== count) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: capacity has ${capacities.length} entries for ${count} classes.`,
    );
  }
  return capacities.map((value, index) => integerIn(where, `capacity[${index}]`, value, 1, 1 << BLOCK_BITS));
}
