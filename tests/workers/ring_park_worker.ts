/**
 * A Worker of tests/workers/ring_park_test.ts: one side of an SPSC ring. Requests, each
 * answered by one reply (or `{ type: "error", message }`):
 * - `{ type: "consume", descriptor }`: takes the consumer role (wait "park"), replies "ready",
 *   then blocks in `poll()` until a message comes and replies `{ type: "woke", count, id,
 *   sequence, intact }` with what it read;
 * - `{ type: "produce", descriptor }`: takes the producer role, replies "ready";
 * - `{ type: "push", sequence }`: commits message (1, sequence), replies "pushed";
 * - `{ type: "close" }`: closes the ring, replies "closed".
 *
 * @module
 */
import { Ring, type RingConsumer, type RingDescriptor, type RingProducer } from "../../mod.ts";
import { ID, SEQUENCE, slotWords, verify, writeMessage } from "../processes/ring_messages.ts";

/** The Worker's global scope, typed without the DOM library. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

/** Words per message (slots of 16 bytes). */
export const WORDS = 4;
/** How long the consumer waits in `poll()` at most. */
const POLL_LIMIT_MS = 30_000;

let ring: Ring | undefined;
let producer: RingProducer | undefined;

function consume(consumer: RingConsumer): Record<string, unknown> {
  const count = consumer.poll(POLL_LIMIT_MS);
  if (count === 0) return { type: "woke", count };
  const slot = consumer.tryPeek();
  const view = slotWords(consumer);
  const at = view.base + slot * view.stride;
  const reply = {
    type: "woke",
    count,
    id: view.words[at + ID],
    sequence: view.words[at + SEQUENCE],
    intact: verify(view, slot, WORDS),
  };
  consumer.release();
  return reply;
}

function handle(message: { type: string; descriptor?: RingDescriptor; sequence?: number }): void {
  if (message.type === "consume") {
    ring = Ring.attach(message.descriptor!);
    const consumer = ring.consumer({ wait: "park" });
    scope.postMessage({ type: "ready" });
    scope.postMessage(consume(consumer));
  } else if (message.type === "produce") {
    ring = Ring.attach(message.descriptor!);
    producer = ring.producer();
    scope.postMessage({ type: "ready" });
  } else if (message.type === "push") {
    const slot = producer!.claim(1000);
    if (slot < 0) throw new Error("the ring stayed full for a second");
    writeMessage(slotWords(producer!), slot, WORDS, 1, message.sequence!);
    producer!.commit();
    scope.postMessage({ type: "pushed" });
  } else {
    ring?.close();
    scope.postMessage({ type: "closed" });
  }
}

scope.onmessage = (event: MessageEvent) => {
  try {
    handle(event.data);
  } catch (error) {
    scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
  }
};
