/**
 * What debug mode adds to a Pool: generation bits in handles, poisoned free blocks and guard
 * bytes after every block. `Pool` keeps the free list; this file owns the patterns, the
 * handle encoding and the errors that name what happened.
 *
 * A debug handle is `generation << indexBits | index`. A block's generation advances on
 * every free, so a handle kept after its block was freed is stale: freeing it again is a
 * DOUBLE_FREE, touching it a USE_AFTER_FREE, even after the block was handed out again. Free
 * blocks hold the poison byte (except the free-list link in their first 4 bytes) and are
 * checked when reused. Every block is followed by guard bytes, checked on free and by `check()`.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { environment } from "./environment.ts";

/** Byte every free block is filled with; a reused block must still hold it. */
export const POISON_BYTE = 0xdd;
/** Byte of the guards after every block. */
export const GUARD_BYTE = 0xfd;
/** Guard bytes after each block, at least: one 8-byte word catches the usual off-by-one. */
export const GUARD_BYTES_MIN = 8;
/** The free-list link every free block keeps in its first bytes. */
const LINK_BYTES = 4;
/** Handles stay below 2^31: small integers in both engines, and `handle >>> 0 === handle`. */
export const HANDLE_BITS_MAX = 31;

/** True when the environment asks for debug mode (`HOTPATH_DEBUG=1`); false if it cannot be read. */
export function debugFromEnvironment(): boolean {
  const value = environment("HOTPATH_DEBUG");
  return value === "1" || value === "true";
}

/** Bytes a block occupies in native memory in debug mode: the data (at least the link) and a guard. */
export function debugBlockBytes(blockSize: number): number {
  return Math.max(blockSize, LINK_BYTES) + GUARD_BYTES_MIN;
}

/** Bits needed to tell `count` indexes apart (at least 1). */
function bitsFor(count: number): number {
  return Math.max(1, Math.ceil(Math.log2(count)));
}

/** The debug state of one pool. Its memory (one u32 generation per block) is taken at creation. */
export class PoolDebug {
  /** Bits of a handle that hold the block index. */
  readonly indexBits: number;
  /** Bits of a handle that hold the generation (0: stale handles are caught only while their block is free). */
  readonly generationBits: number;
  /** The free-list head (-1 when empty); the Pool's own head stays -1 so its fast paths defer here. */
  head = -1;
  readonly #blockSize: number;
  readonly #stride: number;
  /** First guard byte of a block, relative to the block's start. */
  readonly #guardStart: number;
  readonly #indexMask: number;
  readonly #generationMask: number;
  readonly #generations: Uint32Array;
  #bytes: Uint8Array;

  constructor(bytes: Uint8Array, blockSize: number, stride: number, maxCapacity: number, handleBits: number) {
    this.indexBits = bitsFor(maxCapacity);
    this.generationBits = Math.max(0, handleBits - this.indexBits);
    this.#indexMask = this.indexBits >= 31 ? 0x7fff_ffff : (1 << this.indexBits) - 1;
    this.#generationMask = this.generationBits === 0 ? 0 : 2 ** this.generationBits - 1;
    this.#blockSize = blockSize;
    this.#stride = stride;
    this.#guardStart = Math.max(blockSize, LINK_BYTES);
    this.#generations = new Uint32Array(maxCapacity);
    this.#bytes = bytes;
  }

  /** The handle of block `index` in its current generation. */
  encode(index: number): number {
    return this.#generations[index] * 2 ** this.indexBits + index;
  }

  /** The block index a handle names, or -1 when it names none below `capacity`. */
  indexOf(handle: unknown, capacity: number): number {
    if (typeof handle !== "number" || (handle >>> 0) !== handle || handle > 0x7fff_ffff) return -1;
    const index = handle & this.#indexMask;
    if (index >= capacity || handle >= 2 ** (this.indexBits + this.generationBits)) return -1;
    return index;
  }

  /** True when `handle` carries the current generation of its block. */
  isCurrent(handle: number, index: number): boolean {
    return handle === this.encode(index);
  }

  /** Makes every handle of block `index` handed out so far stale. */
  retire(index: number): void {
    this.#generations[index] = (this.#generations[index] + 1) & this.#generationMask;
  }

  /** Fills blocks `from .. to-1` with poison and writes their guards: newly committed or reset blocks. */
  prepare(from: number, to: number): void {
    for (let index = from; index < to; index++) {
      const start = index * this.#stride;
      this.#bytes.fill(POISON_BYTE, start + LINK_BYTES, start + this.#guardStart);
      this.#bytes.fill(GUARD_BYTE, start + this.#guardStart, start + this.#stride);
    }
  }

  /** Poisons a block that was just freed (all but its free-list link). */
  poison(index: number): void {
    const start = index * this.#stride;
    this.#bytes.fill(POISON_BYTE, start + LINK_BYTES, start + this.#guardStart);
  }

  /** Poisons the link of a block just handed out, so it reads as uninitialised everywhere. */
  poisonLink(index: number): void {
    const start = index * this.#stride;
    this.#bytes.fill(POISON_BYTE, start, start + LINK_BYTES);
  }

  /** The offset of the first byte of a free block that is not poison, or -1. */
  firstWriteAfterFree(index: number): number {
    const start = index * this.#stride;
    const end = start + this.#guardStart;
    for (let at = start + LINK_BYTES; at < end; at++) {
      if (this.#bytes[at] !== POISON_BYTE) return at - start;
    }
    return -1;
  }

  /** The offset of the first guard byte of block `index` that changed, or -1. */
  firstGuardWrite(index: number): number {
    const start = index * this.#stride;
    for (let at = start + this.#guardStart; at < start + this.#stride; at++) {
      if (this.#bytes[at] !== GUARD_BYTE) return at - start;
    }
    return -1;
  }

  /** The pool closed: drop the view of its memory. */
  close(): void {
    this.#bytes = new Uint8Array(0);
  }

  /** DOUBLE_FREE for a handle whose block is free or was reallocated since. */
  doubleFree(handle: number, index: number, allocated: boolean): HotpathError {
    const now = allocated
      ? `it was freed and block ${index} has been handed out again as handle ${this.encode(index)}`
      : `block ${index} is free`;
    return new HotpathError("DOUBLE_FREE", `Pool (debug): free(${handle}) is a double free: ${now}.`);
  }

  /** USE_AFTER_FREE for a stale handle used to reach its block. */
  staleHandle(handle: number, index: number, allocated: boolean): HotpathError {
    const now = allocated ? `handed out again as handle ${this.encode(index)}` : "free";
    return new HotpathError(
      "USE_AFTER_FREE",
      `Pool (debug): handle ${handle} is used after it was freed: block ${index} is ${now}.`,
    );
  }

  /** USE_AFTER_FREE for a free block found written to. */
  writtenAfterFree(index: number, offset: number): HotpathError {
    return new HotpathError(
      "USE_AFTER_FREE",
      `Pool (debug): block ${index} was written after it was freed (byte ${offset} of the block, ` +
        `last handle ${this.encode(index)}): a stale handle or view wrote to it.`,
    );
  }

  /** OVERFLOW for a block whose guard bytes changed. */
  overflow(index: number, offset: number, allocated: boolean): HotpathError {
    const owner = allocated ? `handle ${this.encode(index)}` : `free block ${index}`;
    return new HotpathError(
      "OVERFLOW",
      `Pool (debug): a write ran past the end of ${owner}: guard byte ${offset - this.#guardStart} ` +
        `after its ${this.#blockSize} bytes changed.`,
    );
  }
}
