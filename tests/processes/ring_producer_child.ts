/**
 * One producer process of tests/ring_process_test.ts, run by Deno or Bun:
 *   <runtime> ring_producer_child.ts <name> <id> <first> <count> <then>
 * Opens the named ring, takes a producer role (taking back one whose process died) and commits
 * messages (id, first) .. (id, first + count - 1) (tests/processes/ring_messages.ts) in batches
 * of 1 to 32, printing `committed <next sequence>` after every 16384 and at the end. Then, as
 * `then` says:
 * - "end": commits the end-of-stream message (END_ID, first + count) and exits;
 * - "exit": exits;
 * - "hold": claims one more slot, writes message (id, first + count) into it, prints
 *   `claimed <slot>` and sleeps without committing, until killed (at most a minute).
 * Prints `role taken` once it holds its role, and a JSON line { committed, refused } before it
 * exits. It gives up after a minute (an orphan never lingers).
 *
 * @module
 */
import process from "node:process";
import { Ring, type RingProducer } from "../../mod.ts";
import { random32 } from "../random.ts";
import { parseInteger, write } from "./child_outcome.ts";
import { END_ID, slotWords, writeMessage } from "./ring_messages.ts";

const LIFETIME_MS = 60_000;
const PROGRESS_EVERY = 16_384;

const [name, idText, firstText, countText, then] = process.argv.slice(2);
const id = parseInteger(idText)!;
const first = parseInteger(firstText)!;
const count = parseInteger(countText)!;
if (!["end", "exit", "hold"].includes(then)) throw new Error(`then must be end, exit or hold; got ${then}`);
const deadline = Date.now() + LIFETIME_MS;

const ring = Ring.open({ name });
const producer = ring.producer({ wait: "backoff" });
write(1, "role taken\n");
const view = slotWords(producer);
const words = ring.slotSize >>> 2;
const mask = producer.mask;
const next = random32(id * 7919 + first);
let refused = 0;

/** Claims one slot, waiting as long as the lifetime allows. */
function claimSlot(side: RingProducer): number {
  for (;;) {
    const slot = side.claim(200);
    if (slot >= 0) return slot;
    if (Date.now() > deadline) throw new Error(`the ring stayed full until the end of the child's lifetime`);
  }
}

/** Commits (id, from) .. (id, to - 1) in random batches; returns `to`. */
function produce(from: number, to: number): number {
  let sequence = from;
  while (sequence < to) {
    const wanted = Math.min(1 + next() % 32, to - sequence);
    let taken = producer.tryClaimBatch(wanted);
    let slot = producer.claimed;
    if (taken === 0) {
      slot = claimSlot(producer);
      taken = 1;
    }
    const before = sequence;
    for (let index = 0; index < taken; index++) writeMessage(view, (slot + index) & mask, words, id, sequence++);
    if (!producer.commit()) refused++;
    if (Math.floor(before / PROGRESS_EVERY) !== Math.floor(sequence / PROGRESS_EVERY)) {
      write(1, `committed ${sequence}\n`);
      if (Date.now() > deadline) throw new Error("the child's lifetime ended before its last message");
    }
  }
  write(1, `committed ${sequence}\n`);
  return sequence;
}

const end = produce(first, first + count);
if (then === "end") {
  writeMessage(view, claimSlot(producer), words, END_ID, end);
  if (!producer.commit()) refused++;
}
if (then === "hold") {
  const slot = claimSlot(producer);
  writeMessage(view, slot, words, id, end);
  write(1, `claimed ${slot}\n`);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 1000);
}
write(1, `${JSON.stringify({ committed: end - first, refused })}\n`);
ring.close();
