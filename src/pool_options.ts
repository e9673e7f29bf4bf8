/**
 * The options and statistics of a Pool, and the checks of its growth and debug options.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { LIMITS } from "../ffi/abi.generated.ts";
import { alignment, describe, integerError, integerIn, label, readOptions } from "./validate.ts";
import { debugBlockBytes, debugFromEnvironment } from "./pool_debug.ts";
import { MEMORY_OPTION_KEYS, type MemoryOptions, resolvePlacement } from "./placement.ts";

/** Options of `new Pool(...)`; `placement`, `hugePages` and `lock` place its memory (see MemoryOptions). */
export interface PoolOptions extends MemoryOptions {
  /** Bytes of one block, 1 to 1 MiB. */
  blockSize: number;
  /** Number of blocks, 1 to 2^26; the region must stay within 4 GiB. */
  capacity: number;
  /** Alignment of every block in bytes, a power of two up to 4096. Default: 8. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
  /** Grow in chunks when exhausted, up to a hard limit. Default: none (capacity is fixed). */
  grow?: PoolGrowth;
  /**
   * Debug mode: generation bits in handles, poisoned free blocks, guard bytes after every
   * block (DOUBLE_FREE, USE_AFTER_FREE, OVERFLOW). Default: on when HOTPATH_DEBUG=1.
   */
  debug?: boolean;
}

/** How a Pool grows: `chunk` blocks at a time, never beyond `maxCapacity`. */
export interface PoolGrowth {
  /** Blocks added by one growth, 1 to maxCapacity. */
  chunk: number;
  /** The hard limit: capacity to 2^26 blocks. Its address space is reserved at creation. */
  maxCapacity: number;
}

/** Options of `Pool.of(layout, ...)`: the block size and alignment come from the layout. */
export interface StructPoolOptions extends MemoryOptions {
  /** Number of records, 1 to 2^26. */
  capacity: number;
  /** Alignment of every record, at least the layout's. Default: the larger of 8 and the layout's. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
  /** Grow in chunks when exhausted, up to a hard limit. Default: none. */
  grow?: PoolGrowth;
  /** Debug mode, as for `new Pool`. Default: on when HOTPATH_DEBUG=1. */
  debug?: boolean;
}

/** A block that `using` frees at the end of its scope: `using block = pool.allocScoped();`. */
export interface ScopedBlock {
  /** The block's handle. */
  readonly handle: number;
  /** Frees the block (DOUBLE_FREE if it was freed by hand already). */
  [Symbol.dispose](): void;
}

/** What `pool.stats()` reports. Counts are exact up to 2^53. */
export interface PoolStats {
  /** Number of blocks now (grows with `grow`). */
  capacity: number;
  /** The most blocks the pool may grow to: `capacity` for a fixed pool. */
  maxCapacity: number;
  /** Growths so far: each added up to `grow.chunk` blocks. */
  growths: number;
  /** True in debug mode. */
  debug: boolean;
  /** Bytes of one block as asked for. */
  blockSize: number;
  /** Bytes from one block to the next (blockSize rounded up to the alignment, at least 4). */
  blockStride: number;
  /** Blocks allocated now. */
  inUse: number;
  /** Blocks free now: capacity - inUse. */
  free: number;
  /** The most blocks ever allocated at once. */
  highWater: number;
  /** Successful allocations since creation (single and batch). */
  allocations: number;
  /** Blocks returned since creation: frees, batch frees and blocks released by reset. */
  frees: number;
  /** Allocation requests that found no free block. */
  failedAllocations: number;
  /** Bytes of address space of the mapping (for a growing pool: up to maxCapacity). */
  bytesReserved: number;
  /** Bytes of the mapping backed by memory now: header, bitmap and the blocks up to `capacity`. */
  bytesCommitted: number;
  /** Bytes before the first block: header, one state byte a block (for maxCapacity) and padding. */
  metadataBytes: number;
}

/** Checks the `grow` option; a fixed pool has chunk 0 and maxCapacity = capacity. */
export function growthOption(where: string, grow: unknown, capacity: number): { chunk: number; maxCapacity: number } {
  if (grow === undefined) return { chunk: 0, maxCapacity: capacity };
  const given = readOptions(`${where}: grow`, grow, ["chunk", "maxCapacity"]);
  const maxCapacity = integerIn(where, "grow.maxCapacity", given.maxCapacity, capacity, LIMITS.poolCapacityMax);
  const chunk = integerIn(where, "grow.chunk", given.chunk, 1, maxCapacity);
  // A pool that may not grow past its capacity is a fixed pool.
  return maxCapacity === capacity ? { chunk: 0, maxCapacity } : { chunk, maxCapacity };
}

/** Checks the `debug` option; absent means HOTPATH_DEBUG decides. */
export function debugOption(where: string, debug: unknown): boolean {
  if (debug === undefined) return debugFromEnvironment();
  if (typeof debug !== "boolean") {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: debug must be true or false; got ${describe(debug)}.`);
  }
  return debug;
}

/** The checked options of `new Pool`, each read once. */
export function poolSettings(options: PoolOptions) {
  const where = "new Pool";
  const keys = ["blockSize", "capacity", "align", "name", "grow", "debug", ...MEMORY_OPTION_KEYS] as const;
  const given = readOptions(where, options, keys);
  const blockSize = integerIn(where, "blockSize", given.blockSize, 1, LIMITS.blockSizeMax);
  const capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.poolCapacityMax);
  const align = given.align === undefined ? 8 : alignment(where, "align", given.align);
  const name = label(where, given.name);
  const growth = growthOption(where, given.grow, capacity);
  const debug = debugOption(where, given.debug);
  const nativeBlockSize = debug ? debugBlockBytes(blockSize) : blockSize;
  if (nativeBlockSize > LIMITS.blockSizeMax) {
    throw integerError(where, "blockSize (debug mode)", blockSize, 1, LIMITS.blockSizeMax - 16);
  }
  checkRegionSize(where, nativeBlockSize, align, growth.maxCapacity);
  const placement = resolvePlacement(where, given);
  return { blockSize, capacity, align, name, growth, debug, nativeBlockSize, placement };
}

/** Throws INVALID_ARGUMENT when `maxCapacity` blocks would not fit one 4 GiB region (as Zig lays it out). */
function checkRegionSize(where: string, blockSize: number, align: number, maxCapacity: number): void {
  const internalAlign = Math.max(align, 4);
  const stride = Math.ceil(Math.max(blockSize, 4) / internalAlign) * internalAlign;
  const blocksOffset = Math.ceil((LIMITS.headerBytes + maxCapacity) / Math.max(internalAlign, 64)) *
    Math.max(internalAlign, 64);
  if (blocksOffset + maxCapacity * stride > LIMITS.regionBytesMax) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: ${maxCapacity} blocks of ${blockSize} bytes (stride ${stride}) exceed the 4 GiB limit of one pool.`,
    );
  }
}
