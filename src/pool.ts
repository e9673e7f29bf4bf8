/**
 * `Pool`: fixed-size blocks in native memory with O(1) alloc and free, named by u32 handles.
 *
 * alloc and free run in TypeScript over the region's own block states and intrinsic free
 * list (the layout of zig/src/memory/pool.zig), so the hot path makes no FFI call and
 * allocates nothing. Native code sees the same states and links: batch calls and native
 * readers stay consistent.
 *
 * Rules that keep it fast on both engines (measured; bench/RESULTS.md has the figures):
 * - one test per operation on the common path: `!(states[head] <= FREE)` in alloc accepts a
 *   fresh or free block; the list end (the state byte at `capacity` holds END_STATE), a
 *   corrupted link and a closed or detached pool (its states read undefined) all fail it;
 *   `typeof handle !== "number" || states[handle] !== ALLOCATED` in free is the type, range,
 *   double-free and closed test (out-of-range and non-integer indexes read undefined; the
 *   typeof test comes first so that no object is ever converted to an index);
 * - no store to a field on a path that may still be cold when JSC compiles the method (it
 *   becomes a generic store that makes every later load be redone): cold work lives in
 *   methods reached by `return this.#slow()` or behind `throw`;
 * - counters start as doubles (-0), so an increment needs no overflow check;
 * - every block is on the free list from the start (creation, reset and growth link them in
 *   order), so filling a pool never leaves the common path: when the slow path had been warm,
 *   V8 compiled alloc+free 1.8x slower. Fresh blocks are handed out in order, so the high
 *   water is where the fresh blocks begin (a binary search in stats()), not a compare in alloc.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { adapter } from "../ffi/runtime.ts";
import { BLOCK_STATE, LIMITS, POOL_HEADER } from "../ffi/abi.generated.ts";
import { closedError, detachedError, HotpathError, statusError } from "./errors.ts";
import { alignment, describe, integerIn, readOptions } from "./validate.ts";
import { closeRegion, createPoolRegion } from "./region.ts";
import { MEMORY_OPTION_KEYS, placedNode } from "./placement.ts";
import { type Schema, type StructCursor, StructLayout } from "./struct.ts";
import { track } from "./metrics.ts";
import { HANDLE_BITS_MAX, PoolDebug } from "./pool_debug.ts";
import { readCounter, word, writeCounter } from "./header_words.ts";
import { isOwnBufferDetached, type TypedArrayFacts, typedArrayFacts } from "./typed_arrays.ts";
import {
  type PoolGrowth,
  type PoolOptions,
  poolSettings,
  type PoolStats,
  type ScopedBlock,
  type StructPoolOptions,
} from "./pool_options.ts";

export type { PoolGrowth, PoolOptions, PoolStats, ScopedBlock, StructPoolOptions };

const FREE_HEAD = word(POOL_HEADER.freeHead);
const HIGH_WATER = word(POOL_HEADER.highWater);
const ALLOCATIONS = word(POOL_HEADER.allocations);
const FREES = word(POOL_HEADER.frees);
const FAILED = word(POOL_HEADER.failed);
const CAPACITY = word(POOL_HEADER.capacity);
const GROWTHS = word(POOL_HEADER.growths);
const FREE = BLOCK_STATE.free;
const ALLOCATED = BLOCK_STATE.allocated;
const FRESH = BLOCK_STATE.fresh;
// tryAlloc and free compare against the literals 1 and 2: JSC does not fold a module constant
// read from another module's object, and the loads cost alloc+free up to 1.8x (measured).
if (FREE !== 1 || ALLOCATED !== 2 || FRESH !== 0 || BLOCK_STATE.end <= ALLOCATED) {
  throw new HotpathError("LAYOUT_MISMATCH", "Pool: BlockState changed; update the literals in tryAlloc and free.");
}

/**
 * JavaScriptCore keeps a pool's counters in a Float64Array: a field whose value passes 2^31
 * holds a boxed double there, and alloc+free went from 1.45x to 1.8x the free list once a pool
 * had made 2^31 allocations (minutes of trading). V8 is the other way round: double fields
 * 1.42x, a Float64Array 1.65x (measured). So tryAlloc and free have a JSC variant.
 */
const COUNTS_IN_ARRAY = adapter.runtime === "bun";

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

/** A Pool's state off the hot path. */
interface PoolCold {
  native: Native;
  id: number;
  closed: boolean;
  address: number;
  blocksOffset: number;
  stateOffset: number;
  regionBytes: number;
  metadataBytes: number;
  buffer: ArrayBuffer;
  header: Uint32Array;
  bytes: Uint8Array;
  /** The high water before the last reset. */
  highWater: number;
  failed: number;
  /** Blocks now: grows by growChunk up to maxCapacity. */
  capacity: number;
  growChunk: number;
  debug: PoolDebug | undefined;
  /** The record layout of a pool from `Pool.of`. */
  // deno-lint-ignore no-explicit-any
  layout: StructLayout<any> | undefined;
}

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
  // No public class field is defined on a Pool: every property below is `declare`d and
  // created by assignment in the constructor. JSC runs alloc+free 1.5x slower when a Pool has
  // public class fields (define semantics) and also when the hot state is #private (measured;
  // bench/RESULTS.md). The hot state is private to TypeScript only. Nothing in it is trusted
  // by native code: every access is a bounds-checked typed-array access, and Zig checks every
  // header value it reads.
  /** One byte a block: FREE, ALLOCATED or FRESH (zig/src/layout.zig BlockState). */
  declare private states: Uint8Array;
  /** The intrusive free list: entry `handle * strideWords` links a free block to the next. */
  declare private links: Int32Array;
  declare private strideWords: number;
  /** The intrusive free list's head. */
  declare private head: number;
  /** Counters on V8: doubles from the start (-0), so an increment needs no overflow check. */
  declare private allocations: number;
  declare private frees: number;
  /** Counters on JSC: [allocations, frees] (see COUNTS_IN_ARRAY). Cold paths update both forms. */
  declare private counts: Float64Array;
  /** The one cursor of a pool from `Pool.of` (its `$base` is set by at()); undefined otherwise. */
  // deno-lint-ignore no-explicit-any
  declare private cursor: any;

  /**
   * Everything else, in one holder: one class field instead of seventeen, so that the hot
   * properties above sit in the object's inline slots on JSC (with seventeen #private fields
   * defined first they went out of line: 2x the cost of alloc+free, measured).
   */
  #c: PoolCold;

  /** Bytes of one block as asked for. */
  declare readonly blockSize: number;
  /** The most blocks this pool may hold: `capacity` unless it grows. */
  declare readonly maxCapacity: number;
  /** Alignment of every block in bytes. */
  declare readonly align: number;
  /** Bytes from the start of one block to the start of the next (guard bytes included in debug mode). */
  declare readonly stride: number;
  /** The label given at creation, for `metrics()`. */
  declare readonly name: string;
  /** True in debug mode (option `debug` or HOTPATH_DEBUG=1). */
  declare readonly debug: boolean;

  // The rest of the allocation state; all of it is written to the native header before and
  // read back after every native call.

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
    if (!StructLayout.isLayout(layout)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: layout must be a StructLayout from struct(...); got ${describe(layout)}.`,
      );
    }
    const given = readOptions(where, options, ["capacity", "align", "name", "grow", "debug", ...MEMORY_OPTION_KEYS]);
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
    // The mutable hot properties first, so they take the first inline slots (`frees` went out
    // of line when it came after the public ones: measured on JSC).
    this.head = 0;
    this.allocations = -0;
    this.frees = -0;
    this.counts = new Float64Array(2);
    const handleBits = handleBitsOf.get(options as object) ?? HANDLE_BITS_MAX;
    const { capacity, growth, nativeBlockSize, ...settings } = poolSettings(options);
    this.blockSize = settings.blockSize;
    this.align = settings.align;
    this.name = settings.name;
    this.maxCapacity = growth.maxCapacity;
    this.debug = settings.debug;
    const native = openNative();
    const region = createPoolRegion(native, {
      blockSize: nativeBlockSize,
      capacity,
      capacityMax: this.maxCapacity,
      growChunk: growth.chunk,
      alignment: this.align,
      placement: settings.placement,
    }, "Pool");
    const cold = new DataView(region.buffer);
    this.stride = cold.getUint32(POOL_HEADER.blockStride, true);
    const blocksOffset = cold.getUint32(POOL_HEADER.blocksOffset, true);
    const stateOffset = cold.getUint32(POOL_HEADER.stateOffset, true);
    // Every view spans the reservation of maxCapacity blocks: growth never has to replace one.
    const blocksBytes = this.maxCapacity * this.stride;
    const bytes = new Uint8Array(region.buffer, blocksOffset, blocksBytes);
    // The constant hot properties are assigned exactly once: a second assignment fires JSC's
    // replacement watchpoint, and it then reloads and rechecks them on every alloc and free.
    this.strideWords = this.stride / 4;
    // maxCapacity + 1: the state byte after the last block is the free list's end sentinel.
    this.states = new Uint8Array(region.buffer, stateOffset, this.maxCapacity + 1);
    this.links = new Int32Array(region.buffer, blocksOffset, blocksBytes / 4);
    const layout = layoutOf.get(options as object);
    this.cursor = layout?.cursor(bytes);
    const debug = this.debug
      ? new PoolDebug(bytes, this.blockSize, this.stride, this.maxCapacity, handleBits)
      : undefined;
    this.#c = {
      native,
      id: region.id,
      closed: false,
      address: region.address,
      blocksOffset,
      stateOffset,
      regionBytes: region.buffer.byteLength,
      metadataBytes: Number(cold.getBigUint64(POOL_HEADER.metadataBytes, true)),
      buffer: region.buffer,
      header: new Uint32Array(region.buffer, 0, LIMITS.headerBytes / 4),
      bytes,
      highWater: 0,
      failed: 0,
      capacity,
      growChunk: growth.chunk,
      debug,
      layout,
    };
    if (debug !== undefined) {
      debug.prepare(0, capacity);
      this.#ownDebugMethods();
    }
    this.#readHeader();
    track(this, placedNode(settings.placement));
  }

  /** The record layout of a pool from `Pool.of`; undefined for a pool of plain blocks. */
  // deno-lint-ignore no-explicit-any
  get layout(): StructLayout<any> | undefined {
    return this.#c.layout;
  }

  /** Number of blocks now: grows by `grow.chunk` up to `maxCapacity` when the pool runs out. */
  get capacity(): number {
    return this.#c.capacity;
  }

  /**
   * Every block, as one Uint8Array over native memory; block `h` starts at `offset(h)`.
   * It spans `maxCapacity` blocks; those past `capacity` are reserved, not yet committed.
   */
  get bytes(): Uint8Array {
    this.#checkOpen();
    return this.#c.bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#c.closed;
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
    const handle = this.head;
    const states = this.states;
    // The one test of the common path (see the module comment): fresh (0) or free (1).
    if (!(states[handle] <= 1 /* FREE */)) return this.#allocSlow(handle);
    this.head = this.links[handle * this.strideWords];
    states[handle] = 2 /* ALLOCATED */;
    this.allocations++;
    return handle;
  }

  /**
   * Returns a block to the pool; it is the next one `alloc()` hands out (LIFO).
   * Throws INVALID_HANDLE for a value that is not a handle of this pool, DOUBLE_FREE for a
   * handle that is not allocated, and in debug mode OVERFLOW when the block's guard bytes changed.
   */
  free(handle: number): void {
    const states = this.states;
    // Only a throw may follow this test: any call that returns costs every free ~1 ns on Bun
    // (measured). Debug pools therefore get their own `free` (see the constructor).
    if (typeof handle !== "number" || states[handle] !== 2 /* ALLOCATED */) throw this.#freeError(handle);
    states[handle] = 1 /* FREE */;
    this.links[handle * this.strideWords] = this.head;
    this.head = handle;
    this.frees++;
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
    while (this.#c.capacity - this.#inUse() < wanted && this.#grow()) {
      // Grow before the native call, so a batch that fits after growing counts no failure.
    }
    if (this.#c.debug !== undefined) return this.#allocManyDebug(out, wanted);
    this.#writeHeader();
    const granted = this.#c.native.symbols.hp_pool_alloc_many(this.#c.id, out, facts.length, wanted);
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
    if (this.#c.debug !== undefined) return this.#freeManyDebug(handles, wanted);
    this.#writeHeader();
    const status = this.#c.native.symbols.hp_pool_free_many(this.#c.id, handles, facts.length, wanted);
    this.#readHeader();
    if (status < 0) throw statusError(status, where, "POOL_EXHAUSTED");
  }

  /** Frees every block at once. Handles held before are no longer valid. A grown pool keeps its capacity. */
  reset(): void {
    this.#checkOpen();
    const debug = this.#c.debug;
    if (debug !== undefined) {
      for (let index = 0; index < this.#c.capacity; index++) {
        if (this.states[index] === ALLOCATED) debug.retire(index);
      }
    }
    this.#writeHeader();
    const status = this.#c.native.symbols.hp_pool_reset(this.#c.id);
    this.#readHeader();
    if (status < 0) throw statusError(status, "Pool.reset", "POOL_EXHAUSTED");
    debug?.prepare(0, this.#c.capacity);
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
        this.#c.growChunk === 0
          ? "Pool.grow: this pool has a fixed capacity; create it with grow: { chunk, maxCapacity }."
          : `Pool.grow: the pool is at its maxCapacity of ${this.maxCapacity} blocks.`,
      );
    }
    return this.#c.capacity;
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
    return this.#c.address + this.#c.blocksOffset + this.#blockOf(handle) * this.stride;
  }

  /**
   * For a pool from `Pool.of`: its one cursor, moved to allocated block `handle`. Reading and
   * writing its fields allocates nothing; the next `at()` moves the same cursor.
   * INVALID_ARGUMENT for a pool of plain blocks.
   */
  at<S extends Schema>(this: StructPool<S>, handle: number): StructCursor<S>;
  // deno-lint-ignore no-explicit-any
  at(handle: number): StructCursor<any> {
    const cursor = this.cursor;
    // The handle test of `free`: an allocated block holds a record, at a checked offset.
    if (typeof handle !== "number" || this.states[handle] !== 2 /* ALLOCATED */ || cursor === undefined) {
      return this.#atChecked(handle);
    }
    cursor.$base = handle * this.stride;
    return cursor;
  }

  /** A new Uint8Array over one allocated block (`blockSize` bytes). Allocates the view object. */
  view(handle: number): Uint8Array {
    const start = this.#blockOf(handle) * this.stride;
    return this.#c.bytes.subarray(start, start + this.blockSize);
  }

  /** True when `handle` names a block that is allocated now (in debug mode: with its current generation). */
  isAllocated(handle: number): boolean {
    const debug = this.#c.debug;
    if (debug === undefined && typeof handle === "number" && this.states[handle] === ALLOCATED) return true;
    this.#checkOpen();
    if (debug === undefined) return false;
    const index = debug.indexOf(handle, this.#c.capacity);
    return index >= 0 && debug.isCurrent(handle, index) && this.states[index] === ALLOCATED;
  }

  /**
   * Checks the whole pool, O(capacity). Always: the free list holds exactly the free blocks
   * and every state byte is consistent (CORRUPTED otherwise). In debug mode also every guard
   * (OVERFLOW) and that every free block still holds its poison (USE_AFTER_FREE). Returns the
   * number of blocks checked.
   */
  check(): number {
    this.#checkOpen();
    const debug = this.#c.debug;
    const free = this.#c.capacity - this.#inUse();
    let seen = 0;
    let block = debug === undefined ? this.head : debug.head;
    while (block !== this.#c.capacity) {
      const state = this.states[block];
      if (seen === free || (state !== FREE && state !== FRESH) || block > this.#c.capacity) {
        throw this.#corrupted(block);
      }
      if (debug !== undefined) {
        const offset = debug.firstWriteAfterFree(block);
        if (offset >= 0) throw debug.writtenAfterFree(block, offset);
      }
      block = this.links[block * this.strideWords];
      seen++;
    }
    if (seen !== free) throw this.#corrupted(block);
    this.#checkStates();
    if (debug !== undefined) {
      for (let index = 0; index < this.#c.capacity; index++) {
        const offset = debug.firstGuardWrite(index);
        if (offset >= 0) throw debug.overflow(index, offset, this.states[index] === ALLOCATED);
      }
    }
    return this.#c.capacity;
  }

  /** Counters and sizes, without a call into the library. */
  stats(): PoolStats {
    this.#checkOpen();
    const inUse = this.#inUse();
    return {
      capacity: this.#c.capacity,
      maxCapacity: this.maxCapacity,
      growths: this.#c.header[GROWTHS],
      debug: this.debug,
      blockSize: this.blockSize,
      blockStride: this.stride,
      inUse,
      free: this.#c.capacity - inUse,
      highWater: Math.max(this.#c.highWater, this.#touched()),
      allocations: this.#allocationCount(),
      frees: this.#freeCount(),
      failedAllocations: this.#c.failed,
      bytesReserved: this.#c.regionBytes,
      bytesCommitted: this.#committedBytes(),
      metadataBytes: this.#c.metadataBytes,
    };
  }

  /**
   * Closes the pool: every later call throws CLOSED, the memory goes back to the kernel.
   * Views taken earlier stay safe to touch (they read zeros). Idempotent.
   */
  close(): void {
    if (this.#c.closed) return;
    this.#c.closed = true;
    // Nothing hot is replaced: a second assignment of states, links or cursor would make JSC
    // and V8 drop the constant-folding of those properties in every pool's compiled code. The
    // head past the state array fails every fast-path test, and the slow paths say CLOSED; the
    // views this pool holds go with it.
    this.head = this.maxCapacity + 1;
    closeRegion(this.#c.native, this.#c.id);
    // Drop our views so the region can be released as soon as the caller's views are gone.
    this.#c.header = new Uint32Array(LIMITS.headerBytes / 4);
    this.#c.bytes = new Uint8Array(0);
    this.#c.debug?.close();
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

  /** at() for everything but the fast case: debug handles, closed, detached, errors. */
  // deno-lint-ignore no-explicit-any
  #atChecked(handle: number): StructCursor<any> {
    const offset = this.#blockOf(handle) * this.stride;
    const cursor = this.cursor;
    if (cursor === undefined) {
      throw new HotpathError("INVALID_ARGUMENT", "Pool.at: this pool has no record layout; create it with Pool.of.");
    }
    return cursor.at(offset);
  }

  /**
   * Own methods, so that the shared ones never see a debug pool: `free` and `at` would have to
   * decode debug handles, and every debug alloc takes tryAlloc's slow branch, which in V8 made
   * release pools' alloc+free 2.4x slower in the same process (measured).
   */
  #ownDebugMethods(): void {
    const tryAlloc = () => this.#allocSlow(this.head);
    const own = (value: unknown) => ({ value, writable: false, enumerable: false, configurable: false });
    Object.defineProperties(this, {
      tryAlloc: own(tryAlloc),
      alloc: own(() => {
        const handle = tryAlloc();
        if (handle < 0) throw this.#exhausted();
        return handle;
      }),
      free: own((handle: number) => this.#freeDebug(handle)),
      at: own((handle: number) => this.#atChecked(handle)),
    });
  }

  #allocationCount(): number {
    return (COUNTS_IN_ARRAY ? this.counts[0] : this.allocations) + 0;
  }

  #freeCount(): number {
    return (COUNTS_IN_ARRAY ? this.counts[1] : this.frees) + 0;
  }

  /** A count from a cold path: both forms, so the one this engine reads is right. */
  #countAllocation(): void {
    this.allocations++;
    this.counts[0]++;
  }

  #countFree(): void {
    this.frees++;
    this.counts[1]++;
  }

  /** tryAlloc on JSC: the same, counting in `counts` (see COUNTS_IN_ARRAY). */
  static #tryAllocCountsInArray = function (this: Pool): number {
    const handle = this.head;
    const states = this.states;
    if (!(states[handle] <= 1 /* FREE */)) return this.#allocSlow(handle);
    this.head = this.links[handle * this.strideWords];
    states[handle] = 2 /* ALLOCATED */;
    this.counts[0]++;
    return handle;
  };

  /** free on JSC: the same, counting in `counts` (see COUNTS_IN_ARRAY). */
  static #freeCountsInArray = function (this: Pool, handle: number): void {
    const states = this.states;
    if (typeof handle !== "number" || states[handle] !== 2 /* ALLOCATED */) throw this.#freeError(handle);
    states[handle] = 1 /* FREE */;
    this.links[handle * this.strideWords] = this.head;
    this.head = handle;
    this.counts[1]++;
  };

  static {
    if (COUNTS_IN_ARRAY) {
      Object.defineProperties(Pool.prototype, {
        tryAlloc: { value: Pool.#tryAllocCountsInArray, writable: true, configurable: true },
        free: { value: Pool.#freeCountsInArray, writable: true, configurable: true },
      });
    }
  }

  #inUse(): number {
    return this.#allocationCount() - this.#freeCount();
  }

  /** Pages backed now (as zig/src/memory/pool.zig commits them): header and state bytes, and blocks. */
  #committedBytes(): number {
    const page = LIMITS.pageBytes;
    const statesEnd = Math.ceil((this.#c.stateOffset + this.#c.capacity) / page) * page;
    const blocksStart = Math.floor(this.#c.blocksOffset / page) * page;
    const blocksEnd = Math.ceil((this.#c.blocksOffset + this.#c.capacity * this.stride) / page) * page;
    return statesEnd + blocksEnd - Math.max(blocksStart, statesEnd);
  }

  /** Throws CLOSED, or DETACHED (and closes) when the region's buffer was transferred away. */
  #checkOpen(): void {
    if (this.#c.closed) throw closedError("Pool");
    if (isOwnBufferDetached(this.#c.buffer)) {
      this.close();
      throw detachedError("Pool");
    }
  }

  /** The header now holds what the fields hold (before a native call). */
  #writeHeader(): void {
    const header = this.#c.header;
    header[FREE_HEAD] = this.#c.debug === undefined ? this.head : this.#c.debug.head;
    header[HIGH_WATER] = this.#c.highWater;
    writeCounter(header, ALLOCATIONS, this.#allocationCount());
    writeCounter(header, FREES, this.#freeCount());
    writeCounter(header, FAILED, this.#c.failed);
  }

  /** The fields now hold what the header holds (after a native call). */
  #readHeader(): void {
    const header = this.#c.header;
    const head = header[FREE_HEAD];
    if (this.#c.debug === undefined) {
      this.head = head;
    } else {
      // A debug pool's own head stays past the state array, where no alloc accepts it, so
      // every alloc takes the debug path.
      this.#c.debug.head = head;
      this.head = this.maxCapacity + 1;
    }
    this.#c.highWater = header[HIGH_WATER];
    // `+ -0` keeps the counters doubles (see the module comment).
    this.allocations = this.counts[0] = readCounter(header, ALLOCATIONS) + -0;
    this.frees = this.counts[1] = readCounter(header, FREES) + -0;
    this.#c.failed = readCounter(header, FAILED);
  }

  /** Adds one chunk if the pool may grow; false when it may not. */
  #grow(): boolean {
    if (this.#c.growChunk === 0 || this.#c.capacity === this.maxCapacity) return false;
    const before = this.#c.capacity;
    this.#writeHeader();
    const result = this.#c.native.symbols.hp_pool_grow(this.#c.id);
    this.#readHeader();
    if (result < 0) throw statusError(result, "Pool.grow", "POOL_EXHAUSTED");
    if (this.#c.header[CAPACITY] !== result || result <= before) throw this.#corrupted(result);
    this.#c.capacity = result;
    this.#c.debug?.prepare(before, result);
    return true;
  }

  /** Every case the one test of `tryAlloc` sends here: empty list, closed, detached, debug, corrupted. */
  #allocSlow(handle: number): number {
    this.#checkOpen();
    if (this.#c.debug !== undefined) return this.#allocDebug(this.#c.debug);
    if (handle !== this.#c.capacity) throw this.#corrupted(handle);
    if (!this.#grow()) {
      this.#c.failed++;
      return -1;
    }
    // Not `return this.tryAlloc()`: a hot method that can reach itself is not inlined by JSC.
    const block = this.head;
    if (this.states[block] !== FRESH) throw this.#corrupted(block);
    this.head = this.links[block * this.strideWords];
    this.states[block] = ALLOCATED;
    this.#countAllocation();
    return block;
  }

  /** Blocks handed out at least once since the last reset: a prefix, so where the fresh ones begin. */
  #touched(): number {
    let low = 0;
    let high = this.#c.capacity;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.states[middle] === FRESH) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  #allocDebug(debug: PoolDebug): number {
    if (debug.head === this.#c.capacity && !this.#grow()) {
      this.#c.failed++;
      return -1;
    }
    const block = debug.head;
    const state = this.states[block];
    if (state !== FREE && state !== FRESH) throw debug.writtenAfterFree(block, 0);
    const offset = debug.firstWriteAfterFree(block);
    if (offset >= 0) throw debug.writtenAfterFree(block, offset);
    debug.head = this.links[block * this.strideWords];
    this.states[block] = ALLOCATED;
    this.#countAllocation();
    debug.poisonLink(block);
    return debug.encode(block);
  }

  #freeDebug(handle: number): void {
    this.#checkOpen();
    const debug = this.#c.debug!;
    this.#releaseDebug(debug, this.#checkFreeDebug(debug, handle));
  }

  /** The block a debug handle may free; throws what is wrong with it. */
  #checkFreeDebug(debug: PoolDebug, handle: number): number {
    const block = debug.indexOf(handle, this.#c.capacity);
    if (block < 0) throw this.#invalidHandle(handle);
    const allocated = this.states[block] === ALLOCATED;
    if (!allocated || !debug.isCurrent(handle, block)) throw debug.doubleFree(handle, block, allocated);
    const overflow = debug.firstGuardWrite(block);
    if (overflow >= 0) throw debug.overflow(block, overflow, true);
    return block;
  }

  #releaseDebug(debug: PoolDebug, block: number): void {
    this.states[block] = FREE;
    debug.retire(block);
    debug.poison(block);
    this.links[block * this.strideWords] = debug.head;
    debug.head = block;
    this.#countFree();
  }

  #allocManyDebug(out: Uint32Array, count: number): number {
    for (let granted = 0; granted < count; granted++) {
      const handle = this.tryAlloc();
      if (handle < 0) {
        this.#c.failed += count - granted - 1;
        return granted;
      }
      out[granted] = handle;
    }
    return count;
  }

  #freeManyDebug(handles: Uint32Array, count: number): void {
    const debug = this.#c.debug!;
    // Check every handle first (a repeat inside the batch is a double free), then free them all.
    const blocks = new Set<number>();
    for (let at = 0; at < count; at++) {
      const block = this.#checkFreeDebug(debug, handles[at]);
      if (blocks.has(block)) throw debug.doubleFree(handles[at], block, false);
      blocks.add(block);
    }
    for (const block of blocks) this.#releaseDebug(debug, block);
  }

  /** The states match the counters, the fresh blocks are a suffix, and the end sentinel is in place. */
  #checkStates(): void {
    let allocated = 0;
    let fresh = false;
    for (let index = 0; index < this.#c.capacity; index++) {
      const state = this.states[index];
      if (state === FRESH) fresh = true;
      else if (fresh || (state !== FREE && state !== ALLOCATED)) throw this.#corrupted(index);
      if (state === ALLOCATED) allocated++;
    }
    if (allocated !== this.#inUse() || this.states[this.#c.capacity] !== BLOCK_STATE.end) {
      throw this.#corrupted(this.#c.capacity);
    }
  }

  /** The block index of an allocated handle; throws what is wrong with any other value. */
  #blockOf(handle: number): number {
    const debug = this.#c.debug;
    if (debug === undefined && typeof handle === "number" && this.states[handle] === ALLOCATED) return handle;
    this.#checkOpen();
    if (debug !== undefined) {
      const block = debug.indexOf(handle, this.#c.capacity);
      if (block < 0) throw this.#invalidHandle(handle);
      const allocated = this.states[block] === ALLOCATED;
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
    if (facts.buffer === this.#c.buffer) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: handles must not lie in this pool's own memory.`);
    }
    return { ...facts, length: Math.min(facts.length, LIMITS.batchMax) };
  }

  #inRange(handle: unknown): handle is number {
    return typeof handle === "number" && Number.isInteger(handle) && handle >= 0 && handle < this.#c.capacity;
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
    const limit = this.#c.growChunk === 0
      ? "Free some, or create the pool with a larger capacity or with grow."
      : `It has grown to its maxCapacity of ${this.maxCapacity}.`;
    return new HotpathError("POOL_EXHAUSTED", `Pool is exhausted: all ${this.#c.capacity} blocks are in use. ${limit}`);
  }

  #invalidHandle(handle: unknown): HotpathError {
    const range = this.#c.debug === undefined
      ? `an integer from 0 to ${this.#c.capacity - 1}`
      : `a debug handle: generation << ${this.#c.debug.indexBits} | block index below ${this.#c.capacity}`;
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
