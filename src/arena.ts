/**
 * `Arena`: bump allocation in native memory with alignment, marks and reset.
 *
 * alloc runs in TypeScript over the region's header (the layout of zig/src/arena.zig): no
 * FFI call and no garbage on the hot path.
 *
 * @module
 */
import { loadLibrary, type Native } from "../ffi/library.ts";
import { LAYOUT, word } from "../ffi/layout.ts";
import { closedError, HotpathError } from "./errors.ts";
import { alignment, integerIn, optionsObject } from "./validate.ts";
import { closeRegion, mapRegion } from "./region.ts";

/** Options of `new Arena(...)`. */
export interface ArenaOptions {
  /** Bytes the arena can hand out, 1 to 1 GiB. */
  capacity: number;
  /** Default alignment of `alloc`, a power of two up to 4096. Default: 8. */
  align?: number;
}

/** What `arena.stats()` reports. Counts are exact up to 2^53. */
export interface ArenaStats {
  capacity: number;
  /** Bytes from the start to the end of the last allocation. */
  offset: number;
  highWater: number;
  allocations: number;
  failedAllocations: number;
  resets: number;
  /** Bytes of the whole mapping, header page included. */
  bytesReserved: number;
}

const OFFSET = word(LAYOUT.arenaOffset);
const HIGH_WATER = word(LAYOUT.arenaHighWater);
const ALLOCATIONS = word(LAYOUT.arenaAllocations);
const FAILED = word(LAYOUT.arenaFailed);
const RESETS = word(LAYOUT.arenaResets);

function bump(header: Uint32Array, index: number): void {
  const low = (header[index] + 1) >>> 0;
  header[index] = low;
  if (low === 0) header[index + 1] += 1;
}

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

  #native: Native;
  #id: number;
  #closed = false;
  #dataAddress: number;
  #header: Uint32Array;
  #bytes: Uint8Array;

  /** Maps an arena. Throws INVALID_ARGUMENT for bad options, OUT_OF_MEMORY if mapping fails. */
  constructor(options: ArenaOptions) {
    const where = "new Arena";
    const given = optionsObject(where, options);
    this.capacity = integerIn(where, "capacity", given.capacity, 1, LAYOUT.arenaCapacityMax);
    this.align = alignment(where, "align", given.align ?? 8);
    this.#native = loadLibrary();
    const region = mapRegion(
      this.#native,
      this.#native.symbols.hp_arena_create(this.capacity, this.align, 0),
      "Arena",
      "ARENA_FULL",
    );
    const dataOffset = new DataView(region.buffer).getUint32(LAYOUT.arenaDataOffset, true);
    this.#id = region.id;
    this.#dataAddress = region.address + dataOffset;
    this.#header = new Uint32Array(region.buffer, 0, LAYOUT.headerBytes / 4);
    this.#bytes = new Uint8Array(region.buffer, dataOffset, this.capacity);
  }

  /** The arena's memory as one Uint8Array; allocations are offsets into it. */
  get bytes(): Uint8Array {
    if (this.#closed) throw closedError("Arena");
    return this.#bytes;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reserves `bytes` bytes aligned to `align` and returns their offset in `bytes`.
   * Throws ARENA_FULL when they do not fit, INVALID_ARGUMENT for a bad size or alignment.
   */
  alloc(bytes: number, align: number = this.align): number {
    const offset = this.tryAlloc(bytes, align);
    if (offset < 0) {
      throw new HotpathError(
        "ARENA_FULL",
        `Arena is full: ${bytes} bytes aligned to ${align} do not fit after offset ${this.#header[OFFSET]} ` +
          `of ${this.capacity}. Rewind, reset, or create a larger arena.`,
      );
    }
    return offset;
  }

  /** Like `alloc`, but returns -1 instead of throwing when the arena is full. */
  tryAlloc(bytes: number, align: number = this.align): number {
    if (this.#closed) throw closedError("Arena");
    // Integer in range: `x >>> 0 === x` rejects fractions, negatives, NaN and non-numbers.
    if ((bytes >>> 0) !== bytes || bytes === 0 || bytes > this.capacity) {
      integerIn("Arena.alloc", "bytes", bytes, 1, this.capacity);
    }
    if ((align >>> 0) !== align || align === 0 || align > LAYOUT.alignmentMax || (align & (align - 1)) !== 0) {
      alignment("Arena.alloc", "align", align);
    }
    const header = this.#header;
    const current = header[OFFSET];
    const start = (current + align - 1) & -align;
    const end = start + bytes;
    if (end > this.capacity) {
      bump(header, FAILED);
      return -1;
    }
    header[OFFSET] = end;
    if (end > header[HIGH_WATER]) header[HIGH_WATER] = end;
    bump(header, ALLOCATIONS);
    return start;
  }

  /** The current offset, to `rewind()` to later. */
  mark(): number {
    if (this.#closed) throw closedError("Arena");
    return this.#header[OFFSET];
  }

  /** Releases everything allocated since `mark`. Throws INVALID_ARGUMENT for a mark ahead of the offset. */
  rewind(mark: number): void {
    if (this.#closed) throw closedError("Arena");
    integerIn("Arena.rewind", "mark", mark, 0, this.#header[OFFSET]);
    this.#header[OFFSET] = mark;
  }

  /** Releases everything: the next allocation starts at offset 0. */
  reset(): void {
    if (this.#closed) throw closedError("Arena");
    this.#header[OFFSET] = 0;
    bump(this.#header, RESETS);
  }

  /** Native address of `offset` inside the arena, for native code. */
  ptr(offset: number): number {
    if (this.#closed) throw closedError("Arena");
    integerIn("Arena.ptr", "offset", offset, 0, this.capacity - 1);
    return this.#dataAddress + offset;
  }

  /** Counters and sizes, read from native memory without a call into the library. */
  stats(): ArenaStats {
    if (this.#closed) throw closedError("Arena");
    const header = this.#header;
    const regionBytes = new DataView(header.buffer, header.byteOffset, LAYOUT.headerBytes)
      .getBigUint64(LAYOUT.arenaRegionBytes, true);
    return {
      capacity: this.capacity,
      offset: header[OFFSET],
      highWater: header[HIGH_WATER],
      allocations: header[ALLOCATIONS] + header[ALLOCATIONS + 1] * 2 ** 32,
      failedAllocations: header[FAILED] + header[FAILED + 1] * 2 ** 32,
      resets: header[RESETS] + header[RESETS + 1] * 2 ** 32,
      bytesReserved: Number(regionBytes),
    };
  }

  /**
   * Closes the arena: every later call throws CLOSED, the memory goes back to the kernel.
   * Views taken earlier stay safe to touch (they read zeros). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeRegion(this.#native, this.#id);
    this.#header = new Uint32Array(LAYOUT.headerBytes / 4);
    this.#bytes = new Uint8Array(0);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
