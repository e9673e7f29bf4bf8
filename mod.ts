/**
 * hotpath: pools and arenas in native memory for Deno and Bun, with no allocation and no
 * garbage on the hot path. A Zig library owns the memory; this module reads and writes it
 * through typed views.
 *
 * Deno needs `--allow-ffi --allow-read --allow-env` (and `--allow-run` to build the library
 * on first use).
 *
 * @example
 * ```ts
 * import { Arena, Pool } from "@hotpath/core";
 *
 * using pool = new Pool({ blockSize: 64, capacity: 1024 });
 * const handle = pool.alloc();
 * pool.bytes[pool.offset(handle)] = 42;
 * pool.free(handle);
 *
 * using arena = new Arena({ capacity: 1 << 16 });
 * const offset = arena.alloc(32, 16);
 * arena.reset();
 * ```
 *
 * @module
 */
export {
  Pool,
  type PoolGrowth,
  type PoolOptions,
  type PoolStats,
  type ScopedBlock,
  type StructPool,
  type StructPoolOptions,
} from "./src/pool.ts";
export {
  type EpochGuard,
  type SharedCacheStats,
  type SharedOpenOptions,
  SharedPool,
  type SharedPoolDescriptor,
  type SharedPoolOptions,
  type SharedPoolStats,
  type SharedStructPool,
  type SharedStructPoolOptions,
} from "./src/shared_pool.ts";
export {
  Ring,
  type RingAttachOptions,
  type RingConsumer,
  type RingCreateOptions,
  type RingDescriptor,
  type RingKind,
  type RingOptions,
  type RingProducer,
  type RingRoleStats,
  type RingSideOptions,
  type RingSlots,
  type RingStats,
  type SlowConsumerPolicy,
  type WaitStrategy,
} from "./src/ring.ts";
export { Arena, type ArenaOptions, type ArenaScope, type ArenaStats } from "./src/arena.ts";
export {
  SizeClassPool,
  type SizeClassPoolOptions,
  type SizeClassPoolStats,
  type SizeClassStats,
} from "./src/size_class_pool.ts";
export {
  type BigType,
  type ElementValue,
  type FieldInfo,
  type FieldType,
  type FieldValue,
  type NumberPaths,
  type NumberType,
  type ReadonlyFields,
  type ScalarType,
  type Schema,
  struct,
  type StructCursor,
  StructLayout,
  type WritableFields,
} from "./src/struct.ts";
export { ArrayCursor } from "./src/struct_memory.ts";
export { closeAll, type Metrics, metrics, type RegionMetrics } from "./src/metrics.ts";
export {
  NO_HANDLE,
  Order,
  OrderNode,
  type OrderNodeSchema,
  type OrderSchema,
  PriceLevel,
  type PriceLevelSchema,
  Trade,
  type TradeSchema,
} from "./src/trading.ts";
export { HotpathError, type HotpathErrorCode } from "./src/errors.ts";
export { clockNs, nowNs } from "./src/clock.ts";
export { type ClockFallbackReason, type ClockInfo, clockInfo, tscClockNs, tscNowNs } from "./src/tsc_clock.ts";
export { type Affinity, affinity, CPUS_MAX } from "./src/affinity.ts";
export { type Numa, numa, type PinnedThread } from "./src/numa.ts";
export type { KernelPolicy, MemoryOptions, NumaPolicy, Placement } from "./src/placement.ts";
export {
  type Alert,
  type AlertLevel,
  Monitor,
  type MonitorMetric,
  type MonitorOptions,
  type MonitorRule,
  type Watched,
} from "./src/monitor.ts";
export { Histogram, HISTOGRAM_VALUE_LIMIT, type HistogramSummary } from "./src/histogram.ts";
export { type CounterKind, type CounterRecord } from "./src/counters.ts";
export { CounterPublisher, publishCounters, type PublisherStats, type PublishOptions } from "./src/stats_publisher.ts";
export {
  listCounters,
  type Liveness,
  type ProcessCounters,
  type PublishedObject,
  readCounters,
  type ReadOptions,
  removeDeadCounters,
} from "./src/stats_reader.ts";
export { metricsText, type MetricsTextOptions } from "./src/prometheus.ts";
export { type MetricsServer, type MetricsServerOptions, serveMetrics } from "./src/metrics_server.ts";
import { publishFromEnvironment } from "./src/stats_publisher.ts";
publishFromEnvironment();
export { type NumaNodeStats, NumaPool, type NumaPoolOptions, type NumaPoolStats } from "./src/numa_pool.ts";
export type { PlacementFallbacks, RegionPlacement } from "./src/placement_report.ts";
export type { CpuCache, CpuInfo, HugePageSize, NumaNode, Topology } from "./src/numa_topology.ts";
export type { PagePlacement } from "./src/numa_where.ts";
export { type LibraryInfo, libraryInfo, loadLibrary, type LoadOptions } from "./src/library.ts";
