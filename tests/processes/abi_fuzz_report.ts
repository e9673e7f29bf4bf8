/**
 * What the ABI fuzz child (abi_fuzz_child.ts) prints as its last line, and what
 * tests/abi_fuzz_test.ts reads.
 *
 * @module
 */

/** Counts of one export's calls. */
export interface FunctionStats {
  calls: number;
  /** Results >= 0, or non-null pointers. */
  nonNegative: number;
  /** Negative results by value (statuses). */
  negative: Record<string, number>;
  /** The runtime refused the arguments (a JS exception before the native call). */
  thrown: number;
  /** Calls whose first integer argument was a live id. */
  liveTargeted: number;
  /** Calls replayed from the corpus with a mutation. */
  fromCorpus: number;
  /** Calls with a buffer argument over region memory. */
  regionView: number;
  /** Non-negative results although a buffer argument was unaligned (its count may have been 0). */
  unalignedAccepted: number;
}

/** The child's final JSON line. */
export interface FuzzReport {
  calls: number;
  seed: number;
  runtime: string;
  elapsedMs: number;
  regionsCreated: number;
  seeded: number;
  seedErrors: string[];
  regionViews: number;
  peakRssBytes: number;
  skipped: Record<string, string>;
  perFunction: Record<string, FunctionStats>;
}
