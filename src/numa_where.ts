/**
 * Where a region's pages are: the NUMA node of each page, asked of the kernel (move_pages in
 * query mode, zig/src/system/placement.zig), so that placement is verified, not assumed.
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { NUMA_WHERE, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { f64Record } from "./header_words.ts";
import { typedArrayFacts } from "./typed_arrays.ts";
import { describe } from "./validate.ts";

/** What `numa.whereIs` answers. */
export interface PagePlacement {
  /** Bytes of a page. */
  pageBytes: number;
  /** Pages the memory spans. */
  pages: number;
  /** Pages asked about: all of them up to 65,536, else every n-th (an even sample). */
  sampled: number;
  /** Sampled pages on each node: `byNode[n]` for node n (trailing zeros left out). */
  byNode: number[];
  /** Sampled pages not in memory yet (never touched), and pages the kernel could not place. */
  notPresent: number;
  /** Sampled pages on a node numbered 64 or more, or that the kernel could not tell. */
  other: number;
}

const COUNTS = NUMA_WHERE.size / 8;
const NODES = (NUMA_WHERE.size - NUMA_WHERE.byNode) / 8;

/** The Uint8Array of `target`: itself, or its `bytes` (a Pool, an Arena, a ring side). */
export function regionMemoryOf(where: string, target: unknown): Uint8Array {
  let bytes = target;
  if (typedArrayFacts(target, "Uint8Array") === undefined && typeof target === "object" && target !== null) {
    bytes = (target as { bytes?: unknown }).bytes;
  }
  const facts = typedArrayFacts(bytes, "Uint8Array");
  if (facts === undefined) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: pass a Uint8Array or an object with a bytes Uint8Array (a Pool, Arena or ring side); got ` +
        `${describe(target)}.`,
    );
  }
  if (facts.detached || facts.length === 0) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: the memory is empty or its buffer was detached.`);
  }
  return bytes as Uint8Array;
}

/** Counts the NUMA node of each page of `target`'s memory. */
export function whereIs(target: unknown, where = "numa.whereIs"): PagePlacement {
  const bytes = regionMemoryOf(where, target);
  const length = typedArrayFacts(bytes, "Uint8Array")!.length;
  const counts = new Float64Array(COUNTS);
  const status = openNative().symbols.hp_numa_where(bytes, length, counts, counts.byteLength);
  if (status === STATUS.unsupported) {
    throw new HotpathError("UNSUPPORTED", `${where}: the kernel cannot say where pages are (no NUMA support).`);
  }
  if (status < 0) throw new HotpathError("INVALID_ARGUMENT", `${where}: the kernel refused to look at this memory.`);
  const byNode = Array.from(counts.subarray(NUMA_WHERE.byNode / 8, NUMA_WHERE.byNode / 8 + NODES));
  while (byNode.length > 0 && byNode[byNode.length - 1] === 0) byNode.pop();
  const { pageBytes, pages, sampled, notPresent, other } = f64Record(NUMA_WHERE, counts);
  return { pageBytes, pages, sampled, byNode, notPresent, other };
}
