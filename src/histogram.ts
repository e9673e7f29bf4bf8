/**
 * `Histogram`: latency in nanoseconds, HdrHistogram-style, in native memory. Values below 256
 * have a bucket each; above, every power of two is split into 128 buckets, so a bucket is at
 * most 1/128 (0.8%) of its values wide and a percentile is within 0.8% of the exact one.
 * Values up to 2^40 ns (18 minutes) fit 4,352 buckets: 34 KiB, taken once at creation.
 *
 * `record(ns)` is a few array writes, with no allocation and no FFI call. One thread records
 * into a histogram; a Worker or process keeps its own and sends a `snapshot()` (a copy of the
 * counters), which `merge()` adds in. `count`, `sum` (so `mean`), `min` and `max` are exact.
 *
 * @module
 */
import { Arena } from "./arena.ts";
import { HotpathError } from "./errors.ts";
import { untrack } from "./metrics.ts";
import { typedArrayFacts } from "./typed_arrays.ts";
import { describe } from "./validate.ts";

/** Buckets of one power of two above the linear range: 2^7, so a bucket is at most 1/128 of its values. */
const SUB_BUCKETS = 128;
const SUB_BITS = 7;
/** Values below this each have a bucket of their own. */
const LINEAR = 2 * SUB_BUCKETS;
/** Exclusive limit of a recordable value: 2^40 ns, 18.3 minutes. */
export const HISTOGRAM_VALUE_LIMIT = 2 ** 40;
const TOP_POWER = 39;
const BUCKETS = LINEAR + (TOP_POWER - 7) * SUB_BUCKETS;
/** Header slots before the buckets: format, count, sum, min, max. */
const FORMAT = 0;
const COUNT = 1;
const SUM = 2;
const MIN = 3;
const MAX = 4;
const HEADER = 8;
const SLOTS = HEADER + BUCKETS;
/** The format word of this layout: sub-bucket bits, top power and a version, in one number. */
const FORMAT_VALUE = 1_000_000 + SUB_BITS * 100 + TOP_POWER;

/** What `histogram.summary()` reports, in nanoseconds. */
export interface HistogramSummary {
  /** Values recorded. */
  count: number;
  /** Exact mean (0 when empty). */
  mean: number;
  /** Exact smallest value (0 when empty). */
  min: number;
  /** Exact largest value (0 when empty). */
  max: number;
  /** The median, within 1/128 of the exact one (as every percentile here). */
  p50: number;
  /** The 90th percentile. */
  p90: number;
  /** The 99th percentile. */
  p99: number;
  /** The 99.9th percentile. */
  p999: number;
}

/** The bucket of `value`, an integer from 0 to 2^40 - 1. */
function bucketOf(value: number): number {
  if (value < LINEAR) return value;
  const power = value < 4294967296 ? 31 - Math.clz32(value) : 63 - Math.clz32(value / 4294967296);
  const shift = power - SUB_BITS;
  return LINEAR + (power - 8) * SUB_BUCKETS + (Math.floor(value / 2 ** shift) - SUB_BUCKETS);
}

/** The largest value bucket `index` holds. */
function bucketTop(index: number): number {
  if (index < LINEAR) return index;
  const power = 8 + Math.floor((index - LINEAR) / SUB_BUCKETS);
  const shift = power - SUB_BITS;
  const mantissa = SUB_BUCKETS + ((index - LINEAR) % SUB_BUCKETS);
  return (mantissa + 1) * 2 ** shift - 1;
}

/**
 * A latency histogram in native memory.
 *
 * @example
 * ```ts
 * import { Histogram, nowNs } from "@hotpath/core";
 * using latency = new Histogram();
 * const start = nowNs();
 * latency.record(nowNs() - start);
 * console.log(latency.percentile(99), latency.summary());
 * ```
 */
export class Histogram {
  #arena: Arena;
  #slots: Float64Array;

  /** Takes the histogram's memory (34 KiB) from a native region of its own. */
  constructor() {
    this.#arena = new Arena({ capacity: SLOTS * 8, align: 8 });
    untrack(this.#arena);
    const offset = this.#arena.alloc(SLOTS * 8, 8);
    const bytes = this.#arena.bytes;
    this.#slots = new Float64Array(bytes.buffer, bytes.byteOffset + offset, SLOTS);
    this.#slots[FORMAT] = FORMAT_VALUE;
    this.#slots[MIN] = Infinity;
  }

  /**
   * Records one value in nanoseconds (fractions are dropped). INVALID_ARGUMENT for anything but
   * a number from 0 to 2^40 (NaN, negative, bigint...): a measurement that went wrong should
   * be seen, not counted.
   */
  record(ns: number): void {
    const slots = this.#slots;
    // A closed histogram has no slots: the length check is the closed check, at no extra cost.
    if (typeof ns !== "number" || !(ns >= 0 && ns < HISTOGRAM_VALUE_LIMIT) || slots.length === 0) {
      throw this.#invalid(ns);
    }
    let value: number;
    let bucket: number;
    if (ns < 4294967296) {
      // The common case in 32-bit integer operations: >>> 0 drops the fraction (and -0).
      value = ns >>> 0;
      if (value < LINEAR) {
        bucket = value;
      } else {
        const power = 31 - Math.clz32(value);
        bucket = LINEAR + (power - 8) * SUB_BUCKETS + ((value >>> (power - SUB_BITS)) - SUB_BUCKETS);
      }
    } else {
      value = Math.floor(ns);
      bucket = bucketOf(value);
    }
    slots[HEADER + bucket]++;
    slots[COUNT]++;
    slots[SUM] += value;
    if (value > slots[MAX]) slots[MAX] = value;
    if (value < slots[MIN]) slots[MIN] = value;
  }

  /** Values recorded. */
  get count(): number {
    return this.#live()[COUNT];
  }

  /** Exact sum of the values recorded, in nanoseconds (0 when empty). */
  get sum(): number {
    return this.#live()[SUM];
  }

  /**
   * The value at or below which `percent` of the recorded values fall (0 to 100), within 1/128
   * of the exact percentile and never above `max`; 0 when empty.
   */
  percentile(percent: number): number {
    const slots = this.#live();
    if (typeof percent !== "number" || !(percent >= 0 && percent <= 100)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `Histogram.percentile: percent must be a number from 0 to 100; got ${describe(percent)}.`,
      );
    }
    const count = slots[COUNT];
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percent / 100) * count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += slots[HEADER + index];
      if (seen >= rank) return Math.max(slots[MIN], Math.min(bucketTop(index), slots[MAX]));
    }
    return slots[MAX];
  }

  /** Count, exact mean, min and max, and the usual percentiles. */
  summary(): HistogramSummary {
    const slots = this.#live();
    const count = slots[COUNT];
    return {
      count,
      mean: count === 0 ? 0 : slots[SUM] / count,
      min: count === 0 ? 0 : slots[MIN],
      max: slots[MAX],
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
    };
  }

  /** A copy of the counters: postMessage it from a Worker, or write it out from a process. */
  snapshot(): Float64Array {
    return this.#live().slice();
  }

  /** Adds another histogram, or a `snapshot()` of one (from any Worker or process), into this one. */
  merge(other: Histogram | Float64Array): void {
    const slots = this.#live();
    // A brand check, not instanceof: an object with Histogram.prototype is not a Histogram.
    const isHistogram = typeof other === "object" && other !== null && #slots in other;
    const source = isHistogram ? (other as Histogram).#live() : checkedSnapshot(other);
    for (let index = HEADER; index < SLOTS; index++) slots[index] += source[index];
    slots[COUNT] += source[COUNT];
    slots[SUM] += source[SUM];
    if (source[MAX] > slots[MAX]) slots[MAX] = source[MAX];
    if (source[MIN] < slots[MIN]) slots[MIN] = source[MIN];
  }

  /** Forgets every value. */
  reset(): void {
    const slots = this.#live();
    slots.fill(0, COUNT);
    slots[MIN] = Infinity;
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#arena.closed;
  }

  /** Gives the memory back; later calls throw CLOSED. Idempotent. */
  close(): void {
    this.#slots = new Float64Array(0);
    this.#arena.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Float64Array {
    if (this.#arena.closed) throw new HotpathError("CLOSED", "Histogram is closed; create a new one.");
    return this.#slots;
  }

  #invalid(ns: unknown): HotpathError {
    this.#live();
    return new HotpathError(
      "INVALID_ARGUMENT",
      `Histogram.record: ns must be a number from 0 to 2^40 (18 minutes); got ${describe(ns)}.`,
    );
  }
}

/** A snapshot from `Histogram.snapshot()`, of this layout, with counters that make sense. */
function checkedSnapshot(value: unknown): Float64Array {
  const facts = typedArrayFacts(value, "Float64Array");
  if (facts === undefined || facts.detached || facts.length !== SLOTS) throw notASnapshot(value);
  // Checked and used as a copy: a snapshot over shared memory cannot change in between.
  const snapshot = new Float64Array(SLOTS);
  snapshot.set(value as Float64Array);
  if (snapshot[FORMAT] !== FORMAT_VALUE) throw notASnapshot(value);
  let total = 0;

  for (let index = HEADER; index < SLOTS; index++) {
    const count = snapshot[index];
    if (!(count >= 0 && Number.isInteger(count))) {
      throw new HotpathError("INVALID_ARGUMENT", `Histogram.merge: the snapshot's bucket ${index} is ${count}.`);
    }
    total += count;
  }
  if (total !== snapshot[COUNT] || !(snapshot[SUM] >= 0) || (total > 0 && !(snapshot[MAX] >= snapshot[MIN]))) {
    throw new HotpathError("INVALID_ARGUMENT", "Histogram.merge: the snapshot's counters disagree with each other.");
  }
  return snapshot;
}

function notASnapshot(value: unknown): HotpathError {
  return new HotpathError(
    "INVALID_ARGUMENT",
    `Histogram.merge: pass a Histogram or a Float64Array from histogram.snapshot() (${SLOTS} slots of this ` +
      `layout); got ${describe(value)}.`,
  );
}
