/**
 * A Worker of bench/ring_oneway.ts: one side of a `Ring.spsc` whose producer stamps each
 * message with hotpath's clock and whose consumer measures how long the message took to arrive.
 * Requests, each answered by one reply:
 * - { type: "init", setup }: attaches the ring and takes its role (the consumer with the wait
 *   strategy `setup.wait`);
 * - { type: "run", count, intervalNs, participants }: meets the other Worker at the start
 *   barrier; the producer sends `count` messages, one every `intervalNs` (spinning on the
 *   clock in between), stamping each just before its commit; the consumer waits for each with
 *   `poll()` (its wait strategy), reads the clock, then the stamp, records now - stamp in a
 *   `Histogram` once the slot is released, and replies with the distribution
 *   (bench/latency.ts `distributionOf`, percentiles within 1/128) and the histogram's `snapshot()`;
 * - { type: "close" }.
 *
 * @module
 */
import { clockNs, Histogram, Ring, type RingDescriptor } from "../../mod.ts";
import { distributionOf } from "../latency.ts";
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

function consume(consumer: TickConsumer, count: number, wait: WaitStrategy, latency: Histogram) {
  latency.reset();
  for (let seq = 0; seq < count; seq++) {
    if (consumer.poll(POLL_TIMEOUT_MS) === 0) throw new Error(`one-way ${wait}: no message ${seq} in 10 s`);
    const now = clock();
    const slot = consumer.tryPeek();
    const tick = consumer.at(slot);
    if (tick.seq !== seq) throw new Error(`one-way ${wait}: expected message ${seq}, got ${tick.seq}`);
    const sample = now - tick.value;
    consumer.release();
    latency.record(sample);
  }
  return { distribution: distributionOf(wait, latency), snapshot: latency.snapshot() };
}

let setup: OneWaySetup | undefined;
let ring: Ring<TickSchema> | undefined;
let producer: TickProducer | undefined;
let consumer: TickConsumer | undefined;
let latency: Histogram | undefined;

serve((message) => {
  if (message.type === "init") {
    setup = (message as unknown as { setup: OneWaySetup }).setup;
    ring = Ring.attach(setup.ring, { slot: Tick });
    if (setup.role === "producer") producer = ring.producer({ wait: "spin" });
    else {
      consumer = ring.consumer({ wait: setup.wait });
      latency = new Histogram();
    }
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
    return { type: "done", ...consume(consumer!, count, setup!.wait, latency!) };
  }
  producer?.close();
  consumer?.close();
  ring?.close();
  latency?.close();
  return { type: "closed" };
});
