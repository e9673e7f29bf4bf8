/**
 * What a region actually got, verified rather than assumed: its pages by node (move_pages),
 * their size, how much is in huge pages and locked (/proc/self/smaps). A region created with
 * placement options is checked once at creation, and what fell back is counted per thread:
 * pages that landed off the asked node, huge pages asked for and not obtained.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { PAGES_REPORT, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError, statusError } from "./errors.ts";
import { f64Record } from "./header_words.ts";
import { type PagePlacement, regionMemoryOf, whereIs } from "./numa_where.ts";
import { isDetached, typedArrayFacts } from "./typed_arrays.ts";
import type { HotpathErrorCode } from "../ffi/errors.ts";
import {
  isDefaultPlacement,
  type KernelPolicy,
  placedNode,
  type Placement,
  type ResolvedPlacement,
} from "./placement.ts";

/** The size of a transparent or explicit huge page (x86-64). */
export const HUGE_PAGE_BYTES = 2 << 20;

/** What `numa.placementOf(region)` answers. */
export interface RegionPlacement {
  /** What creation asked, resolved for the machine; undefined for a region this realm opened or attached to. */
  requested?: {
    placement: Placement | undefined;
    policy: KernelPolicy;
    nodes: readonly number[];
    hugePages: "transparent" | "explicit" | false;
    lock: boolean;
  };
  /** Pages by node now (`numa.whereIs`). */
  nodes: PagePlacement;
  /** The mapping's page size: 4096, or the huge page size of explicit huge pages. */
  pageBytes: number;
  /** Bytes resident now. */
  residentBytes: number;
  /** Resident bytes in huge pages, explicit or transparent. */
  hugePageBytes: number;
  /** Resident bytes locked in memory (mlock). */
  lockedBytes: number;
  /**
   * True when the mapping reaches past the region's buffer (a neighbouring mapping the kernel
   * merged in, or the unused tail of the last explicit huge page), so the byte counts above
   * include that memory.
   */
  includesNeighbours: boolean;
  /** What fell back: sampled pages off the asked nodes, and whether huge pages were asked for and not obtained. */
  fallback: { pagesOffNode: number; hugePages: boolean };
}

/** This thread's fallbacks since it started, over every region created with placement options. */
export interface PlacementFallbacks {
  /** Regions created with placement options. */
  regions: number;
  /**
   * Of them, regions whose placement could not be checked: the kernel refused to say where pages
   * are (no NUMA support, or a seccomp filter forbids move_pages). They were created all the same.
   */
  unverified: number;
  /** How many of them got less than they asked. */
  regionsFallenBack: number;
  /** Sampled pages that landed off the asked nodes (a preferred node was full). */
  pagesOffNode: number;
  /** Regions that asked for huge pages and got base pages. */
  hugePages: number;
}

const REPORT_WORDS = PAGES_REPORT.size / 8;
const pending = new Map<number, ResolvedPlacement>();
const requests = new WeakMap<ArrayBuffer, ResolvedPlacement>();
const fallbacks: PlacementFallbacks = {
  regions: 0,
  unverified: 0,
  regionsFallenBack: 0,
  pagesOffNode: 0,
  hugePages: 0,
};

/**
 * Throws what a creation status means, naming RLIMIT_MEMLOCK and its value for a refused lock
 * and the nodes for a refused placement.
 */
export function creationError(
  native: Native,
  status: number,
  subject: string,
  exhausted: HotpathErrorCode,
  placement: ResolvedPlacement,
): HotpathError {
  if (status === STATUS.lockRefused) {
    const limit = native.symbols.hp_memory_lock_limit();
    return new HotpathError(
      "MEMLOCK_LIMIT",
      `${subject}: lock: true was refused: locking the region would pass RLIMIT_MEMLOCK (${
        limit < 0 ? "unknown" : `${limit} bytes`
      } for this process). Raise it (ulimit -l, LimitMEMLOCK= in systemd), run with CAP_IPC_LOCK, or drop lock.`,
    );
  }
  if (status === STATUS.placementRefused) {
    return new HotpathError(
      "INVALID_ARGUMENT",
      `${subject}: the kernel refused the placement on node(s) ${placement.nodes.join(", ")}: none of them has ` +
        "memory this process may use now (its cpuset's mems). See numa.topology().processNodes.",
    );
  }
  if (status === STATUS.unsupported && !isDefaultPlacement(placement)) {
    return new HotpathError(
      "UNSUPPORTED",
      `${subject}: the kernel refused a call its memory options need (mbind for placement, mlock2 for lock): ` +
        "it lacks NUMA support, or a seccomp filter forbids the call (the default of many containers). " +
        "Create the region without those options.",
    );
  }
  return statusError(status, subject, exhausted);
}

/** Remembers what region `id` asked for until its first buffer is held (`claimRequest`). */
export function rememberRequest(id: number, placement: ResolvedPlacement): void {
  if (!isDefaultPlacement(placement)) pending.set(id, placement);
}

/**
 * Ties region `id`'s request to the buffer this realm holds it through, then checks what the
 * kernel gave and counts what fell back. The check never fails a creation that succeeded: a
 * kernel that will not answer leaves the region counted as unverified. smaps is read only when
 * huge pages were asked for (it costs milliseconds in a process with thousands of mappings).
 */
export function claimRequest(id: number, buffer: ArrayBuffer): void {
  const placement = pending.get(id);
  if (placement === undefined) return;
  pending.delete(id);
  requests.set(buffer, placement);
  fallbacks.regions++;
  let pagesOffNode = 0;
  let hugePages = false;
  try {
    const bytes = new Uint8Array(buffer);
    if (placement.policy !== "default") pagesOffNode = offNode(placement, whereIs(bytes));
    if (placement.hugePages !== false) {
      const pages = pagesReport(bytes, "placement check");
      hugePages = hugePagesFellBack(placement, pages.pageBytes, pages.hugeBytes);
    }
  } catch {
    fallbacks.unverified++;
    return;
  }
  if (pagesOffNode > 0 || hugePages) fallbacks.regionsFallenBack++;
  fallbacks.pagesOffNode += pagesOffNode;
  if (hugePages) fallbacks.hugePages++;
}

/** The one node the region behind `buffer` was placed on, -1 when none in particular. */
export function placedNodeOf(buffer: ArrayBuffer): number {
  const placement = requests.get(buffer);
  return placement === undefined ? -1 : placedNode(placement);
}

/** Sampled pages off the nodes `request` asked for (none for the default policy). */
function offNode(request: ResolvedPlacement | undefined, nodes: PagePlacement): number {
  if (request === undefined || request.policy === "default") return 0;
  return nodes.byNode.reduce((sum, count, node) => (request.nodes.includes(node) ? sum : sum + count), 0) +
    nodes.other;
}

/** The smaps figures of the mapping holding `bytes`. */
function pagesReport(bytes: Uint8Array, where: string) {
  const out = new Float64Array(REPORT_WORDS);
  const status = openNative().symbols.hp_pages_report(bytes, bytes.byteLength, out, out.byteLength);
  if (status === STATUS.unsupported) {
    throw new HotpathError("UNSUPPORTED", `${where}: page reports need Linux's /proc/self/smaps.`);
  }
  if (status < 0) throw new HotpathError("INVALID_ARGUMENT", `${where}: no mapping holds this memory.`);
  return f64Record(PAGES_REPORT, out);
}

/** This thread's placement fallbacks (a copy). */
export function placementFallbacks(): PlacementFallbacks {
  return { ...fallbacks };
}

/** What `target`'s memory got (see RegionPlacement). */
export function placementOf(target: unknown, where = "numa.placementOf"): RegionPlacement {
  // The whole mapping: a Pool's `bytes` start past its header, which shares its pages. The
  // buffer comes through the intrinsic getter: a subclass's `buffer` cannot name another one.
  const buffer = typedArrayFacts(regionMemoryOf(where, target), "Uint8Array")!.buffer;
  if (isDetached(buffer)) throw new HotpathError("INVALID_ARGUMENT", `${where}: the memory's buffer was detached.`);
  const bytes = new Uint8Array(buffer);
  const nodes = whereIs(bytes, where);
  const pages = pagesReport(bytes, where);
  const request = requests.get(buffer as ArrayBuffer);
  return {
    requested: request === undefined ? undefined : Object.freeze({
      placement: request.asked,
      policy: request.policy,
      nodes: Object.freeze([...request.nodes]),
      hugePages: request.hugePages,
      lock: request.lock,
    }),
    nodes,
    pageBytes: pages.pageBytes,
    residentBytes: pages.residentBytes,
    hugePageBytes: pages.hugeBytes,
    lockedBytes: pages.lockedBytes,
    includesNeighbours: pages.spills === 1,
    fallback: {
      pagesOffNode: offNode(request, nodes),
      hugePages: hugePagesFellBack(request, pages.pageBytes, pages.hugeBytes),
    },
  };
}

function hugePagesFellBack(request: ResolvedPlacement | undefined, pageBytes: number, hugeBytes: number): boolean {
  if (request === undefined) return false;
  if (request.hugePages === "explicit") return pageBytes < HUGE_PAGE_BYTES;
  if (request.hugePages === "transparent") return hugeBytes === 0;
  return false;
}
