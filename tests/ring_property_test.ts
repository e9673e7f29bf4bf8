/**
 * Model-based tests of Ring: random sequences of tryClaim, tryClaimBatch, commit, tryPeek,
 * peekBatch, release, drain (whose fn may throw) and the close of a side that is then taken again
 * (held claims and peeks dropped or given back, as documented) on small rings (2 .. 16 slots, so the end of
 * the ring and the full and empty boundaries come often), each step checked against a trivially
 * correct model: slot indices, values, -1 and 0 sentinels, INVALID_STATE, and the counters of
 * `stats()` (pushed, popped, depth, full and empty events, lag, lost).
 *
 * - SPSC: one queue of positions (claimed, committed, peeked, released).
 * - MPMC: two producers and two consumers, each holding at most one claim or peek; a slot is free
 *   once the message a lap before it is released, readable once committed (the unblock timeout is
 *   the maximum, so nothing is ever skipped or reclaimed); its stats count messages, not positions.
 * - Broadcast: one producer, block (gating) and drop consumers, each with its own position; a
 *   drop consumer reads the first message not yet overwritten or being overwritten, and counts
 *   every one it passes as lost.
 *
 * Positions also start near 2^31 and 2^32, where the int32 arithmetic and the wrap counts of the
 * stats turn over: the ring is created at a path in a private directory and its head and tail
 * words (and MPMC turn words) are written through the file (the mapping is MAP_SHARED, so the
 * region sees them) before any side exists; the name is removed at once. No test-only API.
 *
 * @module
 */
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { HotpathError, Ring, type RingConsumer, type RingProducer, type RingStats } from "../mod.ts";
import { RING_HEADER } from "../ffi/abi.generated.ts";
import { test } from "./harness.ts";

type Kind = "spsc" | "mpmc" | "broadcast";
type Op =
  | { t: "claim" | "commit" | "peek" | "release" | "reopen"; who: number }
  | { t: "claimBatch" | "peekBatch"; who: number; n: number }
  | { t: "drain"; who: number; n: number; throwAt: number };

const who = fc.nat(3);
const count = fc.integer({ min: 1, max: 20 });
const operation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: who.map((who) => ({ t: "claim", who }) as const) },
  { weight: 8, arbitrary: fc.tuple(who, count).map(([who, n]) => ({ t: "claimBatch", who, n }) as const) },
  { weight: 20, arbitrary: who.map((who) => ({ t: "commit", who }) as const) },
  { weight: 15, arbitrary: who.map((who) => ({ t: "peek", who }) as const) },
  { weight: 8, arbitrary: fc.tuple(who, count).map(([who, n]) => ({ t: "peekBatch", who, n }) as const) },
  { weight: 15, arbitrary: who.map((who) => ({ t: "release", who }) as const) },
  { weight: 3, arbitrary: who.map((who) => ({ t: "reopen", who }) as const) },
  {
    weight: 6,
    arbitrary: fc.tuple(who, count, fc.integer({ min: -1, max: 6 })).map(([who, n, throwAt]) =>
      ({ t: "drain", who, n, throwAt }) as const
    ),
  },
);
const capacity = fc.constantFrom(2, 4, 8, 16);
/** 0, or a start just below 2^31 or 2^32 (as a u32), so a run crosses it. */
const start = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.nat(40).map((below) => 2 ** 31 - below) },
  { weight: 1, arbitrary: fc.nat(40).map((below) => 2 ** 32 - 1 - below) },
);
const RUNS = 300;
const OPERATIONS = 200;

/** A ring whose positions start at `start` (see the module documentation). */
function ringAt(kind: Kind, capacity: number, start: number, options: Record<string, unknown> = {}): Ring {
  const settings = { slot: 8, capacity, ...options } as never;
  if (start === 0) return Ring[kind](settings);
  const directory = mkdtempSync(join(tmpdir(), "hotpath-ring-model-"));
  try {
    const path = join(directory, "ring");
    const ring = Ring[kind]({ ...(settings as object), path } as never);
    const words = new Map<number, number>([[RING_HEADER.head, start], [RING_HEADER.tail, start]]);
    if (kind === "mpmc") {
      const probe = ring.producer(); // only for offsetOf; it reads nothing the writes change
      for (let lap = 0; lap < capacity; lap++) {
        const position = (start + lap) >>> 0;
        words.set(probe.offsetOf(position & (capacity - 1)) - 8, position); // the slot's turn word
      }
      probe.close();
    }
    const file = openSync(path, "r+");
    try {
      for (const [offset, value] of words) {
        writeSync(file, new Uint8Array(new Uint32Array([value]).buffer), 0, 4, offset);
      }
    } finally {
      closeSync(file);
    }
    return ring;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A message: its number in the first u32, its complement in the second (a torn one shows). */
function put(side: RingProducer, slot: number, value: number): void {
  const view = new DataView(side.bytes.buffer, side.bytes.byteOffset + side.offsetOf(slot), 8);
  view.setUint32(0, value, true);
  view.setUint32(4, ~value >>> 0, true);
}

function get(side: RingConsumer, slot: number): number {
  const view = new DataView(side.bytes.buffer, side.bytes.byteOffset + side.offsetOf(slot), 8);
  const value = view.getUint32(0, true);
  assert.equal(view.getUint32(4, true), ~value >>> 0, `torn message in slot ${slot}`);
  return value;
}

/** What a call did: its value, a HotpathError's code, or "threw" for the drain fn's own error. */
const THROWN = new Error("drain fn threw");
function attempt(action: () => unknown): unknown {
  try {
    return action();
  } catch (error) {
    if (error === THROWN) return "threw";
    if (error instanceof HotpathError) return error.code;
    throw error;
  }
}

/** A drain fn that records each slot's value and throws on call `throwAt` (0-based; -1: never). */
function drainer(consumer: RingConsumer, throwAt: number, seen: number[]): (slot: number) => void {
  return (slot) => {
    seen.push(get(consumer, slot));
    if (seen.length - 1 === throwAt) throw THROWN;
  };
}

/** What every model shares: the ring, its start, the messages written by relative position. */
abstract class Model {
  values: number[] = [];
  /** Full and empty events by role index (the order of `stats().roles`). */
  full: number[];
  empty: number[];

  constructor(readonly ring: Ring, readonly start: number, roles: number) {
    this.full = new Array(roles).fill(0);
    this.empty = new Array(roles).fill(0);
  }
  /** Role `index` was closed and taken again: a new role, its counters at 0. */
  reopened(index: number): void {
    this.full[index] = 0;
    this.empty[index] = 0;
  }
  slot(position: number): number {
    return (this.start + position) & this.ring.mask;
  }
  /** How many of `wanted` a batch from `position` takes: batches stop at the ring's last slot. */
  batch(position: number, wanted: number): number {
    return Math.min(wanted, this.ring.capacity - this.slot(position));
  }
  /** Writes message `position` (its value is its position) into the slot. */
  write(producer: RingProducer, position: number): void {
    this.values[position] = (this.start + position) >>> 0;
    put(producer, this.slot(position), this.values[position]);
  }
  expectRead(consumer: RingConsumer, position: number, slot = this.slot(position)): void {
    assert.equal(slot, this.slot(position), `message ${position} in the wrong slot`);
    assert.equal(get(consumer, slot), this.values[position], `message ${position}`);
  }
  /** The stats every kind shares; `pushed` and `popped` relative to the start. */
  expectStats(pushed: number, popped: number): void {
    const stats = this.ring.stats();
    assert.deepEqual(
      [stats.pushed, stats.popped, stats.depth],
      [this.start + pushed, this.start + popped, pushed - popped],
      "pushed, popped, depth",
    );
    this.expectEvents(stats);
  }
  /** Per role, and in total over the roles attached now (documented: a closed role's go with it). */
  expectEvents(stats: RingStats): void {
    const roles = stats.roles.map((role) => [role.fullEvents, role.emptyEvents]);
    assert.deepEqual(roles, this.full.map((full, index) => [full, this.empty[index]]), "full, empty events by role");
    const sum = (counts: number[]) => counts.reduce((total, count) => total + count, 0);
    assert.deepEqual([stats.fullEvents, stats.emptyEvents], [sum(this.full), sum(this.empty)], "full, empty events");
  }
  abstract apply(op: Op): void;
  abstract check(): void;
}

class SpscModel extends Model {
  claimed = 0;
  committed = 0;
  peeked = 0;
  released = 0;
  constructor(ring: Ring, start: number, public producer: RingProducer, public consumer: RingConsumer) {
    super(ring, start, 2);
  }
  apply(op: Op): void {
    const { producer, consumer } = this;
    if (op.t === "reopen") return this.reopen(op.who % 2);
    if (op.t === "claim" || op.t === "claimBatch") {
      const batch = op.t === "claimBatch";
      const free = this.ring.capacity - (this.claimed - this.released);
      const taken = Math.min(this.batch(this.claimed, batch ? op.n : 1), free);
      const got = batch ? producer.tryClaimBatch(op.n) : producer.tryClaim();
      if (taken === 0) this.full[0]++;
      assert.equal(got, taken === 0 ? (batch ? 0 : -1) : batch ? taken : this.slot(this.claimed), op.t);
      if (batch && taken > 0) assert.equal(producer.claimed, this.slot(this.claimed));
      for (let i = 0; i < taken; i++) this.write(producer, this.claimed++);
    } else if (op.t === "commit") {
      assert.equal(producer.commit(), true);
      this.committed = this.claimed;
    } else if (op.t === "release") {
      consumer.release();
      this.released = this.peeked;
    } else {
      this.read(op);
    }
  }
  read(op: Op): void {
    const consumer = this.consumer;
    const available = this.committed - this.peeked;
    const wanted = op.t === "peek" ? 1 : (op as { n: number }).n;
    const taken = Math.min(this.batch(this.peeked, wanted), available);
    if (taken === 0) this.empty[1]++;
    if (op.t === "peek") {
      const slot = consumer.tryPeek();
      if (taken === 0) return assert.equal(slot, -1, "tryPeek on empty");
      return this.expectRead(consumer, this.peeked++, slot);
    }
    const seen: number[] = [];
    const got = op.t === "peekBatch"
      ? consumer.peekBatch(wanted)
      : attempt(() => consumer.drain(wanted, drainer(consumer, op.t === "drain" ? op.throwAt : -1, seen)));
    const threw = got === "threw";
    assert.equal(got, threw ? "threw" : taken, op.t);
    if (taken > 0 && op.t === "peekBatch") assert.equal(consumer.peeked, this.slot(this.peeked));
    const delivered = threw ? seen.length : taken; // SPSC drain: up to and with the one it threw on
    if (op.t === "drain") assert.deepEqual(seen, this.values.slice(this.peeked, this.peeked + seen.length));
    for (let i = 0; op.t === "peekBatch" && i < taken; i++) this.expectRead(consumer, this.peeked + i);
    this.peeked += delivered;
    if (op.t === "drain" && taken > 0) this.released = this.peeked; // drain releases what came before too
  }
  /** Closes a side and takes its role again: held claims are dropped, held peeks read again. */
  reopen(index: number): void {
    if (index === 0) {
      this.producer.close();
      this.producer = this.ring.producer();
      this.claimed = this.committed;
    } else {
      this.consumer.close();
      this.consumer = this.ring.consumer();
      this.peeked = this.released;
    }
    this.reopened(index);
  }
  check(): void {
    this.expectStats(this.committed, this.released);
  }
}

type Held = { first: number; n: number } | undefined;

class MpmcModel extends Model {
  head = 0;
  tail = 0;
  committed = new Set<number>();
  released = new Set<number>();
  claims: Held[] = [undefined, undefined];
  peeks: Held[] = [undefined, undefined];
  constructor(ring: Ring, start: number, readonly producers: RingProducer[], readonly consumers: RingConsumer[]) {
    super(ring, start, 4); // role indices: producers 0 and 1, consumers 2 and 3
  }
  /** A slot is free for `position` once the message a lap before it was released. */
  free(position: number): boolean {
    return position < this.ring.capacity || this.released.has(position - this.ring.capacity);
  }
  apply(op: Op): void {
    const index = op.who % 2;
    if (op.t === "reopen") return this.reopen(op.who);
    if (op.t === "claim") return this.claim(index, 0);
    if (op.t === "claimBatch") return this.claim(index, op.n);
    if (op.t === "commit") {
      assert.equal(this.producers[index].commit(), true);
      for (let i = 0; i < (this.claims[index]?.n ?? 0); i++) this.committed.add(this.claims[index]!.first + i);
      this.claims[index] = undefined;
    } else if (op.t === "release") {
      this.consumers[index].release();
      for (let i = 0; i < (this.peeks[index]?.n ?? 0); i++) this.released.add(this.peeks[index]!.first + i);
      this.peeks[index] = undefined;
    } else {
      this.read(index, op);
    }
  }
  /** `batch` 0: tryClaim; otherwise tryClaimBatch(batch). */
  claim(index: number, batch: number): void {
    const producer = this.producers[index];
    const got = attempt(() => batch === 0 ? producer.tryClaim() : producer.tryClaimBatch(batch));
    if (this.claims[index] !== undefined) return assert.equal(got, "INVALID_STATE", "a second claim");
    let taken = 0;
    while (taken < this.batch(this.head, Math.max(batch, 1)) && this.free(this.head + taken)) taken++;
    if (taken === 0) {
      this.full[index]++;
      return assert.equal(got, batch === 0 ? -1 : 0, "claim on full");
    }
    assert.equal(got, batch === 0 ? this.slot(this.head) : taken);
    assert.equal(producer.claimed, this.slot(this.head));
    this.claims[index] = { first: this.head, n: taken };
    for (let i = 0; i < taken; i++) this.write(producer, this.head + i);
    this.head += taken;
  }
  read(index: number, op: Op): void {
    const consumer = this.consumers[index];
    const wanted = op.t === "peek" ? 1 : (op as { n: number }).n;
    const seen: number[] = [];
    const got = attempt(() =>
      op.t === "peek"
        ? consumer.tryPeek()
        : op.t === "peekBatch"
        ? consumer.peekBatch(wanted)
        : consumer.drain(wanted, drainer(consumer, op.t === "drain" ? op.throwAt : -1, seen))
    );
    if (this.peeks[index] !== undefined) return assert.equal(got, "INVALID_STATE", "a second peek");
    let taken = 0;
    while (taken < this.batch(this.tail, wanted) && this.committed.has(this.tail + taken)) taken++;
    if (taken === 0) this.empty[2 + index]++;
    const threw = op.t === "drain" && op.throwAt >= 0 && op.throwAt < taken;
    assert.equal(got, op.t === "peek" ? (taken === 0 ? -1 : this.slot(this.tail)) : threw ? "threw" : taken, op.t);
    if (taken === 0) return;
    if (op.t === "drain") {
      assert.deepEqual(seen, this.values.slice(this.tail, this.tail + (threw ? op.throwAt + 1 : taken)));
      for (let i = 0; i < taken; i++) this.released.add(this.tail + i); // all released, even after a throw
    } else {
      assert.equal(consumer.peeked, this.slot(this.tail));
      for (let i = 0; i < taken; i++) this.expectRead(consumer, this.tail + i, (consumer.peeked + i) & this.ring.mask);
      this.peeks[index] = { first: this.tail, n: taken };
    }
    this.tail += taken;
  }
  /**
   * Closes a side and takes its role again. A producer's held claim is never committed (with the
   * unblock timeout at its maximum, consumers stop there for good); a consumer's held peeks are
   * given back as consumed.
   */
  reopen(who: number): void {
    const role = who % 4;
    if (role < 2) {
      this.producers[role].close();
      this.producers[role] = this.ring.producer();
      this.claims[role] = undefined;
    } else {
      const held = this.peeks[role - 2];
      for (let i = 0; i < (held?.n ?? 0); i++) this.released.add(held!.first + i);
      this.peeks[role - 2] = undefined;
      this.consumers[role - 2].close();
      this.consumers[role - 2] = this.ring.consumer();
    }
    this.reopened(role);
  }
  check(): void {
    // MPMC counts committed and released messages (per role), not positions: no start offset.
    const stats = this.ring.stats();
    assert.deepEqual(
      [stats.pushed, stats.popped, stats.depth, stats.skipped],
      [this.committed.size, this.released.size, this.committed.size - this.released.size, 0],
      "pushed, popped, depth, skipped",
    );
    this.expectEvents(stats);
  }
}

interface Reader {
  consumer: RingConsumer;
  gating: boolean;
  next: number;
  released: number;
  lost: number;
}

class BroadcastModel extends Model {
  claimed = 0;
  /** The highest position ever claimed: a reopened producer claims again from the head. */
  touched = 0;
  head = 0;
  /** Messages lost by readers that were closed since (kept in the totals). */
  departedLost = 0;
  constructor(ring: Ring, start: number, public producer: RingProducer, readonly readers: Reader[]) {
    super(ring, start, 1 + readers.length); // role indices: the producer 0, then the readers
  }
  /** Positions below it may be claimed: a ring past the slowest gating consumer (or the head). */
  limit(): number {
    const gating = this.readers.filter((reader) => reader.gating).map((reader) => reader.released);
    return Math.min(this.head, ...gating) + this.ring.capacity;
  }
  apply(op: Op): void {
    const reader = this.readers[op.who % this.readers.length];
    if (op.t === "reopen") return this.reopen(op.who % (1 + this.readers.length));
    if (op.t === "claim" || op.t === "claimBatch") {
      const batch = op.t === "claimBatch";
      const taken = Math.min(this.batch(this.claimed, batch ? op.n : 1), this.limit() - this.claimed);
      const got = batch ? this.producer.tryClaimBatch(op.n) : this.producer.tryClaim();
      if (taken === 0) this.full[0]++;
      assert.equal(got, taken === 0 ? (batch ? 0 : -1) : batch ? taken : this.slot(this.claimed), op.t);
      if (batch && taken > 0) assert.equal(this.producer.claimed, this.slot(this.claimed));
      for (let i = 0; i < taken; i++) this.write(this.producer, this.claimed++);
      this.touched = Math.max(this.touched, this.claimed);
    } else if (op.t === "commit") {
      assert.equal(this.producer.commit(), true);
      this.head = this.claimed;
    } else if (op.t === "release") {
      reader.consumer.release();
      reader.released = reader.next;
    } else {
      this.read(reader, op);
    }
  }
  /** The first message `reader` can read: gating, its next; drop, the oldest not overwritten. */
  first(reader: Reader): number {
    return reader.gating ? reader.next : Math.max(reader.next, this.touched - this.ring.capacity);
  }
  read(reader: Reader, op: Op): void {
    const consumer = reader.consumer;
    const wanted = op.t === "peek" ? 1 : (op as { n: number }).n;
    const first = this.first(reader);
    const available = Math.max(0, this.head - first);
    const seen: number[] = [];
    const got = attempt(() =>
      op.t === "peek"
        ? consumer.tryPeek()
        : op.t === "peekBatch"
        ? consumer.peekBatch(wanted)
        : consumer.drain(wanted, drainer(consumer, op.t === "drain" ? op.throwAt : -1, seen))
    );
    reader.lost += Math.min(first, this.head) - reader.next;
    if (available === 0) {
      this.empty[1 + this.readers.indexOf(reader)]++;
      reader.next = this.head;
      return assert.equal(got, op.t === "peek" ? -1 : 0, `${op.t} with nothing to read`);
    }
    // Gating consumers peek every message there; a drop consumer's batch may stop short (at the
    // head it last read), never at nothing.
    const most = Math.min(this.batch(first, wanted), available);
    const taken = op.t === "peek" ? 1 : reader.gating ? most : this.batchOf(reader, got);
    assert.ok(taken >= 1 && taken <= most, `${op.t} took ${taken} of ${available}`);
    const threw = op.t === "drain" && op.throwAt >= 0 && op.throwAt < taken;
    if (op.t === "peek") assert.equal(got, this.slot(first));
    else assert.equal(got, threw ? "threw" : taken, op.t);
    if (op.t === "drain") {
      assert.deepEqual(seen, this.values.slice(first, first + (threw ? op.throwAt + 1 : taken)));
    } else {
      const start = op.t === "peek" ? (got as number) : consumer.peeked;
      for (let i = 0; i < taken; i++) this.expectRead(consumer, first + i, (start + i) & this.ring.mask);
    }
    reader.next = first + taken;
    if (op.t === "drain") reader.released = reader.next;
  }
  /** A drop consumer's batch: what it returned, or (a drain that threw) what its cursor says. */
  batchOf(reader: Reader, got: unknown): number {
    if (got !== "threw") return got as number;
    const index = this.readers.indexOf(reader);
    const role = this.ring.stats().roles.filter((role) => role.role === "consumer")[index];
    return this.head - role.lag - this.first(reader);
  }
  /** Closes the producer (held claims dropped) or a reader (it comes back at the head, a new role). */
  reopen(role: number): void {
    if (role === 0) {
      this.producer.close();
      this.producer = this.ring.producer();
      this.claimed = this.head;
    } else {
      const reader = this.readers[role - 1];
      reader.consumer.close();
      reader.consumer = this.ring.consumer({ onSlow: reader.gating ? "block" : "drop" });
      reader.next = reader.released = this.head;
      this.departedLost += reader.lost;
      reader.lost = 0;
    }
    this.reopened(role);
  }
  check(): void {
    const gating = this.readers.filter((reader) => reader.gating).map((reader) => reader.released);
    this.expectStats(this.head, Math.min(this.head, ...gating));
    const stats = this.ring.stats();
    const consumers = stats.roles.filter((role) => role.role === "consumer");
    assert.deepEqual(
      consumers.map((role) => [role.gating, role.lag, role.lost]),
      this.readers.map((reader) => [reader.gating, this.head - reader.released, reader.lost]),
      "per consumer: gating, lag, lost",
    );
    const lost = this.readers.reduce((sum, reader) => sum + reader.lost, this.departedLost);
    assert.equal(stats.lost, lost, "lost, with that of readers closed since");
  }
}

function run(model: Model, operations: readonly Op[]): void {
  for (const op of operations) {
    model.apply(op);
    model.check();
  }
}

const operations = fc.array(operation, { minLength: 1, maxLength: OPERATIONS, size: "max" });

test("Ring.spsc agrees with a queue model, from positions near 0, 2^31 and 2^32", () => {
  fc.assert(
    fc.property(capacity, start, operations, (slots, first, ops) => {
      using ring = ringAt("spsc", slots, first);
      run(new SpscModel(ring, first, ring.producer(), ring.consumer()), ops);
    }),
    { numRuns: RUNS },
  );
});

test("Ring.mpmc with two producers and two consumers agrees with a model of turns", () => {
  fc.assert(
    fc.property(capacity, start, operations, (slots, first, ops) => {
      using ring = ringAt("mpmc", slots, first, { unblockTimeoutMs: 3_600_000 });
      const producers = [ring.producer(), ring.producer()];
      run(new MpmcModel(ring, first, producers, [ring.consumer(), ring.consumer()]), ops);
    }),
    { numRuns: RUNS },
  );
});

test("Ring.broadcast agrees with per-consumer models of block and drop consumers", () => {
  const gatings = fc.array(fc.boolean(), { minLength: 1, maxLength: 3 });
  fc.assert(
    fc.property(capacity, start, gatings, operations, (slots, first, gating, ops) => {
      using ring = ringAt("broadcast", slots, first);
      const producer = ring.producer();
      const readers = gating.map((blocks) => ({
        consumer: ring.consumer({ onSlow: blocks ? "block" : "drop" }),
        gating: blocks,
        next: 0,
        released: 0,
        lost: 0,
      }));
      run(new BroadcastModel(ring, first, producer, readers), ops);
    }),
    { numRuns: RUNS },
  );
});
