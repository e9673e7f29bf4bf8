/**
 * One consumer process of tests/ring_process_test.ts, run by Deno or Bun:
 *   <runtime> ring_consumer_child.ts <name>
 * Opens the named ring, takes a consumer role (wait "park") and reads until the end-of-stream
 * message (END_ID), checking each message: intact (tests/processes/ring_messages.ts), and each
 * producer's sequences contiguous from 0 (a gap or a repeat is out of order). Prints `reading`
 * once it holds its role, then one JSON line: ConsumerReport. Gives up after 20 s without a
 * message (timedOut).
 *
 * @module
 */
import process from "node:process";
import { Ring } from "../../mod.ts";
import { write } from "./child_outcome.ts";
import { END_ID, ID, SEQUENCE, slotWords, verify } from "./ring_messages.ts";

const IDLE_LIMIT_MS = 20_000;
/** Producer ids 1 .. PRODUCERS_MAX. */
const PRODUCERS_MAX = 8;

/** What the consumer read. */
export interface ConsumerReport {
  received: number;
  torn: number;
  outOfOrder: number;
  strangers: number;
  /** Per producer id: messages read, and the last sequence (-1: none). */
  counts: number[];
  last: number[];
  /** The end message's sequence, or -1 if it never came. */
  end: number;
  /** The longest wait between two batches of messages, in ms. */
  longestGapMs: number;
  timedOut: boolean;
  notes: string[];
}

const [name] = process.argv.slice(2);
const ring = Ring.open({ name });
const consumer = ring.consumer({ wait: "park" });
write(1, "reading\n");
const view = slotWords(consumer);
const words = ring.slotSize >>> 2;
const report: ConsumerReport = {
  received: 0,
  torn: 0,
  outOfOrder: 0,
  strangers: 0,
  counts: new Array(PRODUCERS_MAX + 1).fill(0),
  last: new Array(PRODUCERS_MAX + 1).fill(-1),
  end: -1,
  longestGapMs: 0,
  timedOut: false,
  notes: [],
};

function note(text: string): void {
  if (report.notes.length < 10) report.notes.push(text);
}

function read(slot: number): void {
  report.received++;
  if (!verify(view, slot, words)) {
    report.torn++;
    note(`torn message at slot ${slot} after ${report.received - 1} messages`);
    return;
  }
  const at = view.base + slot * view.stride;
  const id = view.words[at + ID];
  const sequence = view.words[at + SEQUENCE];
  if (id === END_ID) {
    report.end = sequence;
    return;
  }
  if (!(id >= 1 && id <= PRODUCERS_MAX)) {
    report.strangers++;
    note(`message from producer ${id}`);
    return;
  }
  if (sequence !== report.last[id] + 1) {
    report.outOfOrder++;
    note(`producer ${id}: sequence ${sequence} after ${report.last[id]}`);
  }
  report.counts[id]++;
  report.last[id] = sequence;
}

let lastAt = performance.now();
while (report.end < 0) {
  const count = consumer.drain(64, read);
  const now = performance.now();
  if (count > 0) {
    report.longestGapMs = Math.max(report.longestGapMs, now - lastAt);
    lastAt = now;
  } else if (consumer.poll(100) === 0 && now - lastAt > IDLE_LIMIT_MS) {
    report.timedOut = true;
    break;
  }
}
report.longestGapMs = Math.round(report.longestGapMs);
write(1, `${JSON.stringify(report)}\n`);
ring.close();
