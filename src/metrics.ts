/**
 * Metrics of every live pool and arena in one call, and closing them all at shutdown. It
 * holds weak references, so a pool the program dropped without closing can still be
 * collected (and its memory released).
 *
 * @module
 */

/** What the registry needs of a pool or arena. */
export interface Tracked {
  readonly name: string;
  readonly closed: boolean;
  close(): void;
  stats(): { bytesReserved?: number; total?: { bytesReserved: number } };
}

/** One live pool or arena in `metrics()`. */
export interface RegionMetrics {
  /** "Pool", "Arena" or "SizeClassPool" (a pool from Pool.of is a Pool with a `layout`). */
  kind: string;
  /** The `name` option it was created with ("" if none). */
  name: string;
  /** Its own `stats()`. */
  stats: unknown;
  /** Bytes of native memory it holds. */
  bytesReserved: number;
}

/** What `metrics()` reports. */
export interface Metrics {
  /** Every open pool and arena. */
  regions: RegionMetrics[];
  /** How many there are and the native memory they hold together. */
  total: { count: number; bytesReserved: number };
}

const live = new Set<WeakRef<Tracked>>();
const entries = new WeakMap<Tracked, WeakRef<Tracked>>();
const nodes = new WeakMap<object, number>();

/**
 * Registers a pool, arena or ring (their constructors call this); `node` is the NUMA node its
 * memory was placed on (-1: none in particular), for the counter directory and `metricsText()`.
 */
export function track(object: Tracked, node = -1): void {
  const reference = new WeakRef(object);
  entries.set(object, reference);
  nodes.set(object, node);
  live.add(reference);
}

/** The node `object` was registered with (-1 when none). */
export function trackedNode(object: object): number {
  return nodes.get(object) ?? -1;
}

/** Removes an object from the registry (pools owned by another structure). */
export function untrack(object: Tracked): void {
  const reference = entries.get(object);
  if (reference !== undefined) live.delete(reference);
}

/** Every open tracked object (for the Monitor), in creation order. */
export function trackedObjects(): Tracked[] {
  const objects: Tracked[] = [];
  each((object) => objects.push(object));
  return objects;
}

function each(visit: (object: Tracked) => void): void {
  for (const reference of live) {
    const object = reference.deref();
    if (object === undefined || object.closed) live.delete(reference);
    else visit(object);
  }
}

/**
 * Metrics of every open pool and arena, and their total.
 *
 * @example
 * ```ts
 * import { metrics, Pool } from "@hotpath/core";
 * using orders = new Pool({ blockSize: 64, capacity: 1024, name: "orders" });
 * console.log(metrics().total.bytesReserved);
 * ```
 */
export function metrics(): Metrics {
  const regions: RegionMetrics[] = [];
  each((object) => {
    const stats = object.stats();
    const bytesReserved = stats.bytesReserved ?? stats.total?.bytesReserved ?? 0;
    regions.push({ kind: object.constructor.name, name: object.name, stats, bytesReserved });
  });
  return {
    regions,
    total: { count: regions.length, bytesReserved: regions.reduce((sum, region) => sum + region.bytesReserved, 0) },
  };
}

/**
 * Closes every open pool and arena (at shutdown); returns how many it closed.
 *
 * @example
 * ```ts
 * import { closeAll, Pool } from "@hotpath/core";
 * new Pool({ blockSize: 64, capacity: 16 });
 * closeAll();
 * ```
 */
export function closeAll(): number {
  let count = 0;
  each((object) => {
    object.close();
    count++;
  });
  live.clear();
  return count;
}
