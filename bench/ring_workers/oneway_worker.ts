/**
 * A Worker of bench/ring_oneway.ts: one side of a `Ring.spsc` whose producer stamps each
 * message with hotpath's clock and whose consumer measures how long the message took to arrive.
 * Requests, each answered by one reply:
 * - { type: "init", setup }: attaches the ring and takes its role (the consumer with the wait
 *   strategy `setup.wait`);
 * - { type: "run", count, intervalNs, participants }: meets the other Worker at the start
 *   barrier; the producer sends `count` messages, one every `intervalNs` (spinning on the
 *   clock in between), stamping each just before its commit; the consumer waits for each with
 *   `poll()` (its wait strategy), reads the clock, then the stamp, and replies with the
 *   distribution of now - stamp (bench/latency.ts `summarize`);
 * - { type: "close" }.
 *
 * @module
 */
import { clockNs, Ring, type RingDescriptor } from "../../mod.ts";
import { summarize } from "../latency.ts";
import { barrier, serve } from "./scope.ts";
import { Tick, type TickConsumer, type TickProducer, type TickSchema } from "./kinds.ts";

export type WaitStrategy = "spin" | "backoff" | "park";

/** What a one-way Worker is given at `init`. */
export interface OneWaySetup {
  role: "producer" | "consumer";
  ring: RingDescriptor;
  wait: WaitStrategy;
  control: SharedArrayBuffer;
}

const POLL_TIMEOUT_MS = 10_000;
const clock = clockNs();

function produce(producer: TickProducer, count: number, intervalNs: number): void {
  let next = clock();
  for (let seq = 0; seq < count; seq++) {
    next += intervalNs;
    while (clock() < next) {
      // spin: pacing
    }
    let slot = producer.tryClaim();
    while (slot < 0) slot = producer.tryClaim();
    const tick = producer.at(slot);
    tick.seq = seq;
    tick.value = clock();
    producer.commit();
  }
}

function consume(consumer: TickConsumer, count: number, wait: WaitStrategy) {
  const samples = new Float64Array(count);
  for (let seq = 0; seq < count; seq++) {
    if (consumer.poll(POLL_TIMEOUT_MS) === 0) throw new Error(`one-way ${wait}: no message ${seq} in 10 s`);
    const now = clock();
    const slot = consumer.tryPeek();
    const tick = consumer.at(slot);
    if (tick.seq !== seq) throw new Error(`one-way ${wait}: expected message ${seq}, got ${tick.seq}`);
    samples[seq] = now - tick.value;
    consumer.release();
  }
  return summarize(wait, samples);
}

let setup: OneWaySetup | undefined;
let ring: Ring<TickSchema> | undefined;
let producer: TickProducer | undefined;
let consumer: TickConsumer | undefined;

serve((message) => {
  if (message.type === "init") {
    setup = (message as unknown as { setup: OneWaySetup }).setup;
    ring = Ring.attach(setup.ring, { slot: Tick });
    if (setup.role === "producer") producer = ring.producer({ wait: "spin" });
    else consumer = ring.consumer({ wait: setup.wait });
    return { type: "ready" };
  }
  if (message.type === "run") {
    const { count, intervalNs, participants } = message as unknown as {
      count: number;
      intervalNs: number;
      participants: number;
    };
    barrier(new Int32Array(setup!.control), participants);
    if (producer) {
      produce(producer, count, intervalNs);
      return { type: "done" };
    }
    return { type: "done", distribution: consume(consumer!, count, setup!.wait) };
  }
  producer?.close();
  consumer?.close();
  ring?.close();
  return { type: "closed" };
});
