/**
 * What a churn process prints and its parent reads: the markers around the churn and the
 * result line.
 *
 * @module
 */
import type { Distribution } from "../latency.ts";
import type { CurvePoint } from "../latency_curve.ts";

/** Markers around the churn; the parent counts GC log lines between them. */
export const BEGIN_MARKER = "HOTPATH-CHURN-BEGIN";
export const END_MARKER = "HOTPATH-CHURN-END";
export const RESULT_PREFIX = "HOTPATH-RESULT ";

/** What one churn process reports. */
export interface ChurnResult {
  book: "pool" | "js";
  latency: Distribution;
  /** The same latencies as a percentile curve, for the report's plot. */
  curve: CurvePoint[];
  /** The same latencies split by operation kind. */
  byKind: Distribution[];
  counts: { inserts: number; cancels: number; marketable: number; filledOrders: number };
  checksum: { trades: number; tradedQuantity: number; notional: number; live: number };
  peakRssBytes: number;
  rssBeforeChurnBytes: number;
  heapUsedBytes: number;
  poolLatencies: Distribution[];
  poolGrowths: number;
}
