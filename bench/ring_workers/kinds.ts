/**
 * The transports the ring throughput benchmark moves messages through, and what a Worker is
 * given to take one side of one (bench/ring_throughput.ts, throughput_worker.ts).
 *
 * A message is a u32 sequence number and an f64 value (`seq * 0.5`; MPMC: the producer's id).
 * A consumer throws unless the sequence numbers it sees are consecutive (MPMC: increasing per
 * producer) and returns the sum of the values, which the main thread checks: nothing lost,
 * nothing duplicated, payload intact.
 *
 * @module
 */
import { type RingConsumer, type RingDescriptor, type RingProducer, struct } from "../../mod.ts";

export type ThroughputKind =
  | "postMessage"
  | "ringbuf1"
  | "ringbuf64"
  | "sab1"
  | "sab64"
  | "spsc1"
  | "spsc64"
  | "spscViews1"
  | "spscViews64"
  | "mpmc";

export const THROUGHPUT_KINDS: Record<ThroughputKind, { label: string; batch: number }> = {
  postMessage: { label: "postMessage, one message per call", batch: 1 },
  ringbuf1: { label: "ringbuf.js 0.4.0, batch 1", batch: 1 },
  ringbuf64: { label: "ringbuf.js 0.4.0, batch 64", batch: 64 },
  sab1: { label: "hand-written SAB SPSC ring, batch 1", batch: 1 },
  sab64: { label: "hand-written SAB SPSC ring, batch 64", batch: 64 },
  spsc1: { label: "hotpath Ring.spsc, cursor, batch 1", batch: 1 },
  spsc64: { label: "hotpath Ring.spsc, cursor, batch 64", batch: 64 },
  spscViews1: { label: "hotpath Ring.spsc, typed arrays, batch 1", batch: 1 },
  spscViews64: { label: "hotpath Ring.spsc, typed arrays, batch 64", batch: 64 },
  mpmc: { label: "hotpath Ring.mpmc, 2 producers + 2 consumers", batch: 1 },
};

/** The slot of every hotpath ring in the suite: 16 bytes, like two Float64Array elements. */
export type TickSchema = { seq: "u32"; value: "f64" };
export const Tick = struct<TickSchema>({ seq: "u32", value: "f64" });
export type TickProducer = RingProducer<TickSchema>;
export type TickConsumer = RingConsumer<TickSchema>;

/** Slots of every ring (ringbuf.js: twice as many Float64 elements). */
export const RING_CAPACITY = 1024;

/** What a throughput Worker is given at `init`. */
export interface SideSetup {
  kind: ThroughputKind;
  role: "producer" | "consumer";
  /** Producer number (MPMC: 0 or 1; it is the value of that producer's messages). */
  id: number;
  /** Int32 words, bench/ring_workers/scope.ts CONTROL. */
  control: SharedArrayBuffer;
  /** ringbuf.js storage or a hand-written ring (bench/ring_sab.ts). */
  buffer?: SharedArrayBuffer;
  /** postMessage: this side's end of a MessageChannel. */
  port?: MessagePort;
  /** hotpath rings. */
  ring?: RingDescriptor;
  /** MPMC: how many producers a consumer waits for. */
  producers?: number;
}

/** What a side reports for one run. */
export interface SideResult {
  /** Messages this side received (0 for a producer). */
  received: number;
  /** Sum of the values received. */
  checksum: number;
}

/** One side of one transport, built once per Worker. */
export interface Side {
  /** Sends or receives `count` messages (MPMC consumer: until the producers are done). */
  run(count: number): SideResult | Promise<SideResult>;
  close(): void;
}

/** The error a consumer throws when a sequence number is not the expected one. */
export function sequenceError(kind: string, expected: number, got: number): Error {
  return new Error(`${kind}: expected message ${expected}, got ${got} (lost or reordered)`);
}

export const PRODUCER_RESULT: SideResult = { received: 0, checksum: 0 };
