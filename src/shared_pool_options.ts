/**
 * The options, descriptor and statistics of a SharedPool, and their checks.
 *
 * @module
 */
import process from "node:process";
import { HotpathError } from "./errors.ts";
import { LIMITS, SHARED_POOL_HEADER } from "../ffi/abi.generated.ts";
import { alignment, describe, integerIn, readOptions } from "./validate.ts";
import { debugOption, growthOption, type PoolGrowth } from "./pool_options.ts";
import { StructLayout } from "./struct.ts";
import { MEMORY_OPTION_KEYS, type MemoryOptions, resolvePlacement } from "./placement.ts";

/**
 * Options of `new SharedPool(...)`; `placement`, `hugePages` and `lock` place its memory (see
 * MemoryOptions). A named pool's file cannot have explicit huge pages (base pages are used).
 */
export interface SharedPoolOptions extends MemoryOptions {
  /** Bytes of one block, 1 to 1 MiB. */
  blockSize: number;
  /** Blocks at creation, 1 to 2^26. */
  capacity: number;
  /**
   * A named region: the file `/dev/shm/<name>`, which any process of this user can open with
   * `SharedPool.open({ name })`. Letters, digits, ".", "_" and "-", at most 200. Default: none
   * (shared anonymous memory: Workers of this process attach with `share()`).
   */
  name?: string;
  /** Like `name`, but any absolute path (for example on a persistent file system). */
  path?: string;
  /** Grow in chunks when exhausted, up to a hard limit reserved at creation. Default: fixed. */
  grow?: PoolGrowth;
  /**
   * Handles each Worker's cache holds, 2 to 4096; refill and flush move half (one native call
   * per half a cache of allocations or frees). Default: 128.
   */
  cache?: number;
  /**
   * Workers and processes attached at once (one cache each), 1 to 254. Each costs about 1.7 KiB
   * of metadata with the default cache and retire sizes, plus one bit per block (its bitmap of
   * the blocks in its cache). Default: 16.
   */
  maxWorkers?: number;
  /**
   * Blocks each Worker may have retired (`retire`) and not yet freed, 4 to 4096: the bound on
   * memory held back by epoch reclamation. Default: 128.
   */
  retire?: number;
  /** Alignment of every block, a power of two from 4 to 4096. Default: 8. */
  align?: number;
  /**
   * Debug mode for this realm: `free` of its own blocks clears the owner byte by CAS too (a free
   * of another Worker's block always does), so a double free racing the allocator's own free is
   * caught as well (about 7-9 ns more per free, measured). Default: on when HOTPATH_DEBUG=1.
   */
  debug?: boolean;
}

/**
 * Options of `SharedPool.of(layout, ...)`: the block size comes from the layout; `align` is at
 * least the layout's (default: the larger of 8 and the layout's).
 */
export type SharedStructPoolOptions = Omit<SharedPoolOptions, "blockSize">;

/** Options of `SharedPool.open` and `SharedPool.attach`. */
export interface SharedOpenOptions {
  /** The region's name (`/dev/shm/<name>`); for `open` only. */
  name?: string;
  /** The region's path; for `open` only. */
  path?: string;
  /** The record layout its creator used with `SharedPool.of`, for typed cursors. */
  // deno-lint-ignore no-explicit-any
  layout?: StructLayout<any>;
  /** Debug mode for this realm (see SharedPoolOptions). Default: HOTPATH_DEBUG; attach: the sharer's. */
  debug?: boolean;
}

/**
 * What `pool.share()` returns: plain data that `postMessage` and `structuredClone` carry. A
 * Worker of the same process passes it to `SharedPool.attach`; a named pool can also be
 * attached from another process, by its path.
 */
export interface SharedPoolDescriptor {
  /** Always "hotpath.SharedPool". */
  readonly kind: "hotpath.SharedPool";
  /** The descriptor format, 1. */
  readonly version: 1;
  /** The process whose library knows `id`. */
  readonly pid: number;
  /** The region's id in the sharing process's library. */
  readonly id: number;
  /** The named region's path, or null for shared anonymous memory. */
  readonly path: string | null;
  /** Bytes of one block. */
  readonly blockSize: number;
  /** Alignment of every block. */
  readonly align: number;
  /** The sharer's debug mode, the attacher's default. */
  readonly debug: boolean;
}

/** What `pool.stats()` reports, from any attached Worker or process. */
export interface SharedPoolStats {
  /** Blocks committed now. */
  capacity: number;
  /** The most blocks the pool may grow to. */
  maxCapacity: number;
  /** Blocks allocated now (committed minus free-listed minus cached). */
  inUse: number;
  /** Blocks on the shared free list. */
  freeListed: number;
  /** Free blocks held in Workers' caches. */
  cached: number;
  /** Free blocks other Workers sent home to their allocator, which takes them at its next refill. */
  homed: number;
  /** The most blocks ever handed to caches (handles below it have been used). */
  highWater: number;
  /** Batches moved from the free list into caches. */
  refills: number;
  /** Batches moved from caches to the free list. */
  flushes: number;
  /** Blocks returned from the caches of Workers or processes that ended without closing. */
  reclaimedBlocks: number;
  /** Such caches reclaimed. */
  reclaimedCaches: number;
  /** Refills that found no block anywhere (each an alloc that failed or returned -1). */
  failedAllocations: number;
  /** Chunks committed by growth, and growths the kernel or /dev/shm refused. */
  growths: number;
  /** Growths the kernel or /dev/shm refused. */
  growthFailures: number;
  /** Epoch reclamation: the global epoch, blocks retired and not yet freed (in Workers' rings and in limbo). */
  epoch: number;
  /** Blocks retired and not yet freed. */
  retired: number;
  /** Retired blocks of closed or ended Workers, waiting in the region's limbo table. */
  limbo: number;
  /** Retired blocks freed so far. */
  retiredFreed: number;
  /** Readers that have held back reclamation for 100 ms or more (inside an old epoch). */
  stuckReaders: number;
  /** How long the longest-blocking reader has held reclamation back, in milliseconds. */
  blockingMs: number;
  /**
   * Workers or processes that died inside a native batch move (a refill or flush): each may
   * have stranded up to one batch of blocks, which `recover()` returns.
   */
  interruptedBatches: number;
  /** Every cache in use: its owner, its free handles, and whether its owner still runs. */
  caches: SharedCacheStats[];
  /** Bytes of the region's mapping, and bytes before the first block. */
  bytesReserved: number;
  /** Bytes before the first block: header, owner bytes, caches, limbo table. */
  metadataBytes: number;
}

/** One Worker's cache in `SharedPoolStats`. */
export interface SharedCacheStats {
  /** The owner's process id. */
  pid: number;
  /** The owner's thread id (each Worker is one OS thread). */
  tid: number;
  /** Free handles it holds. */
  cached: number;
  /** "alive", "dead" (reclaimable) or "unknown" (no procfs: treated as alive). */
  owner: "alive" | "dead" | "unknown";
  /** True for the cache of the pool object `stats()` was called on. */
  mine: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const SHM = "/dev/shm";

/** The file of a named region, or undefined for an anonymous one. */
export function regionPath(where: string, name: unknown, path: unknown): string | undefined {
  if (name !== undefined && path !== undefined) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: give name or path, not both.`);
  }
  if (name !== undefined) {
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: name must be 1 to 200 letters, digits, ".", "_" or "-", not starting with one of the ` +
          `last three; got ${describe(name)}.`,
      );
    }
    return `${SHM}/${name}`;
  }
  if (path === undefined) return undefined;
  const bytes = typeof path === "string" ? new TextEncoder().encode(path).length : 0;
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0") || bytes >= LIMITS.sharedPathBytesMax) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: path must be an absolute file path of fewer than ${LIMITS.sharedPathBytesMax} bytes; ` +
        `got ${describe(path)}.`,
    );
  }
  return path;
}

/** The options `SharedPool.of` takes: those of `new SharedPool` but the block size. */
export const SHARED_STRUCT_POOL_OPTION_KEYS = [
  "capacity",
  "name",
  "path",
  "grow",
  "cache",
  "maxWorkers",
  "retire",
  "align",
  "debug",
  ...MEMORY_OPTION_KEYS,
] as const;

/** The checked options of `new SharedPool`, each read once. */
export function sharedPoolSettings(where: string, options: SharedPoolOptions) {
  const given = readOptions(where, options, ["blockSize", ...SHARED_STRUCT_POOL_OPTION_KEYS]);
  const blockSize = integerIn(where, "blockSize", given.blockSize, 1, LIMITS.blockSizeMax);
  const capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.poolCapacityMax);
  const align = given.align === undefined ? 8 : Math.max(4, alignment(where, "align", given.align));
  const growth = growthOption(where, given.grow, capacity);
  const cacheCapacity = given.cache === undefined
    ? 128
    : integerIn(where, "cache", given.cache, 2, LIMITS.sharedCacheCapacityMax);
  const maxWorkers = given.maxWorkers === undefined
    ? 16
    : integerIn(where, "maxWorkers", given.maxWorkers, 1, LIMITS.sharedCachesMax);
  const retireCapacity = given.retire === undefined
    ? 128
    : integerIn(where, "retire", given.retire, 4, LIMITS.sharedRetireCapacityMax);
  const path = regionPath(where, given.name, given.path);
  const stride = Math.ceil(blockSize / align) * align;
  const cacheStride = Math.ceil((72 + 4 * cacheCapacity + 8 * retireCapacity) / 64) * 64;
  const limbo = 8 * Math.min(growth.maxCapacity, LIMITS.sharedLimboMax);
  const bitmapBytes = Math.ceil(growth.maxCapacity / 512) * 64;
  const perCache = cacheStride + 64 + bitmapBytes; // cache, home stack head, bitmap
  const metadata = SHARED_POOL_HEADER.size + growth.maxCapacity + 64 + maxWorkers * perCache + limbo;
  if (metadata + growth.maxCapacity * stride + align > LIMITS.regionBytesMax) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: ${growth.maxCapacity} blocks of ${blockSize} bytes (stride ${stride}) and their caches exceed ` +
        "the 4 GiB limit of one region.",
    );
  }
  const committedEstimate = metadata + capacity * stride;
  const debug = debugOption(where, given.debug);
  const placement = resolvePlacement(where, given);
  return {
    placement,
    blockSize,
    capacity,
    align,
    growth,
    cacheCapacity,
    maxWorkers,
    retireCapacity,
    path,
    committedEstimate,
    debug,
  };
}

/** Checks a descriptor from `share()` as untrusted data; returns it re-read as plain values. */
export function checkDescriptor(where: string, descriptor: unknown): SharedPoolDescriptor {
  const keys = ["kind", "version", "pid", "id", "path", "blockSize", "align", "debug"] as const;
  const given = readOptions(where, descriptor, keys);
  if (given.kind !== "hotpath.SharedPool" || given.version !== 1) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: the descriptor must come from sharedPool.share() (kind "hotpath.SharedPool", version 1); ` +
        `got kind ${describe(given.kind)}, version ${describe(given.version)}.`,
    );
  }
  const path = given.path === null ? null : regionPath(where, undefined, given.path) ?? null;
  return {
    kind: "hotpath.SharedPool",
    version: 1,
    pid: integerIn(where, "descriptor.pid", given.pid, 1, 2 ** 31 - 1),
    id: integerIn(where, "descriptor.id", given.id, 1, 2 ** 31 - 1),
    path,
    blockSize: integerIn(where, "descriptor.blockSize", given.blockSize, 1, LIMITS.blockSizeMax),
    align: alignment(where, "descriptor.align", given.align),
    debug: given.debug === true,
  };
}

/** This process's id, which a descriptor's `pid` is compared with. */
export function currentPid(): number {
  return process.pid;
}

/** Checks a layout given to open/attach against the pool's block size and alignment. */
export function checkLayout(
  where: string,
  layout: unknown,
  blockSize: number,
  align: number,
): StructLayout<never> | undefined {
  if (layout === undefined) return undefined;
  if (!StructLayout.isLayout(layout)) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: layout must come from struct(...); got ${describe(layout)}.`);
  }
  if (layout.size > blockSize || layout.align > align) {
    throw new HotpathError(
      "INCOMPATIBLE",
      `${where}: the layout (${layout.size} bytes, align ${layout.align}) does not fit the pool's blocks ` +
        `(${blockSize} bytes, align ${align}).`,
    );
  }
  return layout as StructLayout<never>;
}
