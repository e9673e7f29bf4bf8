/**
 * The TypeScript mirror of zig/src/layout.zig and zig/src/constants.zig. `LAYOUT_ORDER` is the
 * order of Zig's `layout.table`; `verifyLayout` compares every entry when the library loads,
 * so a mismatch is an error at startup, never silent corruption.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";

/** ABI version this TypeScript code was written against. */
export const ABI_VERSION = 2;

/** Byte offsets, sizes and limits shared with Zig. */
export const LAYOUT = {
  abiVersion: ABI_VERSION,
  headerBytes: 128,
  handleNil: 0xFFFF_FFFF,
  poolFreeHead: 0,
  poolInUse: 4,
  poolHighWater: 8,
  poolAllocations: 16,
  poolFailed: 24,
  poolMagic: 64,
  poolFlags: 68,
  poolBlockSize: 72,
  poolBlockStride: 76,
  poolCapacity: 80,
  poolAlignment: 84,
  poolBitmapOffset: 88,
  poolBlocksOffset: 92,
  poolRegionBytes: 96,
  poolMetadataBytes: 104,
  poolMagicValue: 0x4C4F_4F50,
  arenaOffset: 0,
  arenaHighWater: 4,
  arenaAllocations: 8,
  arenaFailed: 16,
  arenaResets: 24,
  arenaMagic: 64,
  arenaFlags: 68,
  arenaCapacity: 72,
  arenaAlignment: 76,
  arenaDataOffset: 80,
  arenaRegionBytes: 88,
  arenaMagicValue: 0x414E_4552,
  poolCapacityMax: 1 << 26,
  blockSizeMax: 1 << 20,
  alignmentMax: 4096,
  arenaCapacityMax: 1 << 30,
  batchMax: 1 << 20,
  blockAlignmentMin: 4,
  flagsKnown: 0,
  poolGrowLimit: 112,
  poolGrowChunk: 116,
  poolGrowths: 120,
} as const;

/** The order of Zig's `layout.table`. Append only, in step with Zig. */
export const LAYOUT_ORDER: readonly (keyof typeof LAYOUT)[] = Object.keys(LAYOUT) as (keyof typeof LAYOUT)[];

/** Index of a byte offset in a Uint32Array over a header. */
export function word(byteOffset: number): number {
  return byteOffset >>> 2;
}

/** Writes a u64 counter (exact up to 2^53) as two little-endian u32 words at `index`. */
export function writeCounter(words: Uint32Array, index: number, value: number): void {
  words[index] = value % 2 ** 32;
  words[index + 1] = Math.floor(value / 2 ** 32);
}

/** Reads a u64 counter written by Zig or by `writeCounter`. */
export function readCounter(words: Uint32Array, index: number): number {
  return words[index] + words[index + 1] * 2 ** 32;
}

/** Throws ABI_MISMATCH unless the library at `path` reports this module's ABI version. */
export function verifyAbiVersion(path: string, abiVersion: number): void {
  if (abiVersion !== ABI_VERSION) {
    throw new HotpathError(
      "ABI_MISMATCH",
      `${path} has ABI version ${abiVersion}, this module needs ${ABI_VERSION}. Rebuild it: node scripts/setup.mjs.`,
    );
  }
}

/** Throws LAYOUT_MISMATCH naming every entry on which Zig and TypeScript disagree. */
export function verifyLayout(count: number, valueAt: (index: number) => number): void {
  const problems: string[] = [];
  if (count !== LAYOUT_ORDER.length) {
    problems.push(`the library has ${count} layout entries, TypeScript has ${LAYOUT_ORDER.length}`);
  }
  LAYOUT_ORDER.forEach((name, index) => {
    const native = valueAt(index);
    if (native !== LAYOUT[name]) problems.push(`${name}: library ${native}, TypeScript ${LAYOUT[name]}`);
  });
  if (problems.length > 0) {
    throw new HotpathError(
      "LAYOUT_MISMATCH",
      `The library's memory layout differs from ffi/layout.ts (${problems.join("; ")}). ` +
        "Rebuild the library from this checkout: node scripts/setup.mjs.",
    );
  }
}
