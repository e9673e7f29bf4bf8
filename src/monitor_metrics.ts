/**
 * The values a Monitor rule judges, read from an object's own `stats()`: what each metric
 * means for each kind of object, and which kinds have it at all. Counter metrics (failed
 * allocations, growths) are judged on their increase since the previous check.
 *
 * @module
 */

/** What a rule can watch. */
export type MonitorMetric =
  | "utilisation"
  | "failedAllocations"
  | "growths"
  | "fragmentation"
  | "ringLag"
  | "stuckReaders";

/** The metrics whose value is a counter's increase since the previous check. */
export const COUNTER_METRICS: ReadonlySet<MonitorMetric> = new Set(["failedAllocations", "growths"]);

export const METRICS: readonly MonitorMetric[] = [
  "utilisation",
  "failedAllocations",
  "growths",
  "fragmentation",
  "ringLag",
  "stuckReaders",
];

type Stats = Record<string, unknown>;

function number(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function ratio(used: unknown, of: unknown): number | undefined {
  const top = number(used);
  const bottom = number(of);
  return top === undefined || bottom === undefined || bottom <= 0 ? undefined : top / bottom;
}

/**
 * The metric's raw value for an object whose stats are `stats` (a counter's total for counter
 * metrics), or undefined when the object has no such metric.
 * - utilisation: blocks in use over the most the pool may hold (`maxCapacity`, so a growing
 *   pool reads how near it is to its hard limit); an arena's offset over its capacity; a
 *   ring's depth over its capacity; totals for SizeClassPool and NumaPool.
 * - fragmentation: SizeClassPool's 1 - requested / granted bytes (fixed-size blocks of one pool
 *   cannot fragment: a free block fits any request).
 * - ringLag: messages pushed and not yet consumed (a broadcast ring: by its slowest consumer).
 * - stuckReaders: a SharedPool's epoch readers that hold reclamation back.
 */
export function metricValue(metric: MonitorMetric, stats: Stats): number | undefined {
  const total = (typeof stats.total === "object" && stats.total !== null ? stats.total : undefined) as
    | Stats
    | undefined;
  switch (metric) {
    case "utilisation":
      if (total !== undefined) return ratio(total.inUse, total.capacity);
      if (stats.kind !== undefined && stats.depth !== undefined) return ratio(stats.depth, stats.capacity);
      if (stats.offset !== undefined) return ratio(stats.offset, stats.capacity);
      return ratio(stats.inUse, stats.maxCapacity ?? stats.capacity);
    case "failedAllocations":
      return number(stats.failedAllocations) ?? number(total?.failedAllocations);
    case "growths":
      return number(stats.growths);
    case "fragmentation":
      return number(total?.fragmentation);
    case "ringLag":
      return stats.kind !== undefined ? number(stats.depth) : undefined;
    case "stuckReaders":
      return number(stats.stuckReaders);
  }
}
