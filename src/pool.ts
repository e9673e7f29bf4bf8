/**
 * `Pool`: fixed-size blocks in native memory with O(1) alloc and free, named by u32 handles.
 *
 * alloc and free run in TypeScript over the region's own header, bitmap and intrusive free
 * list (the layout of zig/src/pool.zig), so the hot path makes no FFI call and allocates
 * nothing. Native code sees the same state: batch calls and native users stay consistent.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { LIMITS, POOL_HEADER } from "../ffi/abi.generated.ts";
import { readCounter, word, writeCounter } from "./header_words.ts";
import { closedError, HotpathError, statusError } from "./errors.ts";
import { alignment, integerError, integerIn, label, optionsObject } from "./validate.ts";
import { closeRegion, createPoolRegion } from "./region.ts";
import type { Schema, StructCursor, StructLayout } from "./struct.ts";
import { track } from "./metrics.ts";
import { debugBlockBytes, HANDLE_BITS_MAX, PoolDebug } from "./pool_debug.ts";
import {
  debugOption,
  growthOption,
  HANDLE_BITS,
  type PoolGrowth,
  type PoolOptions,
  type PoolStats,
  type ScopedBlock,
  type StructPoolOptions,
} from "./pool_options.ts";

export { HANDLE_BITS, type PoolGrowth, type PoolOptions, type PoolStats, type ScopedBlock, type StructPoolOptions };

const FREE_HEAD = word(POOL_HEADER.freeHead);
const IN_USE = word(POOL_HEADER.inUse);
const HIGH_WATER = word(POOL_HEADER.highWater);
const ALLOCATIONS = word(POOL_HEADER.allocations);
const FAILED = word(POOL_HEADER.failed);
const CAPACITY = word(POOL_HEADER.capacity);
const GROWTHS = word(POOL_HEADER.growths);
const PAGE_BYTES = 4096;
/** No free block: the free-list end as a signed 32-bit value (0xFFFFFFFF natively). */
const END = -1;

/**
 * A pool of fixed-size blocks in one native mapping, pre-faulted at creation.
 *
 * A Pool belongs to the thread (Worker) that created it. Blocks are named by handles
 * (0 .. capacity-1, or with generation bits in debug mode); `bytes` views every block,
 * `offset(handle)` locates one in it.
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

  #native: Native;
  #id: number;
  #closed = false;
  #address: number;
  #blocksOffset: number;
  #strideWords: number;
  #header: Uint32Array;
  #bitmap: Int32Array;
  /** The intrusive free list: entry `handle * strideWords` links a free block to the next. */
  #links: Int32Array;
  #bytes: Uint8Array;
  // The hot state lives in fields, not in the native header: loads and stores of fields
  // are cheaper than of typed-array elements. The header is written before and read after
  // every native call (batch calls, reset, grow), so Zig always sees the current state.
  #head = 0;
  #inUse = 0;
  #highWater = 0;
  #allocations = 0;
  #failed = 0;
  #capacity: number;
  #growChunk: number;
  /**
   * Handles below this take the fast paths: the capacity; 0 once closed or in debug mode,
   * which sends every call to its slow path.
   */
  #limit: number;
  #debug: PoolDebug | undefined;

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
    return new StructPool(layout, options);
  }

  /** Maps and formats a pool. Throws INVALID_ARGUMENT for bad options, OUT_OF_MEMORY if mapping fails. */
  constructor(options: PoolOptions) {
    const where = "new Pool";
    const given = optionsObject(where, options);
    this.blockSize = integerIn(where, "blockSize", given.blockSize, 1, LIMITS.blockSizeMax);
    const capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.poolCapacityMax);
    this.align = alignment(where, "align", given.align ?? 8);
    this.name = label(where, given.name);
    const growth = growthOption(where, given.grow, capacity);
    this.maxCapacity = growth.maxCapacity;
    this.debug = debugOption(where, given.debug);
    const handleBits = (given as { [HANDLE_BITS]?: number })[HANDLE_BITS] ?? HANDLE_BITS_MAX;
    const nativeBlockSize = this.debug ? debugBlockBytes(this.blockSize) : this.blockSize;
    if (nativeBlockSize > LIMITS.blockSizeMax) {
      throw integerError(where, "blockSize (debug mode)", this.blockSize, 1, LIMITS.blockSizeMax - 16);
    }
    this.#native = openNative();
    const config = {
      blockSize: nativeBlockSize,
      capacity,
      capacityMax: this.maxCapacity,
      growChunk: growth.chunk,
      alignment: this.align,
    };
    if (Math.ceil(nativeBlockSize / this.align) * this.align * this.maxCapacity > LIMITS.regionBytesMax) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: ${this.maxCapacity} blocks of ${nativeBlockSize} bytes exceed the 4 GiB limit of one pool.`,
      );
    }
    const region = createPoolRegion(this.#native, config, "Pool");
    const header = new Uint32Array(region.buffer, 0, LIMITS.headerBytes / 4);
    const cold = new DataView(region.buffer);
    this.#id = region.id;
    this.#address = region.address;
    this.stride = cold.getUint32(POOL_HEADER.blockStride, true);
    this.#blocksOffset = cold.getUint32(POOL_HEADER.blocksOffset, true);
    const bitmapOffset = cold.getUint32(POOL_HEADER.bitmapOffset, true);
    this.#strideWords = this.stride / 4;
    this.#header = header;
    // Every view spans the reservation of maxCapacity blocks: growth never has to replace one.
    const blocksBytes = this.maxCapacity * this.stride;
    this.#bitmap = new Int32Array(region.buffer, bitmapOffset, Math.ceil(this.maxCapacity / 32));
    this.#links = new Int32Array(region.buffer, this.#blocksOffset, blocksBytes / 4);
    this.#bytes = new Uint8Array(region.buffer, this.#blocksOffset, blocksBytes);
    this.#capacity = capacity;
    this.#growChunk = growth.chunk;
    this.#limit = capacity;
    if (this.debug) {
      this.#debug = new PoolDebug(this.#bytes, this.blockSize, this.stride, this.maxCapacity, handleBits);
      this.#debug.prepare(0, capacity);
      this.#limit = 0;
      // An own method, so that the shared `free` keeps its fast shape (see free).
      Object.defineProperty(this, "free", { value: (handle: number) => this.#freeDebug(handle) });
    }
    this.#readHeader();
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
    if (this.#closed) throw closedError("Pool");
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
    if (handle < 0) return this.#allocSlow();
    const next = this.#links[handle * this.#strideWords];
    const bitmap = this.#bitmap;
    const index = handle >>> 5;
    const bits = bitmap[index];
    const mask = 1 << (handle & 31);
    // A free block marked allocated, or a link outside -1 .. limit-1, means a write after free.
    if ((bits & mask) !== 0 || (next + 1) >>> 0 > this.#limit) throw this.#corrupted(handle);
    bitmap[index] = bits | mask;
    this.#head = next;
    const inUse = ++this.#inUse;
    if (inUse > this.#highWater) this.#highWater = inUse;
    this.#allocations++;
    return handle;
  }

  /**
   * Returns a block to the pool; it is the next one `alloc()` hands out (LIFO).
   * Throws INVALID_HANDLE for a value that is not a handle of this pool, DOUBLE_FREE for a
   * handle that is not allocated, and in debug mode OVERFLOW when the block's guard bytes changed.
   */
  free(handle: number): void {
    // Only a throw may follow this test: any call that returns costs every free ~1 ns on Bun
    // (measured). Debug pools therefore get their own `free` (see the constructor).
    if ((handle >>> 0) !== handle || handle >= this.#limit) throw this.#notAHandle(handle);
    const bitmap = this.#bitmap;
    const index = handle >>> 5;
    const bits = bitmap[index];
    const mask = 1 << (handle & 31);
    if ((bits & mask) === 0) throw this.#doubleFree(handle);
    bitmap[index] = bits & ~mask;
    this.#links[handle * this.#strideWords] = this.#head;
    this.#head = handle;
    this.#inUse--;
  }

  /**
   * Allocates up to `count` blocks, writing their handles to `out`, growing first if it may.
   * Returns how many were allocated: fewer than `count` when the pool runs out.
   * @param out receives the handles; at least `count` long.
   * @param count how many to allocate. Default: `out.length`.
   */
  allocMany(out: Uint32Array, count: number = out?.length): number {
    if (this.#closed) throw closedError("Pool");
    this.#checkBatch("Pool.allocMany", out, count);
    while (this.#capacity - this.#inUse < count && this.#grow()) {
      // Grow before the native call, so a batch that fits after growing counts no failure.
    }
    const debug = this.#debug;
    if (debug !== undefined) return this.#allocManyDebug(out, count);
    this.#writeHeader();
    const granted = this.#native.symbols.hp_pool_alloc_many(this.#id, out, out.length, count);
    this.#readHeader();
    if (granted < 0) throw statusError(granted, "Pool", "POOL_EXHAUSTED");
    return granted;
  }

  /**
   * Frees the first `count` handles of `handles`: all of them, or, if any is invalid or not
   * allocated (including repeated in the batch), none.
   */
  freeMany(handles: Uint32Array, count: number = handles?.length): void {
    if (this.#closed) throw closedError("Pool");
    this.#checkBatch("Pool.freeMany", handles, count);
    if (this.#debug !== undefined) return this.#freeManyDebug(handles, count);
    this.#writeHeader();
    const status = this.#native.symbols.hp_pool_free_many(this.#id, handles, handles.length, count);
    this.#readHeader();
    if (status < 0) throw statusError(status, "Pool.freeMany", "POOL_EXHAUSTED");
  }

  /** Frees every block at once. Handles held before are no longer valid. A grown pool keeps its capacity. */
  reset(): void {
    if (this.#closed) throw closedError("Pool");
    const debug = this.#debug;
    if (debug !== undefined) {
      for (let index = 0; index < this.#capacity; index++) {
        if (this.#isSet(index)) debug.retire(index);
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
    if (this.#closed) throw closedError("Pool");
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
    return this.#checkAllocated(handle) * this.stride;
  }

  /**
   * Native address of an allocated block, for native code (Deno:
   * `Deno.UnsafePointer.create(BigInt(address))`). Valid while the pool is open: unlike views,
   * an address does not keep the mapping alive once the pool is closed and collected.
   */
  ptr(handle: number): number {
    return this.#address + this.#blocksOffset + this.#checkAllocated(handle) * this.stride;
  }

  /** A new Uint8Array over one allocated block (`blockSize` bytes). Allocates the view object. */
  view(handle: number): Uint8Array {
    const start = this.#checkAllocated(handle) * this.stride;
    return this.#bytes.subarray(start, start + this.blockSize);
  }

  /** True when `handle` names a block that is allocated now (in debug mode: with its current generation). */
  isAllocated(handle: number): boolean {
    if (this.#closed) throw closedError("Pool");
    const debug = this.#debug;
    if (debug !== undefined) {
      const index = debug.indexOf(handle, this.#capacity);
      return index >= 0 && debug.isCurrent(handle, index) && this.#isSet(index);
    }
    if ((handle >>> 0) !== handle || handle >= this.#limit) return false;
    return this.#isSet(handle);
  }

  /**
   * Checks the whole pool, O(capacity). Always: the free list holds exactly the free blocks
   * (CORRUPTED otherwise). In debug mode also every guard (OVERFLOW) and that every free
   * block still holds its poison (USE_AFTER_FREE). Returns the number of blocks checked.
   */
  check(): number {
    if (this.#closed) throw closedError("Pool");
    const debug = this.#debug;
    const free = this.#capacity - this.#inUse;
    let seen = 0;
    let block = debug === undefined ? this.#head : debug.head;
    while (block !== END) {
      if (seen === free || (block >>> 0) >= this.#capacity || this.#isSet(block)) throw this.#corrupted(block);
      if (debug !== undefined) {
        const offset = debug.firstWriteAfterFree(block);
        if (offset >= 0) throw debug.writtenAfterFree(block, offset);
      }
      block = this.#links[block * this.#strideWords];
      seen++;
    }
    if (seen !== free) throw this.#corrupted(block);
    if (debug !== undefined) {
      for (let index = 0; index < this.#capacity; index++) {
        const offset = debug.firstGuardWrite(index);
        if (offset >= 0) throw debug.overflow(index, offset, this.#isSet(index));
      }
    }
    return this.#capacity;
  }

  /** Counters and sizes, without a call into the library. */
  stats(): PoolStats {
    if (this.#closed) throw closedError("Pool");
    const cold = new DataView(this.#header.buffer, this.#header.byteOffset, LIMITS.headerBytes);
    const committed = this.#blocksOffset + this.#capacity * this.stride;
    return {
      capacity: this.#capacity,
      maxCapacity: this.maxCapacity,
      growths: this.#header[GROWTHS],
      debug: this.debug,
      blockSize: this.blockSize,
      blockStride: this.stride,
      inUse: this.#inUse,
      free: this.#capacity - this.#inUse,
      highWater: this.#highWater,
      allocations: this.#allocations,
      frees: this.#allocations - this.#inUse,
      failedAllocations: this.#failed,
      bytesReserved: Number(cold.getBigUint64(POOL_HEADER.regionBytes, true)),
      bytesCommitted: Math.ceil(committed / PAGE_BYTES) * PAGE_BYTES,
      metadataBytes: Number(cold.getBigUint64(POOL_HEADER.metadataBytes, true)),
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
    this.#limit = 0;
    closeRegion(this.#native, this.#id);
    // Drop our views so the region can be released as soon as the caller's views are gone.
    this.#header = new Uint32Array(LIMITS.headerBytes / 4);
    this.#bitmap = new Int32Array(0);
    this.#links = new Int32Array(0);
    this.#bytes = new Uint8Array(0);
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

  /** The header now holds what the fields hold (before a native call). */
  #writeHeader(): void {
    const header = this.#header;
    header[FREE_HEAD] = (this.#debug === undefined ? this.#head : this.#debug.head) >>> 0;
    header[IN_USE] = this.#inUse;
    header[HIGH_WATER] = this.#highWater;
    writeCounter(header, ALLOCATIONS, this.#allocations);
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
    this.#inUse = header[IN_USE];
    this.#highWater = header[HIGH_WATER];
    this.#allocations = readCounter(header, ALLOCATIONS);
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
    if (this.#debug === undefined) this.#limit = result;
    else this.#debug.prepare(before, result);
    return true;
  }

  #allocSlow(): number {
    if (this.#closed) throw closedError("Pool");
    if (this.#debug !== undefined) return this.#allocDebug(this.#debug);
    if (this.#grow()) return this.tryAlloc();
    this.#failed++;
    return -1;
  }

  #allocDebug(debug: PoolDebug): number {
    if (debug.head < 0 && !this.#grow()) {
      this.#failed++;
      return -1;
    }
    const block = debug.head;
    const next = this.#links[block * this.#strideWords];
    if (this.#isSet(block) || (next + 1) >>> 0 > this.#capacity) throw debug.writtenAfterFree(block, 0);
    const offset = debug.firstWriteAfterFree(block);
    if (offset >= 0) throw debug.writtenAfterFree(block, offset);
    this.#bitmap[block >>> 5] |= 1 << (block & 31);
    debug.head = next;
    debug.poisonLink(block);
    if (++this.#inUse > this.#highWater) this.#highWater = this.#inUse;
    this.#allocations++;
    return debug.encode(block);
  }

  #notAHandle(handle: number): HotpathError {
    return this.#closed ? closedError("Pool") : this.#invalidHandle(handle);
  }

  #freeDebug(handle: number): void {
    if (this.#closed) throw closedError("Pool");
    const debug = this.#debug!;
    this.#releaseDebug(debug, this.#checkFreeDebug(debug, handle));
  }

  /** The block a debug handle may free; throws what is wrong with it. */
  #checkFreeDebug(debug: PoolDebug, handle: number): number {
    const block = debug.indexOf(handle, this.#capacity);
    if (block < 0) throw this.#invalidHandle(handle);
    const allocated = this.#isSet(block);
    if (!allocated || !debug.isCurrent(handle, block)) throw debug.doubleFree(handle, block, allocated);
    const overflow = debug.firstGuardWrite(block);
    if (overflow >= 0) throw debug.overflow(block, overflow, true);
    return block;
  }

  #releaseDebug(debug: PoolDebug, block: number): void {
    this.#bitmap[block >>> 5] &= ~(1 << (block & 31));
    debug.retire(block);
    debug.poison(block);
    this.#links[block * this.#strideWords] = debug.head;
    debug.head = block;
    this.#inUse--;
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

  #isSet(block: number): boolean {
    return (this.#bitmap[block >>> 5] & (1 << (block & 31))) !== 0;
  }

  /** The block index of an allocated handle; throws what is wrong with any other value. */
  #checkAllocated(handle: number): number {
    if (this.#closed) throw closedError("Pool");
    const debug = this.#debug;
    if (debug !== undefined) {
      const block = debug.indexOf(handle, this.#capacity);
      if (block < 0) throw this.#invalidHandle(handle);
      const allocated = this.#isSet(block);
      if (!allocated || !debug.isCurrent(handle, block)) throw debug.staleHandle(handle, block, allocated);
      return block;
    }
    if ((handle >>> 0) !== handle || handle >= this.#capacity) throw this.#invalidHandle(handle);
    if (!this.#isSet(handle)) {
      throw new HotpathError(
        "INVALID_HANDLE",
        `Pool: handle ${handle} is not allocated (freed, reset or never allocated).`,
      );
    }
    return handle;
  }

  #checkBatch(where: string, handles: Uint32Array, count: number): void {
    if (!(handles instanceof Uint32Array)) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: handles must be a Uint32Array; got ${String(handles)}.`);
    }
    integerIn(where, "count", count, 0, Math.min(handles.length, LIMITS.batchMax));
  }

  #exhausted(): HotpathError {
    const limit = this.#growChunk === 0
      ? "Free some, or create the pool with a larger capacity or with grow."
      : `It has grown to its maxCapacity of ${this.maxCapacity}.`;
    return new HotpathError(
      "POOL_EXHAUSTED",
      `Pool is exhausted: all ${this.#capacity} blocks are in use. ${limit}`,
    );
  }

  #invalidHandle(handle: unknown): HotpathError {
    const range = this.#debug === undefined
      ? `an integer from 0 to ${this.#capacity - 1}`
      : `a debug handle: generation << ${this.#debug.indexBits} | block index below ${this.#capacity}`;
    return new HotpathError(
      "INVALID_HANDLE",
      `Pool: ${typeof handle === "number" ? handle : String(handle)} is not a handle of this pool (${range}).`,
    );
  }

  #doubleFree(handle: number): HotpathError {
    return new HotpathError(
      "DOUBLE_FREE",
      `Pool: handle ${handle} is not allocated: it was freed already (double free) or never handed out.`,
    );
  }

  #corrupted(handle: number): HotpathError {
    return new HotpathError(
      "CORRUPTED",
      `Pool: the free list is corrupted at handle ${handle}: a freed block was written to (use after free). ` +
        "Debug mode (debug: true or HOTPATH_DEBUG=1) names the handle that did it.",
    );
  }
}

/**
 * A pool whose blocks hold records of one struct layout; `at(handle)` gives typed access.
 * Created by `Pool.of(layout, options)`.
 */
export class StructPool<S extends Schema> extends Pool {
  /** The layout of every record. */
  readonly layout: StructLayout<S>;
  #cursor: StructCursor<S> | undefined;

  /** Use `Pool.of(layout, options)`. */
  constructor(layout: StructLayout<S>, options: StructPoolOptions) {
    const given = optionsObject("Pool.of", options);
    const align = given.align === undefined ? Math.max(8, layout.align) : alignment("Pool.of", "align", given.align);
    if (align < layout.align) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `Pool.of: align ${align} is below the layout's alignment ${layout.align}.`,
      );
    }
    super({
      blockSize: layout.size,
      capacity: given.capacity as number,
      align,
      name: given.name as string | undefined,
      grow: given.grow as PoolGrowth | undefined,
      debug: given.debug as boolean | undefined,
    });
    this.layout = layout;
    this.#cursor = layout.cursor(this.bytes);
  }

  /**
   * The pool's one cursor, moved to allocated block `handle`: reading and writing its fields
   * allocates nothing. The next `at()` moves the same cursor.
   */
  at(handle: number): StructCursor<S> {
    const offset = this.offset(handle);
    return this.#cursor!.at(offset);
  }

  /** Closes the pool and drops the cursor's views of its memory. */
  override close(): void {
    super.close();
    this.#cursor = undefined;
  }
}
