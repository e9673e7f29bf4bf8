/**
 * `Pool`: fixed-size blocks in native memory with O(1) alloc and free, named by u32 handles.
 *
 * alloc and free run in TypeScript over the region's own header, bitmap and intrusive free
 * list (the layout of zig/src/pool.zig), so the hot path makes no FFI call and allocates
 * nothing. Native code sees the same state: batch calls and native users stay consistent.
 *
 * @module
 */
import { loadLibrary, type Native } from "../ffi/library.ts";
import { LAYOUT, readCounter, word, writeCounter } from "../ffi/layout.ts";
import { closedError, HotpathError, statusError } from "./errors.ts";
import { alignment, integerIn, label, optionsObject } from "./validate.ts";
import { closeRegion, mapRegion } from "./region.ts";
import type { Schema, StructCursor, StructLayout } from "./struct.ts";
import { track } from "./registry.ts";

/** Options of `new Pool(...)`. */
export interface PoolOptions {
  /** Bytes of one block, 1 to 1 MiB. */
  blockSize: number;
  /** Number of blocks, 1 to 2^26; the region must stay within 4 GiB. */
  capacity: number;
  /** Alignment of every block in bytes, a power of two up to 4096. Default: 8. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
}

/** Options of `Pool.of(layout, ...)`: the block size and alignment come from the layout. */
export interface StructPoolOptions {
  /** Number of records, 1 to 2^26. */
  capacity: number;
  /** Alignment of every record, at least the layout's. Default: the larger of 8 and the layout's. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
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
  /** Number of blocks. */
  capacity: number;
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
  /** Bytes of the whole mapping. */
  bytesReserved: number;
  /** Bytes before the first block: header, allocation bitmap and alignment padding. */
  metadataBytes: number;
}

const FREE_HEAD = word(LAYOUT.poolFreeHead);
const IN_USE = word(LAYOUT.poolInUse);
const HIGH_WATER = word(LAYOUT.poolHighWater);
const ALLOCATIONS = word(LAYOUT.poolAllocations);
const FAILED = word(LAYOUT.poolFailed);
/** No free block: the free-list end as a signed 32-bit value (0xFFFFFFFF natively). */
const END = -1;

/**
 * A pool of fixed-size blocks in one native mapping, pre-faulted at creation.
 *
 * A Pool belongs to the thread (Worker) that created it. Blocks are named by handles
 * (0 .. capacity-1); `bytes` views every block, `offset(handle)` locates one in it.
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
  /** Number of blocks. */
  readonly capacity: number;
  /** Alignment of every block in bytes. */
  readonly align: number;
  /** Bytes from the start of one block to the start of the next. */
  readonly stride: number;
  /** The label given at creation, for `metrics()`. */
  readonly name: string;

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
  // every native call (batch calls, reset), so Zig always sees the current state.
  #head = 0;
  #inUse = 0;
  #highWater = 0;
  #allocations = 0;
  #failed = 0;
  /** Handles below this are valid: the capacity, or 0 once closed (which sends every call to its slow path). */
  #limit: number;

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
    this.blockSize = integerIn(where, "blockSize", given.blockSize, 1, LAYOUT.blockSizeMax);
    this.capacity = integerIn(where, "capacity", given.capacity, 1, LAYOUT.poolCapacityMax);
    this.align = alignment(where, "align", given.align ?? 8);
    this.name = label(where, given.name);
    this.#native = loadLibrary();
    const id = this.#native.symbols.hp_pool_create(this.blockSize, this.capacity, this.align, 0);
    if (id === -1) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: ${this.capacity} blocks of ${this.blockSize} bytes exceed the 4 GiB limit of one pool.`,
      );
    }
    const region = mapRegion(this.#native, id, "Pool", "POOL_EXHAUSTED");
    const header = new Uint32Array(region.buffer, 0, LAYOUT.headerBytes / 4);
    const cold = new DataView(region.buffer);
    this.#id = region.id;
    this.#address = region.address;
    this.stride = cold.getUint32(LAYOUT.poolBlockStride, true);
    this.#blocksOffset = cold.getUint32(LAYOUT.poolBlocksOffset, true);
    const bitmapOffset = cold.getUint32(LAYOUT.poolBitmapOffset, true);
    this.#strideWords = this.stride / 4;
    this.#header = header;
    this.#bitmap = new Int32Array(region.buffer, bitmapOffset, Math.ceil(this.capacity / 32));
    this.#links = new Int32Array(region.buffer, this.#blocksOffset, (this.capacity * this.stride) / 4);
    this.#limit = this.capacity;
    this.#readHeader();
    this.#bytes = new Uint8Array(region.buffer, this.#blocksOffset, this.capacity * this.stride);
    track(this);
  }

  /** Every block, as one Uint8Array over native memory; block `h` starts at `offset(h)`. */
  get bytes(): Uint8Array {
    if (this.#closed) throw closedError("Pool");
    return this.#bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Allocates a block and returns its handle. Throws POOL_EXHAUSTED when no block is free. */
  alloc(): number {
    const handle = this.tryAlloc();
    if (handle < 0) {
      throw new HotpathError(
        "POOL_EXHAUSTED",
        `Pool is exhausted: all ${this.capacity} blocks are in use. Free some, or create the pool with a larger capacity.`,
      );
    }
    return handle;
  }

  /** Allocates a block and returns its handle, or -1 when none is free (no throw, no garbage). */
  tryAlloc(): number {
    const handle = this.#head;
    if (handle < 0) return this.#noFreeBlock();
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
   * handle that is not allocated.
   */
  free(handle: number): void {
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
   * Allocates up to `count` blocks in one native call, writing their handles to `out`.
   * Returns how many were allocated: fewer than `count` when the pool runs out.
   * @param out receives the handles; at least `count` long.
   * @param count how many to allocate. Default: `out.length`.
   */
  allocMany(out: Uint32Array, count: number = out?.length): number {
    if (this.#closed) throw closedError("Pool");
    this.#checkBatch("Pool.allocMany", out, count);
    this.#writeHeader();
    const granted = this.#native.symbols.hp_pool_alloc_many(this.#id, out, count);
    this.#readHeader();
    if (granted < 0) throw statusError(granted, "Pool", "POOL_EXHAUSTED");
    return granted;
  }

  /**
   * Frees the first `count` handles of `handles` in one native call: all of them, or, if any
   * is invalid or not allocated (including repeated in the batch), none.
   */
  freeMany(handles: Uint32Array, count: number = handles?.length): void {
    if (this.#closed) throw closedError("Pool");
    this.#checkBatch("Pool.freeMany", handles, count);
    this.#writeHeader();
    const status = this.#native.symbols.hp_pool_free_many(this.#id, handles, count);
    this.#readHeader();
    if (status < 0) throw statusError(status, "Pool.freeMany", "POOL_EXHAUSTED");
  }

  /** Frees every block at once. Handles held before are no longer valid. */
  reset(): void {
    if (this.#closed) throw closedError("Pool");
    this.#writeHeader();
    const status = this.#native.symbols.hp_pool_reset(this.#id);
    this.#readHeader();
    if (status < 0) throw statusError(status, "Pool.reset", "POOL_EXHAUSTED");
  }

  /** Byte offset of an allocated block inside `bytes`. */
  offset(handle: number): number {
    this.#checkAllocated(handle);
    return handle * this.stride;
  }

  /**
   * Native address of an allocated block, for native code (Deno:
   * `Deno.UnsafePointer.create(BigInt(address))`). Valid while the pool is open: unlike views,
   * an address does not keep the mapping alive once the pool is closed and collected.
   */
  ptr(handle: number): number {
    this.#checkAllocated(handle);
    return this.#address + this.#blocksOffset + handle * this.stride;
  }

  /** A new Uint8Array over one allocated block (`blockSize` bytes). Allocates the view object. */
  view(handle: number): Uint8Array {
    this.#checkAllocated(handle);
    return this.#bytes.subarray(handle * this.stride, handle * this.stride + this.blockSize);
  }

  /** True when `handle` names a block that is allocated now. */
  isAllocated(handle: number): boolean {
    if (this.#closed) throw closedError("Pool");
    if ((handle >>> 0) !== handle || handle >= this.#limit) return false;
    return (this.#bitmap[handle >>> 5] & (1 << (handle & 31))) !== 0;
  }

  /** Counters and sizes, without a call into the library. */
  stats(): PoolStats {
    if (this.#closed) throw closedError("Pool");
    const cold = new DataView(this.#header.buffer, this.#header.byteOffset, LAYOUT.headerBytes);
    return {
      capacity: this.capacity,
      blockSize: this.blockSize,
      blockStride: this.stride,
      inUse: this.#inUse,
      free: this.capacity - this.#inUse,
      highWater: this.#highWater,
      allocations: this.#allocations,
      frees: this.#allocations - this.#inUse,
      failedAllocations: this.#failed,
      bytesReserved: Number(cold.getBigUint64(LAYOUT.poolRegionBytes, true)),
      metadataBytes: Number(cold.getBigUint64(LAYOUT.poolMetadataBytes, true)),
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
    this.#header = new Uint32Array(LAYOUT.headerBytes / 4);
    this.#bitmap = new Int32Array(0);
    this.#links = new Int32Array(0);
    this.#bytes = new Uint8Array(0);
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
    header[FREE_HEAD] = this.#head >>> 0;
    header[IN_USE] = this.#inUse;
    header[HIGH_WATER] = this.#highWater;
    writeCounter(header, ALLOCATIONS, this.#allocations);
    writeCounter(header, FAILED, this.#failed);
  }

  /** The fields now hold what the header holds (after a native call). */
  #readHeader(): void {
    const header = this.#header;
    this.#head = header[FREE_HEAD] | 0;
    this.#inUse = header[IN_USE];
    this.#highWater = header[HIGH_WATER];
    this.#allocations = readCounter(header, ALLOCATIONS);
    this.#failed = readCounter(header, FAILED);
  }

  #noFreeBlock(): number {
    if (this.#closed) throw closedError("Pool");
    this.#failed++;
    return -1;
  }

  #notAHandle(handle: unknown): HotpathError {
    if (this.#closed) return closedError("Pool");
    return this.#invalidHandle(handle);
  }

  #checkAllocated(handle: number): void {
    if (this.#closed) throw closedError("Pool");
    if ((handle >>> 0) !== handle || handle >= this.capacity) throw this.#invalidHandle(handle);
    if ((this.#bitmap[handle >>> 5] & (1 << (handle & 31))) === 0) {
      throw new HotpathError(
        "INVALID_HANDLE",
        `Pool: handle ${handle} is not allocated (freed, reset or never allocated).`,
      );
    }
  }

  #checkBatch(where: string, handles: Uint32Array, count: number): void {
    if (!(handles instanceof Uint32Array)) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: handles must be a Uint32Array; got ${String(handles)}.`);
    }
    integerIn(where, "count", count, 0, Math.min(handles.length, LAYOUT.batchMax));
  }

  #invalidHandle(handle: unknown): HotpathError {
    return new HotpathError(
      "INVALID_HANDLE",
      `Pool: ${typeof handle === "number" ? handle : String(handle)} is not a handle of this pool ` +
        `(an integer from 0 to ${this.capacity - 1}).`,
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
      `Pool: the free list is corrupted at handle ${handle}: a freed block was written to (use after free).`,
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
