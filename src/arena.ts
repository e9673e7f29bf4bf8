/**
 * `Arena`: bump allocation in native memory with alignment, marks and reset.
 *
 * alloc runs in TypeScript over the region's header (the layout of zig/src/arena.zig): no
 * FFI call and no garbage on the hot path.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { ARENA_HEADER, LIMITS } from "../ffi/abi.generated.ts";
import { word, writeCounter } from "./header_words.ts";
import { closedError, detachedError, HotpathError } from "./errors.ts";
import { alignment, alignmentError, describe, integerError, integerIn, label, readOptions } from "./validate.ts";
import { closeRegion, createArenaRegion } from "./region.ts";
import { type Schema, StructLayout } from "./struct.ts";
import { isDetached } from "./typed_arrays.ts";
import { track } from "./metrics.ts";

/** Options of `new Arena(...)`. */
export interface ArenaOptions {
  /** Bytes the arena can hand out, 1 to 1 GiB. */
  capacity: number;
  /** Default alignment of `alloc`, a power of two up to 4096. Default: 8. */
  align?: number;
  /** A label for `metrics()`. Default: "". */
  name?: string;
}

/** A mark that `using` rewinds to at the end of its scope: `using scope = arena.scope();`. */
export interface ArenaScope {
  /** The offset the arena returns to. */
  readonly mark: number;
  /** Rewinds the arena to `mark` (INVALID_ARGUMENT if a reset or rewind went below it). */
  [Symbol.dispose](): void;
}

/** What `arena.stats()` reports. Counts are exact up to 2^53. */
export interface ArenaStats {
  /** Bytes the arena can hand out. */
  capacity: number;
  /** Bytes from the start to the end of the last allocation. */
  offset: number;
  /** The largest offset ever reached. */
  highWater: number;
  /** Successful allocations since creation. */
  allocations: number;
  /** Allocations that did not fit. */
  failedAllocations: number;
  /** Calls to `reset()`. */
  resets: number;
  /** Bytes of the whole mapping, header page included. */
  bytesReserved: number;
}

const OFFSET = word(ARENA_HEADER.offset);
const HIGH_WATER = word(ARENA_HEADER.highWater);
const ALLOCATIONS = word(ARENA_HEADER.allocations);
const FAILED = word(ARENA_HEADER.failed);
const RESETS = word(ARENA_HEADER.resets);

/**
 * A bump allocator over one native mapping, pre-faulted at creation. Allocations are byte
 * offsets into `bytes`; `mark()`/`rewind()` release everything after a point, `reset()`
 * releases everything.
 *
 * @example
 * ```ts
 * import { Arena } from "@hotpath/core";
 * using arena = new Arena({ capacity: 1 << 20 });
 * const mark = arena.mark();
 * const offset = arena.alloc(24, 8);
 * arena.bytes.fill(0, offset, offset + 24);
 * arena.rewind(mark);
 * ```
 */
export class Arena {
  /** Bytes the arena can hand out. */
  readonly capacity: number;
  /** Default alignment of `alloc`. */
  readonly align: number;
  /** The label given at creation, for `metrics()`. */
  readonly name: string;

  #native: Native;
  #id: number;
  #closed = false;
  #dataAddress: number;
  #regionBytes: number;
  #header: Uint32Array;
  #bytes: Uint8Array;
  // The hot state lives in fields (cheaper than typed-array elements); `stats()` and
  // `close()` write it to the native header for native observers.
  #offset = 0;
  #highWater = 0;
  #allocations = 0;
  #failed = 0;
  #resets = 0;
  /** Allocations must end at or below this: the capacity, or 0 once closed (slow path). */
  #limit: number;

  /** Maps an arena. Throws INVALID_ARGUMENT for bad options, OUT_OF_MEMORY if mapping fails. */
  constructor(options: ArenaOptions) {
    const where = "new Arena";
    const given = readOptions(where, options, ["capacity", "align", "name"]);
    this.capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.arenaCapacityMax);
    this.align = given.align === undefined ? 8 : alignment(where, "align", given.align);
    this.name = label(where, given.name);
    this.#native = openNative();
    const region = createArenaRegion(this.#native, { capacity: this.capacity, alignment: this.align }, "Arena");
    const dataOffset = new DataView(region.buffer).getUint32(ARENA_HEADER.dataOffset, true);
    this.#id = region.id;
    this.#dataAddress = region.address + dataOffset;
    this.#regionBytes = region.buffer.byteLength;
    this.#header = new Uint32Array(region.buffer, 0, LIMITS.headerBytes / 4);
    this.#bytes = new Uint8Array(region.buffer, dataOffset, this.capacity);
    this.#limit = this.capacity;
    track(this);
  }

  /** The arena's memory as one Uint8Array; allocations are offsets into it. */
  get bytes(): Uint8Array {
    this.#checkOpen();
    return this.#bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reserves `bytes` bytes aligned to `align` (default: the arena's `align`) and returns their
   * offset in `bytes`. Throws ARENA_FULL when they do not fit, INVALID_ARGUMENT for a bad size
   * or alignment.
   */
  alloc(bytes: number, align?: number): number {
    const offset = this.#bump(bytes, align === undefined ? this.align : align);
    if (offset < 0) throw this.#full(bytes, align === undefined ? this.align : align);
    return offset;
  }

  /** Like `alloc`, but returns -1 instead of throwing when the arena is full. */
  tryAlloc(bytes: number, align?: number): number {
    return this.#bump(bytes, align === undefined ? this.align : align);
  }

  /**
   * Reserves one record of `layout`, aligned to the layout, and returns its offset; read and
   * write it with `layout.cursor(arena.bytes).at(offset)`.
   */
  allocStruct<S extends Schema>(layout: StructLayout<S>): number {
    if (!(layout instanceof StructLayout)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `Arena.allocStruct: layout must be a StructLayout from struct(...); got ${describe(layout)}.`,
      );
    }
    return this.alloc(layout.size, layout.align);
  }

  /** Marks the offset now and rewinds to it when the `using` scope ends. Allocates the scope object. */
  scope(): ArenaScope {
    const mark = this.mark();
    return { mark, [Symbol.dispose]: () => this.rewind(mark) };
  }

  /** The current offset, to `rewind()` to later. */
  mark(): number {
    this.#checkOpen();
    return this.#offset;
  }

  /** Releases everything allocated since `mark`. Throws INVALID_ARGUMENT for a mark ahead of the offset. */
  rewind(mark: number): void {
    this.#checkOpen();
    this.#offset = integerIn("Arena.rewind", "mark", mark, 0, this.#offset);
  }

  /** Releases everything: the next allocation starts at offset 0. */
  reset(): void {
    this.#checkOpen();
    this.#offset = 0;
    this.#resets++;
  }

  /** Native address of `offset` inside the arena, for native code. Valid while the arena is open. */
  ptr(offset: number): number {
    this.#checkOpen();
    integerIn("Arena.ptr", "offset", offset, 0, this.capacity - 1);
    return this.#dataAddress + offset;
  }

  /** Counters and sizes, without a call into the library (also written to the native header). */
  stats(): ArenaStats {
    this.#checkOpen();
    this.#writeHeader();
    return {
      capacity: this.capacity,
      offset: this.#offset,
      highWater: this.#highWater,
      allocations: this.#allocations,
      failedAllocations: this.#failed,
      resets: this.#resets,
      bytesReserved: this.#regionBytes,
    };
  }

  /**
   * Closes the arena: every later call throws CLOSED, the memory goes back to the kernel.
   * Views taken earlier stay safe to touch (they read zeros). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#limit = 0;
    closeRegion(this.#native, this.#id);
    this.#header = new Uint32Array(LIMITS.headerBytes / 4);
    this.#bytes = new Uint8Array(0);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #bump(bytes: number, align: number): number {
    // The typeof tests come first (a bigint or Symbol would throw in `>>>`) and cost nothing
    // once the JIT has seen numbers. Then `x >>> 0 === x` holds for integers 0..2^32-1 only.
    if (typeof bytes !== "number" || (bytes >>> 0) !== bytes || bytes === 0 || bytes > this.capacity) {
      throw this.#badSize(bytes);
    }
    if (
      typeof align !== "number" || (align >>> 0) !== align || ((align - 1) >>> 0) >= LIMITS.alignmentMax ||
      (align & (align - 1)) !== 0
    ) {
      throw this.#badAlignment(align);
    }
    // `& ~(align - 1)`, not `& -align`: JSC sends the latter into a deoptimisation loop
    // (shared/PERF-NOTES.md, Arena).
    const start = (this.#offset + align - 1) & ~(align - 1);
    const end = start + bytes;
    if (end > this.#limit) return this.#noRoom();
    this.#offset = end;
    if (end > this.#highWater) this.#highWater = end;
    this.#allocations++;
    return start;
  }

  #full(bytes: number, align: number): HotpathError {
    return new HotpathError(
      "ARENA_FULL",
      `Arena is full: ${bytes} bytes aligned to ${align} do not fit after offset ${this.#offset} ` +
        `of ${this.capacity}. Rewind, reset, or create a larger arena.`,
    );
  }

  /** Throws CLOSED, or DETACHED (and closes) when the region's buffer was transferred away. */
  #checkOpen(): void {
    if (this.#closed) throw closedError("Arena");
    if (isDetached(this.#header.buffer)) {
      this.close();
      throw detachedError("Arena");
    }
  }

  #writeHeader(): void {
    const header = this.#header;
    header[OFFSET] = this.#offset;
    header[HIGH_WATER] = this.#highWater;
    writeCounter(header, ALLOCATIONS, this.#allocations);
    writeCounter(header, FAILED, this.#failed);
    writeCounter(header, RESETS, this.#resets);
  }

  #noRoom(): number {
    if (this.#closed) throw closedError("Arena");
    this.#failed++;
    return -1;
  }

  #badSize(bytes: unknown): HotpathError {
    if (this.#closed) return closedError("Arena");
    return integerError("Arena.alloc", "bytes", bytes, 1, this.capacity);
  }

  #badAlignment(align: unknown): HotpathError {
    if (this.#closed) return closedError("Arena");
    return alignmentError("Arena.alloc", "align", align);
  }
}
