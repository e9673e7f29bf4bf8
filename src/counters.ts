/**
 * One flat record of counters per observed object, the same for every kind: what the process
 * directory publishes, `hotpath top` shows and `metricsText()` exposes. Read from each
 * object's own `stats()` (off the hot path); a field an object does not have is NaN.
 *
 * @module
 */
import { metricValue } from "./monitor_metrics.ts";
import { type Tracked, trackedNode } from "./metrics.ts";
import { alertLevelOf } from "./alert_levels.ts";
import { Arena } from "./arena.ts";
import { NumaPool } from "./numa_pool.ts";
import { Pool } from "./pool.ts";
import { Ring } from "./ring.ts";
import { SharedPool } from "./shared_pool.ts";
import { SizeClassPool } from "./size_class_pool.ts";

/** The kinds of object that publish counters. */
export type CounterKind = "Pool" | "Arena" | "SizeClassPool" | "SharedPool" | "NumaPool" | "Ring";

/** Every CounterKind, in the order of their codes in the counter directory (code = index + 1). */
export const COUNTER_KINDS: readonly CounterKind[] = [
  "Pool",
  "Arena",
  "SizeClassPool",
  "SharedPool",
  "NumaPool",
  "Ring",
];

/** The counters of one object (a NumaPool gives one record per node). */
export interface CounterRecord {
  /** The object's class. */
  kind: CounterKind;
  /** Its `name` option (a ring: its file path; "" when none). */
  name: string;
  /** The NUMA node its memory is placed on, -1 when not placed on one node. */
  node: number;
  /** Blocks it may hold now (pools), bytes (an arena), slots (a ring). */
  capacity: number;
  /** Blocks in use, an arena's offset in bytes, a ring's depth in messages. */
  inUse: number;
  /** The most ever in use, same unit. */
  highWater: number;
  /** Allocations since creation (a ring: messages pushed). */
  allocations: number;
  /** Frees since creation (a ring: messages consumed; an arena: resets). */
  frees: number;
  /** Allocations refused (pool exhausted, arena full; a ring: messages lost). */
  failedAllocations: number;
  /** Times a growing pool grew. */
  growths: number;
  /** 1 - requested / granted bytes (SizeClassPool and Arena); NaN where it cannot exist. */
  fragmentation: number;
  /** Messages pushed and not yet consumed (rings: by the slowest consumer of a broadcast ring). */
  ringLag: number;
  /** A SharedPool's epoch readers holding reclamation back. */
  stuckReaders: number;
  /** Native bytes reserved. */
  bytesReserved: number;
  /** The highest alert a Monitor holds on it: 0 none, 1 warn, 2 critical. */
  alertLevel: number;
}

/** The numeric fields of a CounterRecord, in the order the process directory stores them. */
export const COUNTER_FIELDS = [
  "capacity",
  "inUse",
  "highWater",
  "allocations",
  "frees",
  "failedAllocations",
  "growths",
  "fragmentation",
  "ringLag",
  "stuckReaders",
  "bytesReserved",
  "alertLevel",
] as const satisfies readonly (keyof CounterRecord)[];

type Stats = Record<string, unknown>;

function value(raw: unknown): number {
  return typeof raw === "number" ? raw : NaN;
}

function empty(kind: CounterKind, name: string, node: number): CounterRecord {
  const record = { kind, name, node } as CounterRecord;
  for (const field of COUNTER_FIELDS) record[field] = NaN;
  return record;
}

type CounterField = typeof COUNTER_FIELDS[number];

/** Which stats() key each counter is read from, per shape of stats. */
const SOURCES: Record<"pool" | "arena" | "ring", Partial<Record<CounterField, string>>> = {
  pool: {
    capacity: "capacity",
    inUse: "inUse",
    highWater: "highWater",
    allocations: "allocations",
    frees: "frees",
    failedAllocations: "failedAllocations",
    growths: "growths",
    bytesReserved: "bytesReserved",
  },
  arena: {
    capacity: "capacity",
    inUse: "offset",
    highWater: "highWater",
    allocations: "allocations",
    frees: "resets",
    failedAllocations: "failedAllocations",
    fragmentation: "fragmentation",
    bytesReserved: "bytesReserved",
  },
  ring: {
    capacity: "capacity",
    inUse: "depth",
    allocations: "pushed",
    frees: "popped",
    failedAllocations: "lost",
    bytesReserved: "bytesReserved",
  },
};

function copied(record: CounterRecord, stats: Stats, shape: keyof typeof SOURCES): CounterRecord {
  for (const [field, key] of Object.entries(SOURCES[shape])) record[field as CounterField] = value(stats[key]);
  return record;
}

function poolLike(record: CounterRecord, stats: Stats): CounterRecord {
  return copied(record, stats, "pool");
}

function ring(record: CounterRecord, stats: Stats): CounterRecord {
  copied(record, stats, "ring");
  record.ringLag = metricValue("ringLag", stats) ?? NaN;
  const roles = Array.isArray(stats.roles) ? stats.roles as Stats[] : [];
  const slowest = roles.reduce((most, role) => Math.max(most, value(role.lag) || 0), 0);
  if (stats.kind === "broadcast") record.ringLag = slowest;
  return record;
}

function sizeClasses(record: CounterRecord, stats: Stats): CounterRecord {
  const total = stats.total as Stats;
  poolLike(record, total);
  const classes = Array.isArray(stats.classes) ? stats.classes as Stats[] : [];
  record.frees = classes.reduce((sum, one) => sum + value(one.frees), 0);
  record.highWater = classes.reduce((sum, one) => sum + value(one.highWater), 0);
  record.fragmentation = value(total.fragmentation);
  return record;
}

/**
 * The records of one object of `kind` whose stats are `stats`; `node` is where its memory was
 * placed (-1: nowhere in particular). A NumaPool gives one record per node.
 */
function countersOf(kind: CounterKind, name: string, node: number, stats: Stats, alert = 0): CounterRecord[] {
  const record = empty(kind, name, node);
  record.alertLevel = alert;
  switch (kind) {
    case "Pool":
      return [poolLike(record, stats)];
    case "SharedPool":
      poolLike(record, stats);
      record.stuckReaders = value(stats.stuckReaders);
      return [record];
    case "Arena":
      return [copied(record, stats, "arena")];
    case "SizeClassPool":
      return [sizeClasses(record, stats)];
    case "Ring":
      return [ring(record, stats)];
    case "NumaPool": {
      const nodes = Array.isArray(stats.nodes) ? stats.nodes as Stats[] : [];
      return nodes.map((one) => poolLike({ ...record, node: value(one.node) }, one));
    }
  }
}

/** `object.stats()`, which must be an object: anything else throws (the caller skips the object). */
function statsOf(object: { stats(): unknown }): Stats {
  const stats = object.stats();
  if (typeof stats !== "object" || stats === null) throw new TypeError("stats() did not return an object");
  return stats as Stats;
}

/**
 * The records of a tracked object of `kind` as it stands now: its stats(), the node it was
 * registered with, the highest alert a Monitor holds on it. Throws whatever its stats() throws,
 * or returns that is not stats (the publisher and metricsText skip and count such an object).
 */
export function currentCounters(object: Tracked, kind: CounterKind): CounterRecord[] {
  return countersOf(kind, object.name, trackedNode(object), statsOf(object), alertLevelOf(object));
}

// Ring's constructor is private (no `instanceof` type for it): the table holds prototypes.
const CLASSES: readonly (readonly [{ prototype: object }, CounterKind])[] = [
  [Pool, "Pool"],
  [Arena, "Arena"],
  [SizeClassPool, "SizeClassPool"],
  [SharedPool, "SharedPool"],
  [NumaPool, "NumaPool"],
  [Ring, "Ring"],
];

/**
 * The CounterKind of `object` (by class, so a subclass of Pool publishes as a Pool whatever its
 * name), or undefined for anything else.
 */
export function counterKind(object: object): CounterKind | undefined {
  for (const [type, kind] of CLASSES) if (Object.prototype.isPrototypeOf.call(type.prototype, object)) return kind;
  return undefined;
}
