/**
 * A Worker of tests/workers/ring_stress_test.ts: one producer or consumer of a Ring, moving
 * sequence-numbered messages (tests/processes/ring_messages.ts) and checking every one it reads.
 * Requests, each answered by one reply (or `{ type: "error", message }`):
 * - `{ type: "setup", setup }`: attaches the ring and takes its role (before any message moves,
 *   so a gating consumer gates from the first one); replies "ready";
 * - `{ type: "run" }`: moves its messages; replies `{ type: "done", report }`. The role stays
 *   held, so the ring's stats still count it;
 * - `{ type: "close" }`: closes the ring; replies "closed".
 *
 * Producers claim one slot (`tryClaim`) or a batch (`tryClaimBatch`) as `mode` says ("mixed":
 * a random choice each time) and wait with the blocking `claim()` when the ring is full.
 * Consumers take one (`tryPeek`), a batch (`peekBatch`) or `drain`, and wait with `poll()`.
 * Consumers check, per message: intact (checksum), and the order their kind promises:
 * - "exact" (SPSC, gating broadcast): producer 1's sequence 0, 1, 2, ... with no gap;
 * - "shared" (MPMC): each producer's sequence increasing, and a bit per (producer, sequence) in
 *   a shared bitmap that must not be set yet (a duplicate) and must all be set at the end (none
 *   lost); the Workers stop when the shared consumed count reaches the total;
 * - "drop" (broadcast "drop"): increasing, gaps allowed (lapped); slowed on purpose by a 1 ms
 *   sleep every `slowEvery` messages until the producer is done, then it catches up.
 *
 * @module
 */
import { Ring, type RingConsumer, type RingDescriptor, type RingProducer, type WaitStrategy } from "../../mod.ts";
import { random32 } from "../random.ts";
import {
  chain,
  CHAIN_START,
  ID,
  SEQUENCE,
  type SlotWords,
  slotWords,
  verify,
  writeMessage,
} from "../processes/ring_messages.ts";

/** The Worker's global scope, typed without the DOM library. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

/** Int32 words of the control buffer the Workers of one run share. */
export const CONTROL = {
  /** Set by a Worker that failed: the others stop at their next wait. */
  broken: 0,
  /** Producers that committed their last message. */
  producersDone: 1,
  /** MPMC: messages consumed by all consumers. */
  consumed: 2,
  /** A word nobody changes: the drop consumer sleeps on it. */
  sleep: 3,
} as const;
export const CONTROL_BYTES = 64;

/** How a side moves messages: one at a time, in batches, by `drain` (consumers), or a random mix. */
export type Mode = "single" | "batch" | "drain" | "mixed";

/** What a consumer checks: see the module documentation. */
export type Check = "exact" | "shared" | "drop";

export interface StressSetup {
  descriptor: RingDescriptor;
  role: "producer" | "consumer";
  /** Producers: the id written in each message (1 ..). Consumers: an index for reports. */
  id: number;
  wait: WaitStrategy;
  mode: Mode;
  /** Largest batch claimed or peeked. */
  maxBatch: number;
  /** Words per message (>= 4, at most the slot's size / 4). */
  words: number;
  /** Producers: messages to send. Consumers: messages expected ("exact", "shared": the total). */
  messages: number;
  /** Consumers: what they check. */
  check?: Check;
  /** Broadcast consumers: "block" (gating) or "drop". */
  onSlow?: "block" | "drop";
  /** Producers of the run (consumers: the ids 1 .. producers; the run ends when all are done). */
  producers: number;
  control: SharedArrayBuffer;
  /** "shared": one bit per (producer, sequence), `bitmapWords` words per producer. */
  bitmap?: SharedArrayBuffer;
  bitmapWords?: number;
  /** "drop": sleep 1 ms every this many messages while the producer runs. */
  slowEvery?: number;
  /** Close the role and take it again every this many messages (their counts must stay in the stats). */
  rejoinEvery?: number;
  seed: number;
  /** The Worker gives up (reports timedOut) after this long. */
  timeLimitMs: number;
}

export interface StressReport {
  role: "producer" | "consumer";
  id: number;
  /** Messages committed (producers) or read (consumers). */
  moved: number;
  /** Consumers: messages whose words did not match their checksum. */
  torn: number;
  /** Consumers: messages out of the order their kind promises. */
  outOfOrder: number;
  /** "shared": messages whose bit was already set. */
  duplicates: number;
  /** Messages from a producer id that does not exist. */
  strangers: number;
  /** Producers: commits that returned false. */
  refused: number;
  /** Per producer id (index 0 unused): messages read and the sum of their sequences. */
  counts: number[];
  sums: number[];
  /** The running hash of every (id, sequence) read, in order. */
  hash: number;
  /** "drop": messages lost by being lapped (its `lost`), and its largest lag seen. */
  lost: number;
  maxLag: number;
  /** Batches (producers: claims; consumers: peeks) and how many found nothing to do. */
  batches: number;
  /** Times the side closed its role and took it again. */
  rejoins: number;
  waits: number;
  elapsedMs: number;
  timedOut: boolean;
  notes: string[];
}

function newReport(setup: StressSetup): StressReport {
  return {
    role: setup.role,
    id: setup.id,
    moved: 0,
    torn: 0,
    outOfOrder: 0,
    duplicates: 0,
    strangers: 0,
    refused: 0,
    counts: new Array(setup.producers + 1).fill(0),
    sums: new Array(setup.producers + 1).fill(0),
    hash: CHAIN_START,
    lost: 0,
    maxLag: 0,
    batches: 0,
    rejoins: 0,
    waits: 0,
    elapsedMs: 0,
    timedOut: false,
    notes: [],
  };
}

function note(report: StressReport, text: string): void {
  if (report.notes.length < 10) report.notes.push(text);
}

class Stop extends Error {}

/** What producers and consumers share: the setup, the control words, the report, the clock, the role. */
abstract class Side {
  readonly control: Int32Array;
  readonly report: StressReport;
  readonly next: () => number;
  started = 0;
  deadline = 0;

  constructor(readonly setup: StressSetup, readonly ring: Ring) {
    this.control = new Int32Array(setup.control);
    this.report = newReport(setup);
    this.next = random32(setup.seed);
  }

  /** Takes this side's role (again). */
  abstract takeRole(): void;
  abstract closeRole(): void;

  /** With `rejoinEvery`: closes the role and takes it again when `from` .. `to` crossed a multiple of it. */
  rejoinAfter(from: number, to: number): void {
    const every = this.setup.rejoinEvery;
    if (every === undefined || Math.floor(from / every) === Math.floor(to / every)) return;
    this.closeRole();
    this.takeRole();
    this.report.rejoins++;
  }

  /** Starts the clock of the run. */
  start(): void {
    this.started = performance.now();
    this.deadline = this.started + this.setup.timeLimitMs;
  }

  /** The size of the next batch: 1 for "single", else 1 .. maxBatch. */
  batchSize(): number {
    const mode = this.setup.mode;
    if (mode === "single") return 1;
    const size = 1 + this.next() % this.setup.maxBatch;
    return mode === "mixed" && (this.next() & 1) === 0 ? 1 : size;
  }

  /** Throws Stop when another Worker broke or the time limit passed. */
  checkStop(): void {
    if (Atomics.load(this.control, CONTROL.broken) !== 0) {
      note(this.report, "stopped: another Worker broke");
      throw new Stop();
    }
    if (performance.now() > this.deadline) {
      this.report.timedOut = true;
      note(this.report, `timed out after ${this.setup.timeLimitMs} ms`);
      throw new Stop();
    }
  }
}

class Producer extends Side {
  declare producer: RingProducer;
  declare view: SlotWords;

  constructor(setup: StressSetup, ring: Ring) {
    super(setup, ring);
    this.takeRole();
  }

  takeRole(): void {
    this.producer = this.ring.producer({ wait: this.setup.wait });
    this.view = slotWords(this.producer);
  }

  closeRole(): void {
    this.producer.close();
  }

  run(): void {
    const report = this.report;
    const { words, id, messages } = this.setup;
    const mask = this.producer.mask;
    let sequence = 0;
    while (sequence < messages) {
      const { producer, view } = this;
      const before = sequence;
      const wanted = Math.min(this.batchSize(), messages - sequence);
      let first: number;
      let taken: number;
      if (wanted === 1) {
        first = producer.tryClaim();
        taken = first < 0 ? 0 : 1;
      } else {
        taken = producer.tryClaimBatch(wanted);
        first = producer.claimed;
      }
      if (taken === 0) {
        first = this.waitClaim();
        taken = 1;
      }
      for (let index = 0; index < taken; index++) writeMessage(view, (first + index) & mask, words, id, sequence++);
      if (!producer.commit()) report.refused++;
      report.batches++;
      report.moved = sequence;
      this.rejoinAfter(before, sequence);
    }
    Atomics.add(this.control, CONTROL.producersDone, 1);
  }

  /** The blocking claim, by the wait strategy, in slices that let the Worker see a stop. */
  waitClaim(): number {
    this.report.waits++;
    for (;;) {
      const slot = this.producer.claim(200);
      if (slot >= 0) return slot;
      this.checkStop();
    }
  }
}

class Consumer extends Side {
  declare consumer: RingConsumer;
  declare view: SlotWords;
  readonly last: Int32Array;
  readonly bitmap: Int32Array | undefined;
  readonly check: Check;
  /** "exact": the sequence the next message must carry. */
  expected = 0;
  readonly onSlot = (slot: number) => this.read(slot);

  constructor(setup: StressSetup, ring: Ring) {
    super(setup, ring);
    this.check = setup.check ?? "exact";
    this.last = new Int32Array(setup.producers + 1).fill(-1);
    this.bitmap = setup.bitmap === undefined ? undefined : new Int32Array(setup.bitmap);
    this.takeRole();
  }

  takeRole(): void {
    const { wait, onSlow } = this.setup;
    this.consumer = this.ring.consumer(onSlow === undefined ? { wait } : { wait, onSlow });
    this.view = slotWords(this.consumer);
  }

  closeRole(): void {
    this.consumer.close();
  }

  /** Checks the message in `slot`. */
  read(slot: number): void {
    const report = this.report;
    const view = this.view;
    report.moved++;
    if (!verify(view, slot, this.setup.words)) {
      report.torn++;
      note(report, `torn message at slot ${slot} after ${report.moved - 1} messages`);
      return;
    }
    const at = view.base + slot * view.stride;
    const id = view.words[at + ID];
    const sequence = view.words[at + SEQUENCE];
    if (!(id >= 1 && id <= this.setup.producers)) {
      report.strangers++;
      note(report, `message from producer ${id}`);
      return;
    }
    report.counts[id]++;
    report.sums[id] += sequence;
    report.hash = chain(report.hash, id, sequence);
    if (this.check === "exact") {
      if (sequence !== this.expected) {
        report.outOfOrder++;
        note(report, `sequence ${sequence} where ${this.expected} was expected`);
      }
      this.expected = sequence + 1;
      return;
    }
    if (sequence <= this.last[id]) {
      report.outOfOrder++;
      note(report, `producer ${id}: sequence ${sequence} after ${this.last[id]}`);
    }
    this.last[id] = sequence;
    if (this.bitmap !== undefined) this.mark(id, sequence);
  }

  mark(id: number, sequence: number): void {
    const word = (id - 1) * this.setup.bitmapWords! + (sequence >>> 5);
    const bit = 1 << (sequence & 31);
    if ((Atomics.or(this.bitmap!, word, bit) & bit) !== 0) {
      this.report.duplicates++;
      note(this.report, `producer ${id}: sequence ${sequence} read twice`);
    }
  }

  /** Takes and checks up to one batch; returns how many messages. */
  take(): number {
    const consumer = this.consumer;
    const wanted = this.batchSize();
    const mode = this.setup.mode;
    if (wanted === 1 && mode !== "drain") {
      const slot = consumer.tryPeek();
      if (slot < 0) return 0;
      this.read(slot);
      consumer.release();
      return 1;
    }
    if (mode === "drain" || (mode === "mixed" && (this.next() & 3) === 0)) return consumer.drain(wanted, this.onSlot);
    const count = consumer.peekBatch(wanted);
    const first = consumer.peeked;
    const mask = consumer.mask;
    for (let index = 0; index < count; index++) this.read((first + index) & mask);
    if (count > 0) consumer.release();
    return count;
  }

  finished(): boolean {
    if (this.check === "exact") return this.report.moved >= this.setup.messages;
    if (this.check === "shared") return Atomics.load(this.control, CONTROL.consumed) >= this.setup.messages;
    return false;
  }

  run(): void {
    const drops = this.check === "drop";
    while (!this.finished()) {
      const done = Atomics.load(this.control, CONTROL.producersDone) === this.setup.producers;
      const count = this.take();
      this.report.batches++;
      if (count > 0) {
        if (this.check === "shared") Atomics.add(this.control, CONTROL.consumed, count);
        if (drops) this.dawdle(done);
        this.rejoinAfter(this.report.moved - count, this.report.moved);
        continue;
      }
      if (drops && done) break;
      this.report.waits++;
      if (this.consumer.poll(50) === 0) this.checkStop();
    }
    if (drops) this.report.lost = (this.consumer as unknown as { lost: number }).lost;
  }

  /** "drop": notes the lag, and sleeps 1 ms every `slowEvery` messages while the producer runs. */
  dawdle(done: boolean): void {
    const every = this.setup.slowEvery ?? 0;
    if (done || every === 0 || this.report.batches % every !== 0) return;
    Atomics.wait(this.control, CONTROL.sleep, 0, 1);
    // After the sleep, before the next read: how far behind the producer got meanwhile.
    const lag = (this.consumer as unknown as { lag: number }).lag;
    if (lag > this.report.maxLag) this.report.maxLag = lag;
    this.checkStop();
  }
}

let ring: Ring | undefined;
let side: Producer | Consumer | undefined;

function setUp(setup: StressSetup): void {
  ring = Ring.attach(setup.descriptor);
  side = setup.role === "producer" ? new Producer(setup, ring) : new Consumer(setup, ring);
}

function run(): StressReport {
  const current = side!;
  current.start();
  try {
    current.run();
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  current.report.elapsedMs = performance.now() - current.started;
  return current.report;
}

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as { type: string; setup?: StressSetup };
  try {
    if (message.type === "setup") {
      setUp(message.setup!);
      scope.postMessage({ type: "ready" });
    } else if (message.type === "run") {
      scope.postMessage({ type: "done", report: run() });
    } else {
      ring?.close();
      scope.postMessage({ type: "closed" });
    }
  } catch (error) {
    if (side !== undefined) Atomics.store(side.control, CONTROL.broken, 1);
    scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
  }
};
