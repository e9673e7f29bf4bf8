/**
 * The Prometheus metric families of hotpath's counters: one table from each kind's
 * CounterRecord fields to `hotpath_<kind>_<what>_<unit>` names, after the Prometheus naming
 * conventions (base units, plural; counters end in `_total`; gauges carry their unit).
 *
 * @module
 */
import { type COUNTER_FIELDS, COUNTER_KINDS, type CounterKind } from "./counters.ts";
import type { MetricType } from "./prometheus_format.ts";

/** A numeric field of a CounterRecord. */
export type CounterField = typeof COUNTER_FIELDS[number];

/** One metric family: which field of which kind's records it shows. */
export interface Family {
  readonly kind: CounterKind;
  readonly field: CounterField;
  /** The full metric name, `hotpath_<kind>_<what>_<unit>`. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
}

/** Each kind in snake case, as metric names and the `kind` label spell it. */
export const KIND_NAMES: Readonly<Record<CounterKind, string>> = {
  Pool: "pool",
  Arena: "arena",
  SizeClassPool: "size_class_pool",
  SharedPool: "shared_pool",
  NumaPool: "numa_pool",
  Ring: "ring",
};

/** [field, name after `hotpath_<kind>_`, help]; a name ending in `_total` is a counter, any other a gauge. */
type Row = readonly [field: CounterField, suffix: string, help: string];

const POOL: readonly Row[] = [
  ["capacity", "capacity_blocks", "blocks it may hold now."],
  ["inUse", "in_use_blocks", "blocks allocated and not yet freed."],
  ["highWater", "high_water_blocks", "the most blocks ever in use at once."],
  ["allocations", "allocations_total", "blocks allocated since creation."],
  ["frees", "frees_total", "blocks freed since creation."],
  ["failedAllocations", "failed_allocations_total", "allocations refused because no block was free."],
  ["growths", "growths_total", "times it grew."],
  ["bytesReserved", "reserved_bytes", "native memory it holds, in bytes."],
];

const ROWS: Readonly<Record<CounterKind, readonly Row[]>> = {
  Pool: POOL,
  Arena: [
    ["capacity", "capacity_bytes", "bytes it can hand out between resets."],
    ["inUse", "used_bytes", "bytes handed out since the last reset (its offset)."],
    ["highWater", "high_water_bytes", "the highest offset it ever reached, in bytes."],
    ["allocations", "allocations_total", "allocations since creation."],
    ["frees", "resets_total", "resets since creation."],
    ["failedAllocations", "failed_allocations_total", "allocations refused because it was full."],
    ["fragmentation", "fragmentation_ratio", "alignment waste: 1 - requested / granted bytes."],
    ["bytesReserved", "reserved_bytes", "native memory it holds, in bytes."],
  ],
  SizeClassPool: [
    ...POOL,
    ["fragmentation", "fragmentation_ratio", "internal fragmentation: 1 - requested / granted bytes."],
  ],
  SharedPool: [...POOL, ["stuckReaders", "stuck_readers", "epoch readers holding reclamation back."]],
  NumaPool: POOL,
  Ring: [
    ["capacity", "capacity_messages", "slots, the messages it can hold at once."],
    ["inUse", "depth_messages", "messages pushed and not yet consumed (broadcast: by the slowest gating consumer)."],
    ["allocations", "pushed_messages_total", "messages pushed since creation."],
    ["frees", "popped_messages_total", "messages consumed since creation."],
    ["failedAllocations", "lost_messages_total", 'messages "drop" consumers of a broadcast ring lost by being lapped.'],
    ["ringLag", "lag_messages", "messages pushed and not yet consumed by the slowest consumer."],
    ["bytesReserved", "reserved_bytes", "bytes of its whole region (header, roles and slots)."],
  ],
};

/** Every family of every kind, grouped by kind in COUNTER_KINDS order, then in table order. */
export const FAMILIES: readonly Family[] = COUNTER_KINDS.flatMap((kind) =>
  ROWS[kind].map(([field, suffix, help]) => ({
    kind,
    field,
    name: `hotpath_${KIND_NAMES[kind]}_${suffix}`,
    type: suffix.endsWith("_total") ? "counter" as const : "gauge" as const,
    help: `${kind}: ${help}`,
  }))
);

/** The alert level of every object, whatever its kind (a `kind` label tells them apart). */
export const ALERT_FAMILY = {
  field: "alertLevel",
  name: "hotpath_alert_level",
  type: "gauge",
  help: "The highest alert a Monitor holds on the object: 0 none, 1 warn, 2 critical.",
} as const satisfies Omit<Family, "kind">;
