/**
 * `SharedPool`: fixed-size blocks that every Worker of this process, and every process of this
 * user, can allocate from and free at the same time. Lock-free: no thread waits for another.
 *
 * The region holds all state (zig/src/memory/shared_pool.zig). Each SharedPool object is one
 * realm's attachment with its own cache: a magazine of free handles and a bitmap with the bit
 * of every handle in the magazine, in the region, that only this realm writes. A block's owner
 * byte says which cache has it (0: none), and changes only in native batch calls and frees
 * across Workers. So alloc and free of its own blocks make no FFI call and write no cache line
 * that another Worker writes:
 * - alloc takes the top handle of the magazine and clears its bit;
 * - free of a block this attachment has (owner byte = its tag, bit clear: allocated) puts it on
 *   top of the magazine and sets its bit; free of another attachment's block swaps its owner
 *   byte to 0 by CAS (of two Workers freeing it at once, one gets DOUBLE_FREE), after checking
 *   in that attachment's bitmap that the block is not sitting free in its magazine, and sends
 *   it to that attachment's home stack, taken back at its next refill;
 * - an empty cache is refilled (home stack first, then the shared free list), a full one flushed,
 *   by half its capacity in one native call.
 *
 * The order of the stores is what makes a crash safe: a Worker terminated or a process killed
 * between any two of them leaves every block either in its cache (reclaimed when another thread
 * finds the owner dead), allocated, or stranded with its owner byte 0 (found by `recover()`),
 * never in two places.
 *
 * Few tests on the common path: alloc tests the bit of the top handle (which also catches the
 * empty cache, whose word before the first handle holds 0x7fffffff, past the bitmap, and a
 * magazine overwritten with other handles) and the count (closed: 0xfffffff0); free tests the
 * owner byte and the bit, and sends every other case (another's block, a double free, a moved
 * buffer) to the slow path.
 *
 * @module
 */
import process from "node:process";
import { type Native, openNative } from "../ffi/library.ts";
import { closedError, detachedError, HotpathError, statusError } from "./errors.ts";
import { isOwnBufferDetached } from "./typed_arrays.ts";
import { alignment, describe, readOptions } from "./validate.ts";
import { LIMITS, SHARED_CACHE_HEADER, SHARED_POOL_HEADER, STATUS } from "../ffi/abi.generated.ts";
import { type EpochGuard, EpochMember, OWNER_RETIRED } from "./shared_epochs.ts";
import { type Attached, attachedRequest, attachOrCreate, withLayout } from "./shared_pool_open.ts";
import { type Schema, type StructCursor, StructLayout } from "./struct.ts";
import { track, untrack } from "./metrics.ts";
import { placedNodeOf } from "./placement_report.ts";
import { debugOption } from "./pool_options.ts";
import {
  checkDescriptor,
  checkLayout,
  currentPid,
  regionPath,
  SHARED_STRUCT_POOL_OPTION_KEYS,
  type SharedCacheStats,
  type SharedOpenOptions,
  type SharedPoolDescriptor,
  type SharedPoolOptions,
  type SharedPoolStats,
  type SharedStructPoolOptions,
} from "./shared_pool_options.ts";
import {
  attachSharedRegion,
  openSharedRegion,
  pathMatches,
  readCaches,
  readCounters,
  type SharedAttachment,
  unlinkSharedRegion,
} from "./shared_pool_region.ts";

/** Plain stores become visible to other threads in program order on x86-64 (TSO), so debug
 * mode's free restores the owner byte without the fence of `Atomics.store` (about 3 ns). */
const STORES_IN_ORDER = process.arch === "x64";

export type {
  EpochGuard,
  SharedCacheStats,
  SharedOpenOptions,
  SharedPoolDescriptor,
  SharedPoolOptions,
  SharedPoolStats,
  SharedStructPoolOptions,
};

/** A SharedPool from `SharedPool.of`: `at(handle)` returns a typed cursor. */
export type SharedStructPool<S extends Schema> = SharedPool & {
  /** Its one cursor, moved to allocated block `handle`. */
  at(handle: number): StructCursor<S>;
};

// deno-lint-ignore no-explicit-any
type AnyCursor = StructCursor<any>;

/** Cold state of one attachment. */
interface SharedPoolState {
  native: Native;
  attachment: SharedAttachment;
  path: string | undefined;
  closed: boolean;
  bytes: Uint8Array;
  layout: StructLayout<never> | undefined;
  /** The whole region as u32 words: home stack heads and the links in freed blocks. */
  words: Uint32Array;
  /** Its side of epoch reclamation: enter/exit nesting and the retire ring. */
  epochs: EpochMember;
}

/** A lock-free pool shared by Workers and processes; see the module documentation. */
export class SharedPool {
  // Hot state, assigned once in the constructor (shared/PERF-NOTES.md: JSC watchpoints).
  /** This realm's cache: word 0 its count, word 15 + i its i-th handle. */
  declare private readonly cache: Uint32Array;
  /** One byte per block: 0 free, else the index + 1 of the cache that has it (read-only here). */
  declare private readonly owners: Uint8Array;
  /** This cache's bitmap: bit h set while handle h is in its magazine. */
  declare private readonly bits: Int32Array;
  /** Every cache's bitmap, `bitmapWords` words each (the cache with tag t at (t - 1) * bitmapWords). */
  declare private readonly bitmaps: Int32Array;
  declare private readonly bitmapWords: number;
  declare private readonly ownerTag: number;
  declare private readonly cacheCapacity: number;
  declare private readonly cursor: AnyCursor | undefined;
  /** Bytes from one block to the next. */
  declare readonly stride: number;
  /** The most blocks the pool may grow to; handles are below it. */
  declare readonly maxCapacity: number;
  /** Bytes of one block. */
  declare readonly blockSize: number;
  /** Alignment of every block. */
  declare readonly align: number;
  /** The region's name or path ("" for anonymous memory). */
  declare readonly name: string;
  /** Debug mode: double frees racing in two threads are caught too (see `free`). */
  declare readonly debug: boolean;
  #c: SharedPoolState;

  /**
   * A SharedPool of records: `at(handle)` gives a typed cursor.
   *
   * @example
   * ```ts
   * import { SharedPool, struct } from "@hotpath/core";
   * const Quote = struct({ price: "f64", size: "u32" });
   * using quotes = SharedPool.of(Quote, { capacity: 4096 });
   * const handle = quotes.alloc();
   * quotes.at(handle).price = 101.25;
   * const descriptor = quotes.share(); // postMessage it to a Worker, which calls:
   * using view = SharedPool.attach(descriptor, { layout: Quote });
   * console.log(view.at(handle).price); // 101.25
   * ```
   */
  static of<S extends Schema>(layout: StructLayout<S>, options: SharedStructPoolOptions): SharedStructPool<S> {
    const where = "SharedPool.of";
    if (!StructLayout.isLayout(layout)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: layout must come from struct(...); got ${describe(layout)}.`,
      );
    }
    const given = readOptions(where, options, SHARED_STRUCT_POOL_OPTION_KEYS);
    const align = given.align === undefined ? Math.max(8, layout.align) : alignment(where, "align", given.align);
    if (align < layout.align) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: align ${align} is below the layout's alignment ${layout.align}.`,
      );
    }
    const poolOptions = { ...given, blockSize: layout.size, align } as SharedPoolOptions;
    return new SharedPool(withLayout(poolOptions, layout as StructLayout<never>)) as unknown as SharedStructPool<S>;
  }

  /**
   * Attaches to a pool another Worker shared with `share()`: in the same process by its id, in
   * another process by its path (named pools only). CLOSED once no realm of the sharing process
   * has it open.
   */
  static attach(
    descriptor: SharedPoolDescriptor,
    options: Pick<SharedOpenOptions, "layout" | "debug"> = {},
  ): SharedPool {
    const where = "SharedPool.attach";
    const checked = checkDescriptor(where, descriptor);
    const given = readOptions(where, options, ["layout", "debug"]);
    const layout = checkLayout(where, given.layout, checked.blockSize, checked.align);
    const debug = given.debug === undefined ? checked.debug : debugOption(where, given.debug);
    const native = openNative();
    if (checked.pid === currentPid() && attachSharedRegion(native, checked.id)) {
      // The descriptor's path is believed only if it names this region's own file.
      const path = checked.path !== null && pathMatches(native, checked.id, checked.path) ? checked.path : undefined;
      return SharedPool.#attached({ id: checked.id, path, layout, debug });
    }
    if (checked.path !== null) return SharedPool.open({ path: checked.path, layout, debug });
    throw new HotpathError(
      "CLOSED",
      checked.pid === currentPid()
        ? `${where}: the pool is no longer open in this process (every SharedPool over it was closed).`
        : `${where}: the pool lives in anonymous memory of process ${checked.pid}; only its Workers can ` +
          "attach. Create it with a name to share it between processes.",
    );
  }

  /** Opens a named pool of records with typed cursors (see the untyped overload). */
  static open<S extends Schema>(options: SharedOpenOptions & { layout: StructLayout<S> }): SharedStructPool<S>;
  /** Opens a named pool that this or another process created (NOT_FOUND if none). */
  static open(options: SharedOpenOptions): SharedPool;
  static open(options: SharedOpenOptions): SharedPool {
    const where = "SharedPool.open";
    const given = readOptions(where, options, ["name", "path", "layout", "debug"]);
    const path = regionPath(where, given.name, given.path);
    if (path === undefined) throw new HotpathError("INVALID_ARGUMENT", `${where}: give the pool's name or path.`);
    const debug = debugOption(where, given.debug);
    const native = openNative();
    const id = openSharedRegion(native, path, where);
    return SharedPool.#attached({ id, path, layout: given.layout as StructLayout<never> | undefined, debug });
  }

  /** Removes a named pool's name; processes that have it open keep using it. NOT_FOUND if absent. */
  static unlink(options: { name?: string; path?: string }): void {
    const where = "SharedPool.unlink";
    const given = readOptions(where, options, ["name", "path"]);
    const path = regionPath(where, given.name, given.path);
    if (path === undefined) throw new HotpathError("INVALID_ARGUMENT", `${where}: give the pool's name or path.`);
    unlinkSharedRegion(openNative(), path, where);
  }

  static #attached(attached: Attached): SharedPool {
    return new SharedPool(attachedRequest(attached));
  }

  /**
   * Creates a pool in shared anonymous memory, or in the new file `/dev/shm/<name>` (or
   * `path`), created exclusively with mode 0600. Throws INVALID_ARGUMENT for bad options,
   * ALREADY_EXISTS, NO_SPACE (with the numbers), OUT_OF_MEMORY.
   */
  constructor(options: SharedPoolOptions) {
    const native = openNative();
    const { attachment, path, layout, debug } = attachOrCreate(native, options);
    const g = attachment.geometry;
    const buffer = attachment.buffer;
    // Exactly the header and the handles: a count past the capacity reads undefined, not a ring word.
    this.cache = new Uint32Array(
      buffer,
      g.cachesOffset + attachment.cacheIndex * g.cacheStride,
      SHARED_CACHE_HEADER.size / 4 + g.cacheCapacity,
    );
    this.owners = new Uint8Array(buffer, g.ownersOffset, g.capacityMax);
    this.bits = new Int32Array(buffer, g.bitmapsOffset + attachment.cacheIndex * g.bitmapWords * 4, g.bitmapWords);
    this.bitmaps = new Int32Array(buffer, g.bitmapsOffset, g.cachesMax * g.bitmapWords);
    this.bitmapWords = g.bitmapWords;
    this.ownerTag = attachment.cacheIndex + 1;
    this.cacheCapacity = g.cacheCapacity;
    const bytes = new Uint8Array(buffer, g.blocksOffset, g.capacityMax * g.blockStride);
    this.cursor = layout?.cursor(bytes);
    this.stride = g.blockStride;
    this.maxCapacity = g.capacityMax;
    this.blockSize = g.blockSize;
    this.align = g.alignment;
    this.name = path ?? "";
    this.debug = debug;
    const ringStart = g.cachesOffset + attachment.cacheIndex * g.cacheStride + g.retireOffset;
    const epochViews = {
      cache: this.cache,
      header: new Uint32Array(buffer, 0, SHARED_POOL_HEADER.size / 4),
      ring: new Uint32Array(buffer, ringStart, 2 * g.retireCapacity),
    };
    this.#c = {
      native,
      attachment,
      path,
      closed: false,
      bytes,
      layout,
      words: new Uint32Array(buffer, 0, buffer.byteLength >>> 2),
      epochs: new EpochMember(epochViews, () => this.#collectNative(), () => this.exit()),
    };
    if (debug) Object.defineProperty(this, "free", { value: SharedPool.#freeAtomic });
    track(this, placedNodeOf(buffer));
  }

  /** Every block as one Uint8Array over the region; block `h` starts at `offset(h)`. */
  get bytes(): Uint8Array {
    this.#checkOpen();
    return this.#c.bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#c.closed;
  }

  /** The record layout of a pool from `SharedPool.of` (or given to open/attach). */
  get layout(): StructLayout<never> | undefined {
    return this.#c.layout;
  }

  /** Allocates a block; throws POOL_EXHAUSTED when no Worker or process has one free. */
  alloc(): number {
    const handle = this.tryAlloc();
    if (handle < 0) throw this.#exhausted();
    return handle;
  }

  /** Allocates a block, or returns -1 when none is free anywhere (no throw, no garbage). */
  tryAlloc(): number {
    const cache = this.cache;
    const count = cache[0];
    // Handle i sits in word 15 + i; word 15 holds 0x7fffffff (empty), a closed count reads undefined.
    const handle = cache[count + 15];
    const bits = this.bits;
    const index = handle >>> 5;
    const word = bits[index];
    const mask = 1 << handle;
    // The handle's bit: 0x7fffffff (empty) reads past the bitmap, a handle not in the magazine
    // has none. A count past the capacity (closed, or overwritten) reads no handle at all.
    if ((word & mask) === 0 || count > this.cacheCapacity) return this.#refill();
    bits[index] = word ^ mask; // the bit is set: clears it
    cache[0] = count - 1;
    return handle;
  }

  /**
   * Returns a block, from any Worker or process. A block this attachment allocated goes back to
   * its cache; one another attachment allocated goes home to that attachment's home stack, so
   * that each Worker keeps using its own blocks. Throws INVALID_HANDLE for a value that is not a
   * handle of this pool and DOUBLE_FREE for a block that is not allocated (a free of another's
   * block swaps its owner byte by CAS, so of two Workers freeing it at the same moment one gets
   * DOUBLE_FREE). In release mode the allocating Worker's own free writes only its own cache: a
   * free of the same block by another Worker at that same moment is not caught. Debug mode
   * (`debug: true`) holds the owner byte by CAS for the length of the free to catch it too.
   */
  free(handle: number): void {
    if (typeof handle !== "number" || !(handle < this.maxCapacity) || handle >>> 0 !== handle) {
      throw this.#invalidHandle(handle);
    }
    const bits = this.bits;
    const index = handle >>> 5;
    const mask = 1 << handle;
    let word = bits[index];
    // Not this attachment's block (another's, free, retired, or a moved buffer: undefined), or
    // in its magazine already (freed before).
    if (this.owners[handle] !== this.ownerTag || (word & mask) !== 0) return this.#freeSlow(handle);
    const cache = this.cache;
    let count = cache[0] + 1;
    if (!(count <= this.cacheCapacity)) {
      count = this.#flush() + 1;
      word = bits[index]; // the flush cleared the bits of the blocks it took
    }
    // Into the cache first: a thread stopped after this line leaves a block that reclaim frees.
    cache[count + 15] = handle;
    cache[0] = count;
    bits[index] = word ^ mask; // the bit is clear: sets it
  }

  /** `free` of a block that is not this attachment's allocation. */
  #freeSlow(handle: number): void {
    if (this.owners[handle] !== this.ownerTag) return this.#freeForeign(handle);
    throw this.#doubleFree(handle);
  }

  /** `free` of debug mode: the allocating Worker's own free clears the owner byte by CAS too. */
  static #freeAtomic = function (this: SharedPool, handle: number): void {
    if (typeof handle !== "number" || !(handle < this.maxCapacity) || handle >>> 0 !== handle) {
      throw this.#invalidHandle(handle);
    }
    const owners = this.owners;
    const tag = this.ownerTag;
    if (owners[handle] !== tag) return this.#freeForeign(handle);
    const bits = this.bits;
    const index = handle >>> 5;
    const mask = 1 << handle;
    if ((bits[index] & mask) !== 0) throw this.#doubleFree(handle);
    const cache = this.cache;
    let count = cache[0] + 1;
    if (!(count <= this.cacheCapacity)) count = this.#flush() + 1;
    // The owner byte held at 0 while the block goes in: a free by another Worker now fails its
    // CAS, and one after finds the bit set.
    if (Atomics.compareExchange(owners, handle, tag, 0) !== tag) throw this.#doubleFree(handle);
    cache[count + 15] = handle;
    cache[0] = count;
    bits[index] |= mask;
    // The arbiter was the CAS; the byte must only become visible after the cache and the bit.
    if (STORES_IN_ORDER) owners[handle] = tag;
    else Atomics.store(owners, handle, tag);
  };

  /** For a pool of records: its one cursor, moved to allocated block `handle`. */
  at<S extends Schema>(this: SharedStructPool<S>, handle: number): StructCursor<S>;
  at(handle: number): AnyCursor {
    const cursor = this.cursor;
    if (typeof handle !== "number" || cursor === undefined || this.#c.closed) return this.#atChecked(handle);
    // Allocated (or retired): an owner byte, and not in that cache's magazine. A retired
    // block's byte (255) reads past the bitmaps: undefined, no bit.
    const owner = this.owners[handle];
    if (!(owner > 0) || (this.bitmaps[(owner - 1) * this.bitmapWords + (handle >>> 5)] & (1 << handle)) !== 0) {
      return this.#atChecked(handle);
    }
    cursor.$base = handle * this.stride;
    return cursor;
  }

  /** Byte offset of an allocated block inside `bytes`. */
  offset(handle: number): number {
    return this.#blockOf(handle) * this.stride;
  }

  /** Native address of an allocated block (valid while the pool is open). */
  ptr(handle: number): number {
    const attachment = this.#c.attachment;
    return attachment.address + attachment.geometry.blocksOffset + this.#blockOf(handle) * this.stride;
  }

  /** A new Uint8Array over one allocated block. Allocates the view object. */
  view(handle: number): Uint8Array {
    const start = this.#blockOf(handle) * this.stride;
    return this.#c.bytes.subarray(start, start + this.blockSize);
  }

  /** True when `handle` is allocated now (by any Worker or process). */
  isAllocated(handle: number): boolean {
    this.#checkOpen();
    if (typeof handle !== "number" || handle >>> 0 !== handle || !(handle < this.maxCapacity)) return false;
    const owner = Atomics.load(this.owners, handle);
    return this.#held(owner, handle);
  }

  /**
   * Enters an epoch: until the matching `exit()`, no block that another Worker retires from now
   * on is freed, so records reached through shared links stay valid while read. Nests; returns a
   * guard for `using guard = pool.enter();`. Keep sections short: a reader inside holds back
   * every retired block (reported as `stuckReaders` in stats after 100 ms).
   */
  enter(): EpochGuard {
    const epochs = this.#c.epochs;
    if (!epochs.inside) this.#checkOpen();
    return epochs.enter();
  }

  /** Leaves the epoch entered last (INVALID_ARGUMENT without a matching `enter()`). */
  exit(): void {
    // close() left the epoch already: a `using` guard may still end after it.
    if (!this.#c.closed) this.#c.epochs.exit();
  }

  /**
   * Frees an allocated block once no Worker or process that may still be reading it is inside
   * an epoch it entered before this call: for records just unlinked from a shared structure.
   * Until then its contents stay as they were. Throws DOUBLE_FREE for a block that is not
   * allocated (free or retired already) and LIMIT_REACHED when this Worker's `retire` blocks
   * cannot be freed because a reader stays inside an old epoch (stats name it).
   */
  retire(handle: number): void {
    this.#retire(handle, true);
  }

  /**
   * `retire` that returns false instead of throwing LIMIT_REACHED when this Worker's retired
   * blocks are all still visible to a reader: the caller backs off and tries again.
   */
  tryRetire(handle: number): boolean {
    return this.#retire(handle, false);
  }

  /** Frees this Worker's retired blocks that no reader can still see; returns how many remain retired. */
  collect(): number {
    this.#checkOpen();
    return this.#c.epochs.collect();
  }

  /** A descriptor that `SharedPool.attach` accepts in a Worker (or, for a named pool, another process). */
  share(): SharedPoolDescriptor {
    this.#checkOpen();
    return {
      kind: "hotpath.SharedPool",
      version: 1,
      pid: currentPid(),
      id: this.#c.attachment.id,
      path: this.#c.path ?? null,
      blockSize: this.blockSize,
      align: this.align,
      debug: this.debug,
    };
  }

  /** Counters and caches, read from the region: the same from every attached Worker and process. */
  stats(): SharedPoolStats {
    this.#checkOpen();
    const { native, attachment } = this.#c;
    const counters = readCounters(native, attachment.id, "SharedPool.stats");
    return {
      capacity: counters.capacity,
      maxCapacity: counters.capacityMax,
      inUse: counters.inUse,
      freeListed: counters.freeListed,
      cached: counters.cached,
      homed: counters.homed,
      highWater: counters.highWater,
      refills: counters.refills,
      flushes: counters.flushes,
      reclaimedBlocks: counters.reclaimedBlocks,
      reclaimedCaches: counters.reclaimedCaches,
      failedAllocations: counters.failed,
      growths: counters.grows,
      growthFailures: counters.growFailures,
      epoch: counters.epoch,
      retired: counters.retired,
      limbo: counters.limbo,
      retiredFreed: counters.retiredFreed,
      stuckReaders: counters.stuckReaders,
      blockingMs: counters.blockingMs,
      interruptedBatches: counters.interruptedBatches,
      caches: readCaches(native, attachment.id, attachment.geometry.cachesMax, attachment.cacheIndex),
      bytesReserved: attachment.geometry.regionBytes,
      metadataBytes: attachment.geometry.blocksOffset,
    };
  }

  /**
   * Returns the cached blocks of Workers and processes that ended without closing (terminated
   * Worker, `kill -9`) to the pool; returns how many. Refills do this by themselves when the
   * pool runs dry.
   */
  reclaimAbandoned(): number {
    return this.#call("SharedPool.reclaimAbandoned", (symbols, id) => symbols.hp_shared_reclaim(id));
  }

  /**
   * Returns blocks stranded by a process killed inside a batch move (`stats().interruptedBatches`
   * says when that happened), after reclaiming abandoned caches. A move is ordered to strand its
   * batch rather than hand blocks out twice, and strays can only be told from blocks in flight
   * when nobody else moves any: so this runs only while every other attachment of the pool is
   * closed or dead (BUSY otherwise), typically when a restarted process finds the pool. Returns
   * how many blocks came back.
   */
  recover(): number {
    this.#checkOpen();
    const { native, attachment } = this.#c;
    const strays = native.symbols.hp_shared_recover(attachment.id, attachment.cacheToken);
    if (strays < 0) throw this.#cacheError(strays, "SharedPool.recover");
    return strays;
  }

  /** Commits the next chunk of a growing pool now; returns the capacity. POOL_EXHAUSTED at the maximum. */
  grow(): number {
    return this.#call("SharedPool.grow", (symbols, id) => symbols.hp_shared_grow(id));
  }

  /**
   * Checks, while no Worker or process is using the pool, that every block is exactly once
   * free-listed, cached or allocated; returns the blocks allocated. Throws CORRUPTED otherwise.
   */
  check(): number {
    return this.#call("SharedPool.check", (symbols, id) => symbols.hp_shared_verify(id));
  }

  /** Removes this named pool's name (see `SharedPool.unlink`). */
  unlink(): void {
    this.#checkOpen();
    if (this.#c.path === undefined) {
      throw new HotpathError("INVALID_ARGUMENT", "SharedPool.unlink: this pool has no name (anonymous memory).");
    }
    unlinkSharedRegion(this.#c.native, this.#c.path, "SharedPool.unlink");
  }

  /**
   * Returns this realm's cached blocks to the pool and detaches. Other Workers and processes
   * keep the pool; the memory goes with the last one. Views kept after it never crash: they
   * read the pool while others have it open, zeros after.
   */
  close(): void {
    const c = this.#c;
    if (c.closed) return;
    c.closed = true;
    c.epochs.leave();
    c.native.symbols.hp_shared_cache_close(c.attachment.id, c.attachment.cacheToken);
    c.native.symbols.hp_region_close(c.attachment.id);
    untrack(this);
  }

  /** `using pool = new SharedPool(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Frees a block this attachment did not allocate: its owner byte from the allocator's tag to
   * 0 by CAS (the arbiter between two Workers freeing it), then onto the allocator's home stack
   * (link in the block's first word). A process killed between the two strands the block,
   * which `recover()` finds; it never hands it out twice.
   */
  #freeForeign(handle: number): void {
    this.#checkOpen();
    const owners = this.owners;
    const owner = Atomics.load(owners, handle);
    const g = this.#c.attachment.geometry;
    if (!this.#held(owner, handle)) throw this.#doubleFree(handle);
    if (Atomics.compareExchange(owners, handle, owner, 0) !== owner) throw this.#doubleFree(handle);
    // Its owner freed it into its magazine meanwhile (a double free): the byte goes back.
    if (this.#inMagazine(owner, handle)) {
      Atomics.compareExchange(owners, handle, 0, owner);
      throw this.#doubleFree(handle);
    }
    const words = this.#c.words;
    const head = (g.homesOffset + (owner - 1) * LIMITS.cacheLineBytes) >>> 2;
    const link = (g.blocksOffset + handle * this.stride) >>> 2;
    let top = Atomics.load(words, head);
    for (;;) {
      Atomics.store(words, link, top);
      const seen = Atomics.compareExchange(words, head, top, handle);
      if (seen === top) return;
      top = seen;
    }
  }

  #refill(): number {
    this.#checkOpen();
    const { native, attachment } = this.#c;
    const count = native.symbols.hp_shared_refill(attachment.id, attachment.cacheToken);
    if (count < 0) throw this.#cacheError(count, "SharedPool.alloc");
    if (count === 0) return -1;
    const handle = this.cache[count + 15];
    if (this.owners[handle] !== this.ownerTag || !this.#inMagazine(this.ownerTag, handle)) throw this.#corrupted();
    this.bits[handle >>> 5] &= ~(1 << handle);
    this.cache[0] = count - 1;
    return handle;
  }

  #flush(): number {
    this.#checkOpen();
    const { native, attachment } = this.#c;
    const count = native.symbols.hp_shared_flush(attachment.id, attachment.cacheToken);
    if (count < 0) throw this.#cacheError(count, "SharedPool.free");
    if (count >= this.cacheCapacity) throw this.#corrupted();
    return count;
  }

  #retire(handle: number, throwWhenFull: boolean): boolean {
    this.#checkOpen();
    if (typeof handle !== "number" || !(handle < this.maxCapacity) || handle >>> 0 !== handle) {
      throw this.#invalidHandle(handle);
    }
    const owners = this.owners;
    const owner = Atomics.load(owners, handle);
    if (!this.#held(owner, handle)) throw this.#doubleFree(handle, "SharedPool.retire");
    const epochs = this.#c.epochs;
    // The ring entry before the owner byte: a Worker stopped in between leaves an entry that
    // reclamation frees, never a retired block that nothing will free.
    if (!epochs.append(handle)) {
      if (throwWhenFull) throw this.#stuckReader();
      return false;
    }
    // This Worker's own block in release mode: nobody else may change its byte but a racing
    // free (not caught in release mode, as for free). Otherwise by CAS, then the bit again.
    if (!this.debug && owner === this.ownerTag) owners[handle] = OWNER_RETIRED;
    else if (Atomics.compareExchange(owners, handle, owner, OWNER_RETIRED) !== owner) {
      epochs.unappend();
      throw this.#doubleFree(handle, "SharedPool.retire");
    } else if (this.#inMagazine(owner, handle)) {
      Atomics.compareExchange(owners, handle, OWNER_RETIRED, owner);
      epochs.unappend();
      throw this.#doubleFree(handle, "SharedPool.retire");
    }
    return true;
  }

  /** One native collection for this attachment's ring; returns the entries left. */
  #collectNative(): number {
    this.#checkOpen();
    const { native, attachment } = this.#c;
    const remaining = native.symbols.hp_shared_collect(attachment.id, attachment.cacheToken);
    if (remaining < 0) throw this.#cacheError(remaining, "SharedPool.collect");
    return remaining;
  }

  #stuckReader(): HotpathError {
    const { native, attachment } = this.#c;
    const capacity = attachment.geometry.retireCapacity;
    const counters = readCounters(native, attachment.id, "SharedPool.retire");
    return new HotpathError(
      "LIMIT_REACHED",
      `SharedPool.retire: all ${capacity} retired blocks of this Worker are still visible to a reader that ` +
        `has stayed inside an epoch for ${counters.blockingMs} ms (${counters.stuckReaders} stuck reader(s); ` +
        "see stats().caches). Readers must exit() soon after enter(); or create the pool with a larger retire.",
    );
  }

  /** A cold native call on this pool: open first, a negative status becomes its HotpathError. */
  #call(where: string, call: (symbols: Native["symbols"], id: number) => number): number {
    this.#checkOpen();
    const result = call(this.#c.native.symbols, this.#c.attachment.id);
    if (result < 0) throw statusError(result, where, "POOL_EXHAUSTED");
    return result;
  }

  #checkOpen(): void {
    if (this.#c.closed) throw closedError("SharedPool");
    if (isOwnBufferDetached(this.#c.attachment.buffer)) {
      this.close();
      throw detachedError("SharedPool");
    }
  }

  #blockOf(handle: number): number {
    this.#checkOpen();
    if (typeof handle !== "number" || !(handle < this.maxCapacity) || handle >>> 0 !== handle) {
      throw this.#invalidHandle(handle);
    }
    const owner = Atomics.load(this.owners, handle);
    if (owner !== OWNER_RETIRED && !this.#held(owner, handle)) {
      throw new HotpathError("INVALID_HANDLE", `SharedPool: block ${handle} is not allocated.`);
    }
    return handle;
  }

  /** Whether the cache with owner byte `owner` holds `handle` free in its magazine. */
  #inMagazine(owner: number, handle: number): boolean {
    const word = Atomics.load(this.bitmaps, (owner - 1) * this.bitmapWords + (handle >>> 5));
    return (word & (1 << handle)) !== 0;
  }

  /** Whether a block with owner byte `owner` is allocated from a cache (not free, not retired). */
  #held(owner: number, handle: number): boolean {
    const cachesMax = this.#c.attachment.geometry.cachesMax;
    return owner > 0 && owner <= cachesMax && !this.#inMagazine(owner, handle);
  }

  #atChecked(handle: number): AnyCursor {
    if (this.cursor === undefined) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        "SharedPool.at: this pool has no layout; create it with SharedPool.of.",
      );
    }
    const cursor = this.cursor;
    cursor.$base = this.#blockOf(handle) * this.stride;
    return cursor;
  }

  #invalidHandle(handle: unknown): HotpathError {
    if (this.#c.closed) return closedError("SharedPool");
    return new HotpathError(
      "INVALID_HANDLE",
      `SharedPool: ${describe(handle)} is not a handle of this pool (an integer below ${this.maxCapacity}).`,
    );
  }

  #doubleFree(handle: number, where = "SharedPool.free"): HotpathError {
    return new HotpathError(
      "DOUBLE_FREE",
      `${where}: block ${handle} is not allocated: freed or retired already (perhaps by another Worker at ` +
        "the same moment), or never allocated.",
    );
  }

  #exhausted(): HotpathError {
    const counters = readCounters(this.#c.native, this.#c.attachment.id, "SharedPool.alloc");
    const refused = counters.growFailures > 0
      ? ` ${counters.growFailures} growth(s) were refused by the kernel or the file system (/dev/shm full?).`
      : "";
    return new HotpathError(
      "POOL_EXHAUSTED",
      `SharedPool.alloc: all ${counters.capacity} blocks are allocated or cached by other Workers ` +
        `(max ${counters.capacityMax}).${refused}`,
    );
  }

  /** A status from a call on this realm's cache. The library refuses the cache's token only when
   * the slot's state in the region no longer says this realm holds it: overwritten. */
  #cacheError(status: number, where: string): HotpathError {
    if (status === STATUS.invalidArgument) {
      return new HotpathError(
        "CORRUPTED",
        `${where}: the region no longer records this Worker's cache as its own; something wrote over it.`,
      );
    }
    return statusError(status, where, "POOL_EXHAUSTED");
  }

  #corrupted(): HotpathError {
    return new HotpathError(
      "CORRUPTED",
      "SharedPool: this Worker's cache holds a value that is not a handle; something wrote over the region.",
    );
  }
}
