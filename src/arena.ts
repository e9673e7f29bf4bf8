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
import { MEMORY_OPTION_KEYS, type MemoryOptions, placedNode, resolvePlacement } from "./placement.ts";
import { type Schema, StructLayout } from "./struct.ts";
import { isOwnBufferDetached } from "./typed_arrays.ts";
import { track } from "./metrics.ts";

/** Options of `new Arena(...)`; `placement`, `hugePages` and `lock` place its memory (see MemoryOptions). */
export interface ArenaOptions extends MemoryOptions {
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
  /** Bytes asked for by every successful allocation since creation. */
  requestedBytes: number;
  /** Bytes skipped to align those allocations since creation: the arena's only waste. */
  alignmentWasteBytes: number;
  /** alignmentWasteBytes / (requestedBytes + alignmentWasteBytes), 0 before any allocation. */
  fragmentation: number;
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
  // The shape rules of src/pool.ts hold here too (measured): no public class fields, the
  // mutable hot state assigned first and the constant one exactly once, the rest in one holder.
  /** Bytes from the start to the end of the last allocation. */
  declare private offset: number;
  /** Successful allocations, a double from the start: no overflow check per increment. */
  declare private allocations: number;
  /** Allocations must end at or below this: the capacity, or 0 once closed (slow path). */
  declare private limit: number;
  /** The default alignment minus one. */
  declare private alignMask: number;
  #c: ArenaCold;

  /** Bytes the arena can hand out. */
  declare readonly capacity: number;
  /** Default alignment of `alloc`. */
  declare readonly align: number;
  /** The label given at creation, for `metrics()`. */
  declare readonly name: string;

  /** Maps an arena. Throws INVALID_ARGUMENT for bad options, OUT_OF_MEMORY if mapping fails. */
  constructor(options: ArenaOptions) {
    this.offset = 0;
    this.allocations = -0;
    const where = "new Arena";
    const given = readOptions(where, options, ["capacity", "align", "name", ...MEMORY_OPTION_KEYS]);
    this.capacity = integerIn(where, "capacity", given.capacity, 1, LIMITS.arenaCapacityMax);
    this.align = given.align === undefined ? 8 : alignment(where, "align", given.align);
    this.name = label(where, given.name);
    const native = openNative();
    const placement = resolvePlacement(where, given);
    const region = createArenaRegion(native, { capacity: this.capacity, alignment: this.align, placement }, "Arena");
    const dataOffset = new DataView(region.buffer).getUint32(ARENA_HEADER.dataOffset, true);
    this.limit = this.capacity;
    this.alignMask = this.align - 1;
    this.#c = {
      native,
      id: region.id,
      closed: false,
      dataAddress: region.address + dataOffset,
      regionBytes: region.buffer.byteLength,
      header: new Uint32Array(region.buffer, 0, LIMITS.headerBytes / 4),
      bytes: new Uint8Array(region.buffer, dataOffset, this.capacity),
      highWater: 0,
      failed: 0,
      resets: 0,
      padding: 0,
      retreated: 0,
    };
    track(this, placedNode(placement));
  }

  /** The arena's memory as one Uint8Array; allocations are offsets into it. */
  get bytes(): Uint8Array {
    this.#checkOpen();
    return this.#c.bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#c.closed;
  }

  /**
   * Reserves `bytes` bytes aligned to `align` (default: the arena's `align`) and returns their
   * offset in `bytes`. Throws ARENA_FULL when they do not fit, INVALID_ARGUMENT for a bad size
   * or alignment.
   */
  alloc(bytes: number, align?: number): number {
    const start = this.tryAlloc(bytes, align);
    if (start < 0) throw this.#full(bytes, align ?? this.align);
    return start;
  }

  /** Like `alloc`, but returns -1 instead of throwing when the arena is full. */
  tryAlloc(bytes: number, align?: number): number {
    const mask = align === undefined ? this.alignMask : alignMaskOf(align);
    // The typeof test comes first (a bigint or Symbol would throw in `>>>`) and costs nothing
    // once the JIT has seen numbers; `x >>> 0 === x` holds for integers 0..2^32-1 only. A size
    // beyond the capacity fails the room test below.
    if (typeof bytes !== "number" || (bytes >>> 0) !== bytes || bytes === 0) throw this.#badSize(bytes);
    // `& ~mask`, not `& -align`: JSC sends the latter into a deoptimisation loop (PERF-NOTES).
    const start = (this.offset + mask) & ~mask;
    const end = start + bytes;
    if (end > this.limit) return this.#noRoom(bytes);
    // Alignment waste goes to the cold holder, and only when there is some: hot fields added to
    // an Arena cost V8 2.5x on alloc (measured: tight ratio 1.07 -> 2.66).
    if (start !== this.offset) this.#c.padding += start - this.offset;
    this.offset = end;
    this.allocations++;
    return start;
  }

  /**
   * Reserves one record of `layout`, aligned to the layout, and returns its offset; read and
   * write it with `layout.cursor(arena.bytes).at(offset)`.
   */
  allocStruct<S extends Schema>(layout: StructLayout<S>): number {
    if (!StructLayout.isLayout(layout)) {
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
    if (this.#c.closed) throw closedError("Arena");
    return this.offset;
  }

  /** Releases everything allocated since `mark`. Throws INVALID_ARGUMENT for a mark ahead of the offset. */
  rewind(mark: number): void {
    if (this.#c.closed) throw closedError("Arena");
    const to = integerIn("Arena.rewind", "mark", mark, 0, this.offset);
    this.#keepHighWater();
    this.#c.retreated += this.offset - to;
    this.offset = to;
  }

  /** Releases everything: the next allocation starts at offset 0. */
  reset(): void {
    if (this.#c.closed) throw closedError("Arena");
    this.#keepHighWater();
    this.#c.retreated += this.offset;
    this.offset = 0;
    this.#c.resets++;
  }

  /** Native address of `offset` inside the arena, for native code. Valid while the arena is open. */
  ptr(offset: number): number {
    this.#checkOpen();
    integerIn("Arena.ptr", "offset", offset, 0, this.capacity - 1);
    return this.#c.dataAddress + offset;
  }

  /** Counters and sizes, without a call into the library (also written to the native header). */
  stats(): ArenaStats {
    this.#checkOpen();
    this.#keepHighWater();
    this.#writeHeader();
    const cold = this.#c;
    return {
      capacity: this.capacity,
      offset: this.offset,
      highWater: cold.highWater,
      allocations: this.allocations + 0,
      failedAllocations: cold.failed,
      resets: cold.resets,
      // Every byte the offset moved forward was asked for or skipped to align.
      requestedBytes: this.offset + cold.retreated - cold.padding,
      alignmentWasteBytes: cold.padding,
      fragmentation: cold.padding === 0 ? 0 : cold.padding / (this.offset + cold.retreated),
      bytesReserved: cold.regionBytes,
    };
  }

  /**
   * Closes the arena: every later call throws CLOSED, the memory goes back to the kernel.
   * Views taken earlier stay safe to touch (they read zeros). Idempotent.
   */
  close(): void {
    const cold = this.#c;
    if (cold.closed) return;
    cold.closed = true;
    this.limit = 0;
    closeRegion(cold.native, cold.id);
    cold.header = new Uint32Array(LIMITS.headerBytes / 4);
    cold.bytes = new Uint8Array(0);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The offset only grows between rewinds and resets, so its largest value is taken then. */
  #keepHighWater(): void {
    if (this.offset > this.#c.highWater) this.#c.highWater = this.offset;
  }

  #full(bytes: number, align: number): HotpathError {
    return new HotpathError(
      "ARENA_FULL",
      `Arena is full: ${bytes} bytes aligned to ${align} do not fit after offset ${this.offset} ` +
        `of ${this.capacity}. Rewind, reset, or create a larger arena.`,
    );
  }

  /**
   * Throws CLOSED, or DETACHED (and closes) when the region's buffer was transferred away.
   * Only for what touches memory: mark, rewind and reset move the offset alone, and the
   * detached test (an opaque call) in reset made the allocation loop around it slower.
   */
  #checkOpen(): void {
    if (this.#c.closed) throw closedError("Arena");
    if (isOwnBufferDetached(this.#c.header.buffer as ArrayBuffer)) {
      this.close();
      throw detachedError("Arena");
    }
  }

  #writeHeader(): void {
    const cold = this.#c;
    const header = cold.header;
    header[OFFSET] = this.offset;
    header[HIGH_WATER] = cold.highWater;
    writeCounter(header, ALLOCATIONS, this.allocations);
    writeCounter(header, FAILED, cold.failed);
    writeCounter(header, RESETS, cold.resets);
  }

  /** Closed, a size beyond the capacity, or no room left (counted). */
  #noRoom(bytes: number): number {
    if (this.#c.closed) throw closedError("Arena");
    if (bytes > this.capacity) throw this.#badSize(bytes);
    this.#c.failed++;
    return -1;
  }

  #badSize(bytes: unknown): HotpathError {
    if (this.#c.closed) return closedError("Arena");
    return integerError("Arena.alloc", "bytes", bytes, 1, this.capacity);
  }
}

/** A checked alignment minus one: the mask `tryAlloc` rounds with. */
function alignMaskOf(align: unknown): number {
  if (
    typeof align !== "number" || (align >>> 0) !== align || ((align - 1) >>> 0) >= LIMITS.alignmentMax ||
    (align & (align - 1)) !== 0
  ) {
    throw alignmentError("Arena.alloc", "align", align);
  }
  return align - 1;
}

/** An Arena's state off the hot path. */
interface ArenaCold {
  native: Native;
  id: number;
  closed: boolean;
  dataAddress: number;
  regionBytes: number;
  header: Uint32Array;
  bytes: Uint8Array;
  /** The largest offset reached before the last rewind or reset. */
  highWater: number;
  failed: number;
  resets: number;
  /** Bytes skipped to align allocations, since creation. */
  padding: number;
  /** Bytes the offset moved back (rewinds and resets), since creation: with the offset, how far it moved forward. */
  retreated: number;
}
