/**
 * What `hotpath top` shows, computed from two reads of the counter directories: one row per
 * published object with its rates (allocations and frees per second, from the difference
 * between the reads), sorted, as a text table or as JSON.
 *
 * @module
 */
import type { ProcessCounters, PublishedObject } from "../mod.ts";

/** One row of the view. */
export interface TopRow {
  pid: number;
  tid: number;
  kind: string;
  name: string;
  node: number;
  capacity: number;
  inUse: number;
  /** inUse / capacity, 0-100 (NaN when the object has no capacity). */
  percent: number;
  highWater: number;
  allocationsPerSecond: number;
  freesPerSecond: number;
  failedAllocations: number;
  growths: number;
  fragmentation: number;
  ringDepth: number;
  ringLag: number;
  alert: "" | "warn" | "critical";
  ageMs: number;
  stale: boolean;
}

/** Everything one refresh shows. */
export interface TopView {
  at: string;
  processes: { pid: number; command: string; state: string; objects: number; overflow: number }[];
  dead: number[];
  rows: TopRow[];
}

/** Columns `--sort` accepts, each with how it orders rows. */
export const SORTS: Record<string, (a: TopRow, b: TopRow) => number> = {
  percent: (a, b) => numberOr(b.percent) - numberOr(a.percent),
  inuse: (a, b) => numberOr(b.inUse) - numberOr(a.inUse),
  alloc: (a, b) => b.allocationsPerSecond - a.allocationsPerSecond,
  name: (a, b) => a.name.localeCompare(b.name),
  pid: (a, b) => a.pid - b.pid,
  alert: (a, b) => alertRank(b.alert) - alertRank(a.alert),
};

function numberOr(value: number, fallback = -1): number {
  return Number.isFinite(value) ? value : fallback;
}

function alertRank(alert: TopRow["alert"]): number {
  return alert === "critical" ? 2 : alert === "warn" ? 1 : 0;
}

function keyOf(pid: number, object: PublishedObject): string {
  return `${pid}/${object.tid}/${object.kind}/${object.node}/${object.name}`;
}

/** Rate of a counter between two reads `seconds` apart (0 when it was not seen before). */
function rate(now: number, before: number | undefined, seconds: number): number {
  if (before === undefined || !Number.isFinite(now) || !Number.isFinite(before) || seconds <= 0) return 0;
  return Math.max(0, now - before) / seconds;
}

/** The view of `current` (rates against `previous`, read `seconds` earlier), sorted by `sort`. */
export function topView(
  current: { processes: ProcessCounters[]; dead: number[] },
  previous: { processes: ProcessCounters[] } | undefined,
  seconds: number,
  sort: keyof typeof SORTS,
): TopView {
  const before = new Map<string, PublishedObject>();
  for (const process of previous?.processes ?? []) {
    for (const object of process.objects) before.set(keyOf(process.pid, object), object);
  }
  const rows: TopRow[] = [];
  for (const process of current.processes) {
    for (const object of process.objects) {
      const earlier = before.get(keyOf(process.pid, object));
      const ring = object.kind === "Ring";
      rows.push({
        pid: process.pid,
        tid: object.tid,
        kind: object.kind,
        name: object.name,
        node: object.node,
        capacity: object.capacity,
        inUse: object.inUse,
        percent: object.capacity > 0 ? (100 * object.inUse) / object.capacity : NaN,
        highWater: object.highWater,
        allocationsPerSecond: rate(object.allocations, earlier?.allocations, seconds),
        freesPerSecond: rate(object.frees, earlier?.frees, seconds),
        failedAllocations: object.failedAllocations,
        growths: object.growths,
        fragmentation: object.fragmentation,
        ringDepth: ring ? object.inUse : NaN,
        ringLag: object.ringLag,
        alert: object.alertLevel >= 2 ? "critical" : object.alertLevel >= 1 ? "warn" : "",
        ageMs: object.ageMs,
        stale: object.stale,
      });
    }
  }
  rows.sort((a, b) => SORTS[sort](a, b) || a.pid - b.pid || a.name.localeCompare(b.name));
  return {
    at: new Date().toISOString(),
    processes: current.processes.map((process) => ({
      pid: process.pid,
      command: process.command,
      state: process.state,
      objects: process.objects.length,
      overflow: process.overflow,
    })),
    dead: current.dead,
    rows,
  };
}
