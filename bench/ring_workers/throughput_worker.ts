/**
 * A Worker of bench/ring_throughput.ts: one side (producer or consumer) of one transport.
 * Requests, each answered by one reply:
 * - { type: "init", setup }: builds its side (bench/ring_workers/kinds.ts), replies "ready";
 * - { type: "run", count, participants }: waits at the start barrier until `participants`
 *   Workers have arrived, sends or receives `count` messages, replies { type: "done", start,
 *   end, received, checksum, waitShare } (start and end: hotpath's clock, one epoch per
 *   process; waitShare: the part of the run this thread did not run, bench/thread_time.ts);
 * - { type: "close" }: closes its side, replies "closed".
 *
 * @module
 */
import { clockNs, Ring } from "../../mod.ts";
import { idleShare, threadClock } from "../thread_time.ts";
import { type Side, type SideSetup, THROUGHPUT_KINDS, Tick } from "./kinds.ts";
import {
  postMessageSide,
  ringbufConsumer,
  ringbufProducer,
  sabConsumer1,
  sabConsumerBatch,
  sabProducer1,
  sabProducerBatch,
} from "./js_loops.ts";
import {
  mpmcConsumer,
  mpmcProducer,
  spscConsumer1,
  spscConsumerBatch,
  spscConsumerViews,
  spscProducer1,
  spscProducerBatch,
  spscProducerViews,
} from "./hotpath_loops.ts";
import { barrier, serve } from "./scope.ts";

const clock = clockNs();
const threadNow = threadClock();

/** hotpath's rings: the side takes this thread's role on the attached ring; close closes the ring. */
function hotpathSide(setup: SideSetup): Side {
  const { kind, role } = setup;
  const ring = Ring.attach(setup.ring!, { slot: Tick });
  const control = new Int32Array(setup.control);
  let side: Side;
  if (role === "producer") {
    const producer = ring.producer({ wait: "spin" });
    if (kind === "spsc1") side = spscProducer1(producer);
    else if (kind === "spsc64") side = spscProducerBatch(producer, THROUGHPUT_KINDS[kind].batch);
    else if (kind === "spscViews1" || kind === "spscViews64") {
      side = spscProducerViews(producer, THROUGHPUT_KINDS[kind].batch);
    } else side = mpmcProducer(producer, setup.id, control);
  } else {
    const consumer = ring.consumer({ wait: "spin" });
    if (kind === "spsc1") side = spscConsumer1(consumer);
    else if (kind === "spsc64") side = spscConsumerBatch(consumer, THROUGHPUT_KINDS[kind].batch);
    else if (kind === "spscViews1" || kind === "spscViews64") {
      side = spscConsumerViews(consumer, THROUGHPUT_KINDS[kind].batch);
    } else side = mpmcConsumer(consumer, setup.producers ?? 1, control);
  }
  return { run: side.run, close: () => ring.close() };
}

function build(setup: SideSetup): Side {
  const { kind, role } = setup;
  const batch = THROUGHPUT_KINDS[kind].batch;
  const producer = role === "producer";
  if (kind === "postMessage") return postMessageSide(setup.port!, role);
  if (kind === "ringbuf1" || kind === "ringbuf64") {
    return producer ? ringbufProducer(setup.buffer!, batch) : ringbufConsumer(setup.buffer!, batch);
  }
  if (kind === "sab1") return producer ? sabProducer1(setup.buffer!) : sabConsumer1(setup.buffer!);
  if (kind === "sab64") {
    return producer ? sabProducerBatch(setup.buffer!, batch) : sabConsumerBatch(setup.buffer!, batch);
  }
  return hotpathSide(setup);
}

let side: Side | undefined;
let control: Int32Array | undefined;

serve(async (message) => {
  if (message.type === "init") {
    const { setup } = message as unknown as { setup: SideSetup };
    control = new Int32Array(setup.control);
    side = build(setup);
    return { type: "ready" };
  }
  if (message.type === "run") {
    const { count, participants } = message as unknown as { count: number; participants: number };
    barrier(control!, participants);
    const before = threadNow?.();
    const start = clock();
    const result = await side!.run(count);
    const end = clock();
    const waitShare = idleShare(before, threadNow?.());
    return { type: "done", start, end, ...result, waitShare };
  }
  side?.close();
  return { type: "closed" };
});
