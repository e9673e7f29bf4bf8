/**
 * `Pool`: fixed-size blocks in native memory with O(1) alloc and free, named by u32 handles.
 *
 * alloc and free run in TypeScript over the region's own block states and intrinsic free
 * list (the layout of zig/src/memory/pool.zig), so the hot path makes no FFI call and
 * allocates nothing. Native code sees the same states and links: batch calls and native
 * readers stay consistent.
 *
 * Rules that keep it fast on both engines (measured; bench/RESULTS.md has the figures):
 * - one test per operation on the common path: `states[handle] !== FREE` in alloc is the
 *   empty-list test (handle -1 reads undefined), the corruption test and the closed test;
 *   `typeof handle !== "number" || states[handle] !== ALLOCATED` in free is the type, range,
 *   double-free and closed test (out-of-range and non-integer indexes read undefined; the
 *   typeof test comes first so that no object is ever converted to an index);
 * - no store to a field on a path that may still be cold when JSC compiles the method (it
 *   becomes a generic store that makes every later load be redone): cold work lives in
 *   methods reached by `return this.#slow()` or behind `throw`;
 * - counters start as doubles (-0), so an increment needs no overflow check;
 * - the high water is the frontier (blocks are taken fresh only when the free list is
 *   empty), so alloc does not compare against it.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { BLOCK_STATE, LIMITS, POOL_HEADER } from "../ffi/abi.generated.ts";
import { closedError, detachedError, HotpathError, statusError } from "./errors.ts";
import { alignment, describe, integerError, integerIn, label, readOptions } from "./validate.ts";
import { closeRegion, createPoolRegion } from "./region.ts";
import { type Schema, type StructCursor, StructLayout } from "./struct.ts";
import { track } from "./metrics.ts";
import { debugBlockBytes, HANDLE_BITS_MAX, PoolDebug } from "./pool_debug.ts";
import { readCounter, word, writeCounter } from "./header_words.ts";
import { isDetached, type TypedArrayFacts, typedArrayFacts } from "./typed_arrays.ts";
import {
  debugOption,
  growthOption,
  type PoolGrowth,
  type PoolOptions,
  type PoolStats,
  type ScopedBlock,
  type StructPoolOptions,
} from "./pool_options.ts";

export type { PoolGrowth, PoolOptions, PoolStats, ScopedBlock, StructPoolOptions };

const FREE_HEAD = word(POOL_HEADER.freeHead);
const FRONTIER = word(POOL_HEADER.frontier);
const HIGH_WATER = word(POOL_HEADER.highWater);
const ALLOCATIONS = word(POOL_HEADER.allocations);
const FREES = word(POOL_HEADER.frees);
const FAILED = word(POOL_HEADER.failed);
const CAPACITY = word(POOL_HEADER.capacity);
const GROWTHS = word(POOL_HEADER.growths);
const FREE = BLOCK_STATE.free;
const ALLOCATED = BLOCK_STATE.allocated;
const FRESH = BLOCK_STATE.fresh;
/** No free block: the free-list end as a signed 32-bit value (0xFFFFFFFF natively). */
const END = -1;

/** Handle bits a SizeClassPool leaves to its class pools (it keeps the top bits): not an option. */
const handleBitsOf = new WeakMap<object, number>();
/** The record layout `Pool.of` gives a pool, keyed by the options it passes to the constructor. */
// deno-lint-ignore no-explicit-any
const layoutOf = new WeakMap<object, StructLayout<any>>();

/**
 * A pool whose blocks hold records of one struct layout: a Pool from `Pool.of(layout, options)`,
 * whose `at(handle)` gives typed access. One class for every pool keeps the hot methods
 * monomorphic (a subclass made their feedback polymorphic on V8: 2x the cost of alloc+free).
 */
export type StructPool<S extends Schema> = Pool & {
  /** The layout of every record. */
  readonly layout: StructLayout<S>;
};

/** Internal: a Pool whose debug handles fit in `handleBits` bits (SizeClassPool's class pools). */
export function poolWithHandleBits(options: PoolOptions, handleBits: number): Pool {
  handleBitsOf.set(options, handleBits);
  return new Pool(options);
}

/**
 * A pool of fixed-size blocks in one native mapping, pre-faulted at creation.
 *
 * A Pool belongs to the thread (Worker) that created it. Blocks are named by handles
 * (0 .. capacity-1, or with generation bits in debug mode); `bytes` views every block,
 * `offset(handle)` locates one in it. Its memory is released when it is closed and no view of
 * it remains, or when the pool and every view of it are garbage (a Worker's pools when it ends).
 *
 * With `grow`, the address space of `maxCapacity` blocks is reserved at creation and pages are
 * committed a chunk at a time when the pool runs out: blocks never move, so handles, views,
 * cursors and addresses taken before a growth stay valid. Growing makes system calls (it
 * faults in the chunk's pages); size `capacity` so that the hot path rarely needs it.
 *
 * @example
 * ```ts
 * import { Pool } from "@hotpath/core";
 * using pool = new Pool({ blockSize: 64, capacity: 1024 });
 * const order = pool.alloc();
 * const view = new DataView(pool.bytes.buffer, pool.bytes.byteOffset);
 * view.setFloat64(pool.offset(order), 100.25, true);
 * pool.free(order);
 * ```
 */
export class Pool {
  /** Bytes of one block as asked for. */
  readonly blockSize: number;
  /** The most blocks this pool may hold: `capacity` unless it grows. */
  readonly maxCapacity: number;
  /** Alignment of every block in bytes. */
  readonly align: number;
  /** Bytes from the start of one block to the start of the next (guard bytes included in debug mode). */
  readonly stride: number;
  /** The label given at creation, for `metrics()`. */
  readonly name: string;
  /** True in debug mode (option `debug` or HOTPATH_DEBUG=1). */
  readonly debug: boolean;
  /** The record layout of a pool from `Pool.of`; undefined for a pool of plain blocks. */
  // deno-lint-ignore no-explicit-any
  readonly layout: StructLayout<any> | undefined;

  #native: Native;
  #id: number;
  #closed = false;
  #address: number;
  #blocksOffset: number;
  #stateOffset: number;
  #strideWords: number;
  #regionBytes: number;
  #metadataBytes: number;
  #buffer: ArrayBuffer;
  #header: Uint32Array;
  /** One byte a block: FREE, ALLOCATED or FRESH (zig/src/layout.zig BlockState). */
  #states: Uint8Array;
  /** The intrusive free list: entry `handle * strideWords` links a free block to the next. */
  #links: Int32Array;
  #bytes: Uint8Array;
  // The hot state lives in fields (cheaper than typed-array elements) and is written to the
  // native header before and read back after every native call.
  #head = END;
  #frontier = 0;
  #allocations = -0;
  #frees = -0;
  /** The highest frontier before the last reset. */
  #highWater = 0;
  #failed = 0;
  #capacity: number;
  #growChunk: number;
  #debug: PoolDebug | undefined;
  // deno-lint-ignore no-explicit-any
  #cursor: StructCursor<any> | undefined;

  /**
   * A pool of records of `layout`, with a cursor for typed field access.
   *
   * @example
   * ```ts
   * import { Pool, struct } from "@hotpath/core";
   * const Order = struct({ id: "u64", price: "f64", qty: "u32", side: "u8" });
   * using orders = Pool.of(Order, { capacity: 1024 });
   * const handle = orders.alloc();
   * const order = orders.at(handle);
   * order.price = 100.5;
   * order.idAsNumber = 42;
   * ```
   */
  static of<S extends Schema>(layout: StructLayout<S>, options: StructPoolOptions): StructPool<S> {
    const where = "Pool.of";
    if (!(layout instanceof StructLayout)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: layout must be a StructLayout from struct(...); got ${describe(layout)}.`,
      );
    }
    const given = readOptions(where, options, ["capacity", "align", "name", "grow", "debug"]);
    const align = given.align === undefined ? Math.max(8, layout.align) : alignment(where, "align", given.align);
    if (align < layout.align) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: align ${align} is below the layout's alignment ${layout.align}.`,
      );
    }
    const poolOptions = { ...given, blockSize: layout.size, align } as PoolOptions;
    layoutOf.set(poolOptions, layout);
    return new Pool(poolOptions) as unknown as StructPool<S>;
  }

  /** Maps and formats a pool. Throws INVALID_ARGUMENT for bad options, OUT_OF_MEMORY if mapping fails. */
  constructor(options: PoolOptions) {
    const where = "new Pool";
    const handleBits = handleBitsOf.get(options as object) ?? HANDLE_BITS_MAX;
    const given = readOptions(where, options, ["blockSize", "capacity", "align", "name", "grow", "debug"]);
    this.blockSize = integerIn(where, "blockSize", given.blockSize, 1, LIMITS.blockSizeMax);
    const capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.poolCapacityMax);
    this.align = given.align === undefined ? 8 : alignment(where, "align", given.align);
    this.name = label(where, given.name);
    const growth = growthOption(where, given.grow, capacity);
    this.maxCapacity = growth.maxCapacity;
    this.debug = debugOption(where, given.debug);
    const nativeBlockSize = this.debug ? debugBlockBytes(this.blockSize) : this.blockSize;
    if (nativeBlockSize > LIMITS.blockSizeMax) {
      throw integerError(where, "blockSize (debug mode)", this.blockSize, 1, LIMITS.blockSizeMax - 16);
    }
    checkRegionSize(where, nativeBlockSize, this.align, this.maxCapacity);
    this.#native = openNative();
    const region = createPoolRegion(this.#native, {
      blockSize: nativeBlockSize,
      capacity,
      capacityMax: this.maxCapacity,
      growChunk: growth.chunk,
      alignment: this.align,
    }, "Pool");
    const cold = new DataView(region.buffer);
    this.#id = region.id;
    this.#address = region.address;
    this.#buffer = region.buffer;
    this.#regionBytes = region.buffer.byteLength;
    this.stride = cold.getUint32(POOL_HEADER.blockStride, true);
    this.#blocksOffset = cold.getUint32(POOL_HEADER.blocksOffset, true);
    this.#metadataBytes = Number(cold.getBigUint64(POOL_HEADER.metadataBytes, true));
    this.#strideWords = this.stride / 4;
    this.#header = new Uint32Array(region.buffer, 0, LIMITS.headerBytes / 4);
    // Every view spans the reservation of maxCapacity blocks: growth never has to replace one.
    const blocksBytes = this.maxCapacity * this.stride;
    this.#stateOffset = cold.getUint32(POOL_HEADER.stateOffset, true);
    this.#states = new Uint8Array(region.buffer, this.#stateOffset, this.maxCapacity);
    this.#links = new Int32Array(region.buffer, this.#blocksOffset, blocksBytes / 4);
    this.#bytes = new Uint8Array(region.buffer, this.#blocksOffset, blocksBytes);
    this.#capacity = capacity;
    this.#growChunk = growth.chunk;
    if (this.debug) {
      this.#debug = new PoolDebug(this.#bytes, this.blockSize, this.stride, this.maxCapacity, handleBits);
      this.#debug.prepare(0, capacity);
      // An own method, so that the shared `free` keeps its one shape (see free).
      Object.defineProperty(this, "free", { value: (handle: number) => this.#freeDebug(handle) });
    }
    this.#readHeader();
    this.layout = layoutOf.get(options as object);
    this.#cursor = this.layout?.cursor(this.#bytes);
    track(this);
  }

  /** Number of blocks now: grows by `grow.chunk` up to `maxCapacity` when the pool runs out. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Every block, as one Uint8Array over native memory; block `h` starts at `offset(h)`.
   * It spans `maxCapacity` blocks; those past `capacity` are reserved, not yet committed.
   */
  get bytes(): Uint8Array {
    this.#checkOpen();
    return this.#bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Allocates a block and returns its handle, growing the pool if it may. Throws
   * POOL_EXHAUSTED when no block is free and the pool cannot grow.
   */
  alloc(): number {
    const handle = this.tryAlloc();
    if (handle < 0) throw this.#exhausted();
    return handle;
  }

  /**
   * Allocates a block and returns its handle, or -1 when none is free and the pool cannot grow
   * (no throw, no garbage). Throws OUT_OF_MEMORY if the kernel refuses the pages of a growth.
   */
  tryAlloc(): number {
    const handle = this.#head;
    const states = this.#states;
    // The one test of the common path (see the module comment).
    if (states[handle] !== FREE) return this.#allocSlow(handle);
    this.#head = this.#links[handle * this.#strideWords];
    states[handle] = ALLOCATED;
    this.#allocations++;
    return handle;
  }

  /**
   * Returns a block to the pool; it is the next one `alloc()` hands out (LIFO).
   * Throws INVALID_HANDLE for a value that is not a handle of this pool, DOUBLE_FREE for a
   * handle that is not allocated, and in debug mode OVERFLOW when the block's guard bytes changed.
   */
  free(handle: number): void {
    const states = this.#states;
    // Only a throw may follow this test: any call that returns costs every free ~1 ns on Bun
    // (measured). Debug pools therefore get their own `free` (see the constructor).
    if (typeof handle !== "number" || states[handle] !== ALLOCATED) throw this.#freeError(handle);
    states[handle] = FREE;
    this.#links[handle * this.#strideWords] = this.#head;
    this.#head = handle;
    this.#frees++;
  }

  /**
   * Allocates up to `count` blocks, writing their handles to `out`, growing first if it may.
   * Returns how many were allocated: fewer than `count` when the pool runs out.
   * @param out receives the handles: a Uint32Array, not over this pool's own memory.
   * @param count how many to allocate, at most `out`'s length. Default: `out`'s length.
   */
  allocMany(out: Uint32Array, count?: number): number {
    const where = "Pool.allocMany";
    this.#checkOpen();
    const facts = this.#batchBuffer(where, out);
    const wanted = count === undefined ? facts.length : integerIn(where, "count", count, 0, facts.length);
    while (this.#capacity - this.#inUse() < wanted && this.#grow()) {
      // Grow before the native call, so a batch that fits after growing counts no failure.
    }
    if (this.#debug !== undefined) return this.#allocManyDebug(out, wanted);
    this.#writeHeader();
    const granted = this.#native.symbols.hp_pool_alloc_many(this.#id, out, facts.length, wanted);
    this.#readHeader();
    if (granted < 0) throw statusError(granted, where, "POOL_EXHAUSTED");
    return granted;
  }

  /**
   * Frees the first `count` handles of `handles`: all of them, or, if any is invalid or not
   * allocated (including repeated in the batch), none.
   * @param handles a Uint32Array, not over this pool's own memory.
   * @param count how many to free, at most `handles`' length. Default: `handles`' length.
   */
  freeMany(handles: Uint32Array, count?: number): void {
    const where = "Pool.freeMany";
    this.#checkOpen();
    const facts = this.#batchBuffer(where, handles);
    const wanted = count === undefined ? facts.length : integerIn(where, "count", count, 0, facts.length);
    if (this.#debug !== undefined) return this.#freeManyDebug(handles, wanted);
    this.#writeHeader();
    const status = this.#native.symbols.hp_pool_free_many(this.#id, handles, facts.length, wanted);
    this.#readHeader();
    if (status < 0) throw statusError(status, where, "POOL_EXHAUSTED");
  }

  /** Frees every block at once. Handles held before are no longer valid. A grown pool keeps its capacity. */
  reset(): void {
    this.#checkOpen();
    const debug = this.#debug;
    if (debug !== undefined) {
      for (let index = 0; index < this.#frontier; index++) {
        if (this.#states[index] === ALLOCATED) debug.retire(index);
      }
    }
    this.#writeHeader();
    const status = this.#native.symbols.hp_pool_reset(this.#id);
    this.#readHeader();
    if (status < 0) throw statusError(status, "Pool.reset", "POOL_EXHAUSTED");
    debug?.prepare(0, this.#capacity);
  }

  /**
   * Adds one chunk of blocks now (alloc does it by itself when the pool runs out), for
   * growing outside the hot path. Returns the new capacity. Throws POOL_EXHAUSTED when the
   * pool is at `maxCapacity` or does not grow.
   */
  grow(): number {
    this.#checkOpen();
    if (!this.#grow()) {
      throw new HotpathError(
        "POOL_EXHAUSTED",
        this.#growChunk === 0
          ? "Pool.grow: this pool has a fixed capacity; create it with grow: { chunk, maxCapacity }."
          : `Pool.grow: the pool is at its maxCapacity of ${this.maxCapacity} blocks.`,
      );
    }
    return this.#capacity;
  }

  /** Byte offset of an allocated block inside `bytes`. */
  offset(handle: number): number {
    return this.#blockOf(handle) * this.stride;
  }

  /**
   * Native address of an allocated block, for native code (Deno:
   * `Deno.UnsafePointer.create(BigInt(address))`). Valid while the pool is open: unlike views,
   * an address does not keep the mapping alive once the pool is closed and collected.
   */
  ptr(handle: number): number {
    return this.#address + this.#blocksOffset + this.#blockOf(handle) * this.stride;
  }

  /**
   * For a pool from `Pool.of`: its one cursor, moved to allocated block `handle`. Reading and
   * writing its fields allocates nothing; the next `at()` moves the same cursor.
   * INVALID_ARGUMENT for a pool of plain blocks.
   */
  at<S extends Schema>(this: StructPool<S>, handle: number): StructCursor<S>;
  // deno-lint-ignore no-explicit-any
  at(handle: number): StructCursor<any> {
    const offset = this.#blockOf(handle) * this.stride;
    const cursor = this.#cursor;
    if (cursor === undefined) {
      throw new HotpathError("INVALID_ARGUMENT", "Pool.at: this pool has no record layout; create it with Pool.of.");
    }
    return cursor.at(offset);
  }

  /** A new Uint8Array over one allocated block (`blockSize` bytes). Allocates the view object. */
  view(handle: number): Uint8Array {
    const start = this.#blockOf(handle) * this.stride;
    return this.#bytes.subarray(start, start + this.blockSize);
  }

  /** True when `handle` names a block that is allocated now (in debug mode: with its current generation). */
  isAllocated(handle: number): boolean {
    const debug = this.#debug;
    if (debug === undefined && typeof handle === "number" && this.#states[handle] === ALLOCATED) return true;
    this.#checkOpen();
    if (debug === undefined) return false;
    const index = debug.indexOf(handle, this.#capacity);
    return index >= 0 && debug.isCurrent(handle, index) && this.#states[index] === ALLOCATED;
  }

  /**
   * Checks the whole pool, O(capacity). Always: the free list holds exactly the free blocks
   * and every state byte is consistent (CORRUPTED otherwise). In debug mode also every guard
   * (OVERFLOW) and that every free block still holds its poison (USE_AFTER_FREE). Returns the
   * number of blocks checked.
   */
  check(): number {
    this.#checkOpen();
    const debug = this.#debug;
    const free = this.#frontier - this.#inUse();
    let seen = 0;
    let block = debug === undefined ? this.#head : debug.head;
    while (block !== END) {
      if (seen === free || this.#states[block] !== FREE || block >= this.#frontier) throw this.#corrupted(block);
      if (debug !== undefined) {
        const offset = debug.firstWriteAfterFree(block);
        if (offset >= 0) throw debug.writtenAfterFree(block, offset);
      }
      block = this.#links[block * this.#strideWords];
      seen++;
    }
    if (seen !== free) throw this.#corrupted(block);
    this.#checkStates();
    if (debug !== undefined) {
      for (let index = 0; index < this.#capacity; index++) {
        const offset = debug.firstGuardWrite(index);
        if (offset >= 0) throw debug.overflow(index, offset, this.#states[index] === ALLOCATED);
      }
    }
    return this.#capacity;
  }

  /** Counters and sizes, without a call into the library. */
  stats(): PoolStats {
    this.#checkOpen();
    const inUse = this.#inUse();
    return {
      capacity: this.#capacity,
      maxCapacity: this.maxCapacity,
      growths: this.#header[GROWTHS],
      debug: this.debug,
      blockSize: this.blockSize,
      blockStride: this.stride,
      inUse,
      free: this.#capacity - inUse,
      highWater: Math.max(this.#highWater, this.#frontier),
      allocations: this.#allocations + 0,
      frees: this.#frees + 0,
      failedAllocations: this.#failed,
      bytesReserved: this.#regionBytes,
      bytesCommitted: this.#committedBytes(),
      metadataBytes: this.#metadataBytes,
    };
  }

  /**
   * Closes the pool: every later call throws CLOSED, the memory goes back to the kernel.
   * Views taken earlier stay safe to touch (they read zeros). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#head = END;
    closeRegion(this.#native, this.#id);
    // Drop our views so the region can be released as soon as the caller's views are gone.
    this.#header = new Uint32Array(LIMITS.headerBytes / 4);
    this.#states = new Uint8Array(0);
    this.#links = new Int32Array(0);
    this.#bytes = new Uint8Array(0);
    this.#buffer = new ArrayBuffer(0);
    this.#cursor = undefined;
    this.#debug?.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Allocates a block that is freed when the `using` scope holding it ends. Allocates the scope object. */
  allocScoped(): ScopedBlock {
    const handle = this.alloc();
    return { handle, [Symbol.dispose]: () => this.free(handle) };
  }

  #inUse(): number {
    return this.#allocations - this.#frees;
  }

  /** Pages backed now (as zig/src/memory/pool.zig commits them): header and state bytes, and blocks. */
  #committedBytes(): number {
    const page = LIMITS.pageBytes;
    const statesEnd = Math.ceil((this.#stateOffset + this.#capacity) / page) * page;
    const blocksStart = Math.floor(this.#blocksOffset / page) * page;
    const blocksEnd = Math.ceil((this.#blocksOffset + this.#capacity * this.stride) / page) * page;
    return statesEnd + blocksEnd - Math.max(blocksStart, statesEnd);
  }

  /** Throws CLOSED, or DETACHED (and closes) when the region's buffer was transferred away. */
  #checkOpen(): void {
    if (this.#closed) throw closedError("Pool");
    if (isDetached(this.#buffer)) {
      this.close();
      throw detachedError("Pool");
    }
  }

  /** The header now holds what the fields hold (before a native call). */
  #writeHeader(): void {
    const header = this.#header;
    header[FREE_HEAD] = (this.#debug === undefined ? this.#head : this.#debug.head) >>> 0;
    header[FRONTIER] = this.#frontier;
    header[HIGH_WATER] = this.#highWater;
    writeCounter(header, ALLOCATIONS, this.#allocations);
    writeCounter(header, FREES, this.#frees);
    writeCounter(header, FAILED, this.#failed);
  }

  /** The fields now hold what the header holds (after a native call). */
  #readHeader(): void {
    const header = this.#header;
    const head = header[FREE_HEAD] | 0;
    if (this.#debug === undefined) {
      this.#head = head;
    } else {
      this.#debug.head = head;
      this.#head = END;
    }
    this.#frontier = header[FRONTIER];
    this.#highWater = header[HIGH_WATER];
    // `+ -0` keeps the counters doubles (see the module comment).
    this.#allocations = readCounter(header, ALLOCATIONS) + -0;
    this.#frees = readCounter(header, FREES) + -0;
    this.#failed = readCounter(header, FAILED);
  }

  /** Adds one chunk if the pool may grow; false when it may not. */
  #grow(): boolean {
    if (this.#growChunk === 0 || this.#capacity === this.maxCapacity) return false;
    const before = this.#capacity;
    this.#writeHeader();
    const result = this.#native.symbols.hp_pool_grow(this.#id);
    this.#readHeader();
    if (result < 0) throw statusError(result, "Pool.grow", "POOL_EXHAUSTED");
    if (this.#header[CAPACITY] !== result || result <= before) throw this.#corrupted(END);
    this.#capacity = result;
    this.#debug?.prepare(before, result);
    return true;
  }

  /** Every case the one test of `tryAlloc` sends here: empty list, closed, detached, debug, corrupted. */
  #allocSlow(handle: number): number {
    this.#checkOpen();
    if (this.#debug !== undefined) return this.#allocDebug(this.#debug);
    if (handle !== END) throw this.#corrupted(handle);
    const fresh = this.#fresh();
    if (fresh >= 0) return fresh;
    if (this.#grow()) return this.#fresh();
    this.#failed++;
    return -1;
  }

  /** The next never-used block, or -1 at capacity. */
  #fresh(): number {
    const block = this.#frontier;
    if (block >= this.#capacity) return -1;
    if (this.#states[block] !== FRESH) throw this.#corrupted(block);
    this.#frontier = block + 1;
    this.#states[block] = ALLOCATED;
    this.#allocations++;
    return block;
  }

  #allocDebug(debug: PoolDebug): number {
    let block = debug.head;
    if (block < 0) {
      block = this.#fresh();
      if (block < 0 && this.#grow()) block = this.#fresh();
      if (block < 0) {
        this.#failed++;
        return -1;
      }
    } else {
      const next = this.#links[block * this.#strideWords];
      if (this.#states[block] !== FREE) throw debug.writtenAfterFree(block, 0);
      const offset = debug.firstWriteAfterFree(block);
      if (offset >= 0) throw debug.writtenAfterFree(block, offset);
      this.#states[block] = ALLOCATED;
      debug.head = next;
      this.#allocations++;
    }
    debug.poisonLink(block);
    return debug.encode(block);
  }

  #freeDebug(handle: number): void {
    this.#checkOpen();
    const debug = this.#debug!;
    this.#releaseDebug(debug, this.#checkFreeDebug(debug, handle));
  }

  /** The block a debug handle may free; throws what is wrong with it. */
  #checkFreeDebug(debug: PoolDebug, handle: number): number {
    const block = debug.indexOf(handle, this.#capacity);
    if (block < 0) throw this.#invalidHandle(handle);
    const allocated = this.#states[block] === ALLOCATED;
    if (!allocated || !debug.isCurrent(handle, block)) throw debug.doubleFree(handle, block, allocated);
    const overflow = debug.firstGuardWrite(block);
    if (overflow >= 0) throw debug.overflow(block, overflow, true);
    return block;
  }

  #releaseDebug(debug: PoolDebug, block: number): void {
    this.#states[block] = FREE;
    debug.retire(block);
    debug.poison(block);
    this.#links[block * this.#strideWords] = debug.head;
    debug.head = block;
    this.#frees++;
  }

  #allocManyDebug(out: Uint32Array, count: number): number {
    for (let granted = 0; granted < count; granted++) {
      const handle = this.tryAlloc();
      if (handle < 0) {
        this.#failed += count - granted - 1;
        return granted;
      }
      out[granted] = handle;
    }
    return count;
  }

  #freeManyDebug(handles: Uint32Array, count: number): void {
    const debug = this.#debug!;
    // Check every handle first (a repeat inside the batch is a double free), then free them all.
    const blocks = new Set<number>();
    for (let at = 0; at < count; at++) {
      const block = this.#checkFreeDebug(debug, handles[at]);
      if (blocks.has(block)) throw debug.doubleFree(handles[at], block, false);
      blocks.add(block);
    }
    for (const block of blocks) this.#releaseDebug(debug, block);
  }

  /** The states below the frontier match the counters; those above it are fresh. */
  #checkStates(): void {
    let allocated = 0;
    for (let index = 0; index < this.#capacity; index++) {
      const state = this.#states[index];
      if (index >= this.#frontier ? state !== FRESH : state === FRESH) throw this.#corrupted(index);
      if (state === ALLOCATED) allocated++;
    }
    if (allocated !== this.#inUse()) throw this.#corrupted(END);
  }

  /** The block index of an allocated handle; throws what is wrong with any other value. */
  #blockOf(handle: number): number {
    const debug = this.#debug;
    if (debug === undefined && typeof handle === "number" && this.#states[handle] === ALLOCATED) return handle;
    this.#checkOpen();
    if (debug !== undefined) {
      const block = debug.indexOf(handle, this.#capacity);
      if (block < 0) throw this.#invalidHandle(handle);
      const allocated = this.#states[block] === ALLOCATED;
      if (!allocated || !debug.isCurrent(handle, block)) throw debug.staleHandle(handle, block, allocated);
      return block;
    }
    if (!this.#inRange(handle)) throw this.#invalidHandle(handle);
    throw new HotpathError(
      "INVALID_HANDLE",
      `Pool: handle ${handle} is not allocated (freed, reset or never allocated).`,
    );
  }

  /** The real facts of a batch buffer; throws INVALID_ARGUMENT for anything but a usable Uint32Array. */
  #batchBuffer(where: string, handles: unknown): TypedArrayFacts {
    const facts = typedArrayFacts(handles, "Uint32Array");
    if (facts === undefined || facts.detached) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: handles must be a Uint32Array over memory that was not transferred; got ${describe(handles)}.`,
      );
    }
    if (facts.buffer === this.#buffer) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: handles must not lie in this pool's own memory.`);
    }
    return { ...facts, length: Math.min(facts.length, LIMITS.batchMax) };
  }

  #inRange(handle: unknown): handle is number {
    return typeof handle === "number" && Number.isInteger(handle) && handle >= 0 && handle < this.#capacity;
  }

  /** What is wrong with a handle `free` refused: closed, detached, not a handle, or not allocated. */
  #freeError(handle: unknown): HotpathError {
    this.#checkOpen();
    return this.#inRange(handle)
      ? new HotpathError(
        "DOUBLE_FREE",
        `Pool: handle ${handle} is not allocated: it was freed already (double free) or never handed out.`,
      )
      : this.#invalidHandle(handle);
  }

  #exhausted(): HotpathError {
    const limit = this.#growChunk === 0
      ? "Free some, or create the pool with a larger capacity or with grow."
      : `It has grown to its maxCapacity of ${this.maxCapacity}.`;
    return new HotpathError("POOL_EXHAUSTED", `Pool is exhausted: all ${this.#capacity} blocks are in use. ${limit}`);
  }

  #invalidHandle(handle: unknown): HotpathError {
    const range = this.#debug === undefined
      ? `an integer from 0 to ${this.#capacity - 1}`
      : `a debug handle: generation << ${this.#debug.indexBits} | block index below ${this.#capacity}`;
    return new HotpathError("INVALID_HANDLE", `Pool: ${describe(handle)} is not a handle of this pool (${range}).`);
  }

  #corrupted(handle: number): HotpathError {
    return new HotpathError(
      "CORRUPTED",
      `Pool: the free list is corrupted at handle ${handle}: a freed block was written to (use after free). ` +
        "Debug mode (debug: true or HOTPATH_DEBUG=1) names the handle that did it.",
    );
  }
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
