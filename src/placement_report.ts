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
import type { HotpathErrorCode } from "../ffi/errors.ts";
import { isDefaultPlacement, type KernelPolicy, type Placement, type ResolvedPlacement } from "./placement.ts";

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
const fallbacks: PlacementFallbacks = { regions: 0, regionsFallenBack: 0, pagesOffNode: 0, hugePages: 0 };

/**
 * Throws what a creation status means, naming RLIMIT_MEMLOCK and its value for a refused lock
 * and the nodes for a refused placement.
 */
export function creationError(
  native: Native,
  status: number,
  subject: string,
  exhausted: HotpathErrorCode,
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
      `${subject}: the kernel refused the placement: none of its nodes has memory this process may use (its ` +
        "cpuset's mems). See numa.topology().processNodes.",
    );
  }
  return statusError(status, subject, exhausted);
}

/** Remembers what region `id` asked for until its first buffer is held (`claimRequest`). */
export function rememberRequest(id: number, placement: ResolvedPlacement): void {
  if (!isDefaultPlacement(placement) || placement.asked !== undefined) pending.set(id, placement);
}

/**
 * Ties region `id`'s request to the buffer this realm holds it through, then checks what the
 * kernel gave and counts what fell back.
 */
export function claimRequest(id: number, buffer: ArrayBuffer): void {
  const placement = pending.get(id);
  if (placement === undefined) return;
  pending.delete(id);
  requests.set(buffer, placement);
  const report = placementOf(new Uint8Array(buffer));
  fallbacks.regions++;
  const { pagesOffNode, hugePages } = report.fallback;
  if (pagesOffNode > 0 || hugePages) fallbacks.regionsFallenBack++;
  fallbacks.pagesOffNode += pagesOffNode;
  if (hugePages) fallbacks.hugePages++;
}

/** This thread's placement fallbacks (a copy). */
export function placementFallbacks(): PlacementFallbacks {
  return { ...fallbacks };
}

/** What `target`'s memory got (see RegionPlacement). */
export function placementOf(target: unknown, where = "numa.placementOf"): RegionPlacement {
  // The whole mapping: a Pool's `bytes` start past its header, which shares its pages.
  const bytes = new Uint8Array(regionMemoryOf(where, target).buffer);
  const nodes = whereIs(bytes, where);
  const out = new Float64Array(REPORT_WORDS);
  const status = openNative().symbols.hp_pages_report(bytes, bytes.byteLength, out, out.byteLength);
  if (status === STATUS.unsupported) {
    throw new HotpathError("UNSUPPORTED", `${where}: page reports need Linux's /proc/self/smaps.`);
  }
  if (status < 0) throw new HotpathError("INVALID_ARGUMENT", `${where}: no mapping holds this memory.`);
  const pages = f64Record(PAGES_REPORT, out);
  const request = requests.get(bytes.buffer as ArrayBuffer);
  const offNode = request === undefined || request.policy === "default"
    ? 0
    : nodes.byNode.reduce((sum, count, node) => (request.nodes.includes(node) ? sum : sum + count), 0) + nodes.other;
  return {
    requested: request === undefined ? undefined : {
      placement: request.asked,
      policy: request.policy,
      nodes: request.nodes,
      hugePages: request.hugePages,
      lock: request.lock,
    },
    nodes,
    pageBytes: pages.pageBytes,
    residentBytes: pages.residentBytes,
    hugePageBytes: pages.hugeBytes,
    lockedBytes: pages.lockedBytes,
    includesNeighbours: pages.spills === 1,
    fallback: { pagesOffNode: offNode, hugePages: hugePagesFellBack(request, pages.pageBytes, pages.hugeBytes) },
  };
}

function hugePagesFellBack(request: ResolvedPlacement | undefined, pageBytes: number, hugeBytes: number): boolean {
  if (request === undefined) return false;
  if (request.hugePages === "explicit") return pageBytes < HUGE_PAGE_BYTES;
  if (request.hugePages === "transparent") return hugeBytes === 0;
  return false;
}
