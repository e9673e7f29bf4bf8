/**
 * Behaviour of every public function of Ring and its sides on all three kinds, in one thread:
 * claim/commit/peek/release and their batches around the end of the ring, drain, the -1 and 0
 * sentinels at full and empty, roles, close, share/attach, named rings, struct slots, waits by
 * every strategy, and the exact counters of `stats()`.
 *
 * Messages carry their sequence number in the first u32 of the slot, so order and loss show.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { HotpathError, libraryInfo, Ring, type RingConsumer, type RingProducer, struct } from "../mod.ts";
import { assertCode, collectGarbage, nextTurn, runtime, test } from "./harness.ts";

const KINDS = ["spsc", "mpmc", "broadcast"] as const;
type Kind = typeof KINDS[number];
const STRATEGIES = ["spin", "yield", "park", "backoff"] as const;

function make(kind: Kind, options: Record<string, unknown> = {}): Ring {
  return Ring[kind]({ slot: 8, capacity: 4, ...options } as never);
}

/** Writes `value` into the first u32 of `slot` through the side's bytes. */
function put(side: RingProducer | RingConsumer, slot: number, value: number): void {
  new DataView(side.bytes.buffer, side.bytes.byteOffset).setUint32(side.offsetOf(slot), value, true);
}

function get(side: RingProducer | RingConsumer, slot: number): number {
  return new DataView(side.bytes.buffer, side.bytes.byteOffset).getUint32(side.offsetOf(slot), true);
}

/** Claims one slot, writes `value`, commits. */
function send(producer: RingProducer, value: number): void {
  const slot = producer.tryClaim();
  assert.ok(slot >= 0, `the ring was full sending ${value}`);
  put(producer, slot, value);
  assert.equal(producer.commit(), true);
}

/** The next message's value (released), or -1. */
function receive(consumer: RingConsumer): number {
  const slot = consumer.tryPeek();
  if (slot < 0) return -1;
  const value = get(consumer, slot);
  consumer.release();
  return value;
}

function uniqueName(label: string): string {
  return `hotpath-ring-test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

test("Ring.spsc, Ring.mpmc and Ring.broadcast describe their geometry on the ring and on both sides", () => {
  for (const kind of KINDS) {
    using ring = make(kind, { slot: 24, capacity: 16 });
    assert.deepEqual([ring.kind, ring.capacity, ring.mask, ring.slotSize, ring.name], [kind, 16, 15, 24, ""]);
    for (const side of [ring.producer(), ring.consumer()]) {
      assert.deepEqual([side.capacity, side.mask, side.slotSize], [16, 15, 24]);
      const offsets = Array.from({ length: 16 }, (_, slot) => side.offsetOf(slot));
      for (let slot = 1; slot < 16; slot++) assert.ok(offsets[slot] - offsets[slot - 1] >= 24, `${kind} overlap`);
      assert.ok(offsets[15] + 24 <= side.bytes.length, `${kind}: the last slot ends past bytes`);
    }
  }
});

test("RingProducer.tryClaim and RingConsumer.tryPeek keep order round the ring, -1 when full or empty", () => {
  for (const kind of KINDS) {
    using ring = make(kind);
    const producer = ring.producer();
    const consumer = ring.consumer();
    let sent = 0;
    let read = 0;
    for (let lap = 0; lap < 3; lap++) {
      assert.equal(consumer.tryPeek(), -1, `${kind}: empty`);
      for (let i = 0; i < 4; i++) {
        const slot = producer.tryClaim();
        assert.equal(slot, sent & 3, `${kind}: claim ${sent}`);
        put(producer, slot, sent++);
        producer.commit();
      }
      assert.equal(producer.tryClaim(), -1, `${kind}: full`);
      for (let i = 0; i < 4; i++) {
        const slot = consumer.tryPeek();
        assert.equal(slot, read & 3, `${kind}: peek ${read}`);
        assert.equal(get(consumer, slot), read++);
        consumer.release();
      }
      assert.equal(consumer.tryPeek(), -1, `${kind}: empty again`);
      send(producer, sent++); // the next lap starts one slot further on
      assert.equal(receive(consumer), read++);
    }
  }
});

test("RingProducer.tryClaimBatch and RingConsumer.peekBatch take what the ring holds and stop at its last slot", () => {
  for (const kind of KINDS) {
    using ring = make(kind, { capacity: 8 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    assert.equal(producer.slotStride, consumer.slotStride);
    assert.equal(producer.offsetOf(1) - producer.offsetOf(0), producer.slotStride);
    for (let i = 0; i < 5; i++) send(producer, i);
    for (let i = 0; i < 5; i++) assert.equal(receive(consumer), i);
    assert.equal(producer.tryClaimBatch(6), 3, `${kind}: 8 free, cut at the last slot`);
    assert.equal(producer.claimed, 5);
    for (let i = 0; i < 3; i++) put(producer, producer.claimed + i, 5 + i);
    producer.commit();
    assert.equal(producer.tryClaimBatch(3), 3, `${kind}: the next batch starts at slot 0`);
    assert.equal(producer.claimed, 0);
    for (let i = 0; i < 3; i++) put(producer, i, 8 + i);
    producer.commit();
    assert.equal(producer.tryClaimBatch(4), 2, `${kind}: cut to the 2 free slots`);
    assert.equal(producer.claimed, 3);
    put(producer, 3, 11);
    put(producer, 4, 12);
    producer.commit();
    assert.equal(producer.tryClaimBatch(1), 0, `${kind}: full`);
    assert.equal(consumer.peekBatch(100), 3, `${kind}: 8 there, cut at the last slot`);
    assert.equal(consumer.peeked, 5);
    assert.deepEqual([0, 1, 2].map((i) => get(consumer, consumer.peeked + i)), [5, 6, 7]);
    consumer.release();
    assert.equal(consumer.peekBatch(100), 5, `${kind}: cut to the 5 messages there`);
    assert.equal(consumer.peeked, 0);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => get(consumer, i)), [8, 9, 10, 11, 12]);
    consumer.release();
    assert.equal(consumer.peekBatch(1), 0, `${kind}: empty`);
  }
});

test("SPSC and broadcast sides publish every slot held at once; an MPMC side holds one claim or peek", async () => {
  for (const kind of ["spsc", "broadcast"] as const) {
    using ring = make(kind);
    const producer = ring.producer();
    const consumer = ring.consumer();
    [producer.tryClaim(), producer.tryClaim()].forEach((slot, i) => put(producer, slot, i));
    assert.equal(producer.tryClaimBatch(2), 2);
    put(producer, 2, 2);
    put(producer, 3, 3);
    assert.equal(consumer.tryPeek(), -1, `${kind}: nothing is visible before commit`);
    producer.commit();
    assert.deepEqual([consumer.tryPeek(), consumer.tryPeek(), consumer.peekBatch(2)], [0, 1, 2]);
    assert.equal(producer.tryClaim(), -1, `${kind}: nothing is free before release`);
    consumer.release();
    assert.equal(producer.tryClaimBatch(4), 4, `${kind}: one release gave back all 4`);
  }
  using ring = make("mpmc");
  const producer = ring.producer();
  const consumer = ring.consumer();
  producer.tryClaim();
  for (const action of [() => producer.tryClaim(), () => producer.tryClaimBatch(1), () => producer.claim(0)]) {
    assertCode(action, "INVALID_STATE", "commit() them first");
  }
  producer.commit();
  send(producer, 1);
  consumer.tryPeek();
  for (
    const action of [
      () => consumer.tryPeek(),
      () => consumer.peekBatch(1),
      () => consumer.drain(1, () => {}),
      () => consumer.poll(0),
      () => consumer.pollAsync(0),
    ]
  ) assertCode(action, "INVALID_STATE", "release() them first");
  consumer.release();
  assert.equal(await consumer.pollAsync(0), 1);
  assert.equal(receive(consumer), 1);
});

test("RingProducer.commit and RingConsumer.release with nothing held change nothing", () => {
  for (const kind of KINDS) {
    using ring = make(kind);
    const producer = ring.producer();
    const consumer = ring.consumer();
    assert.equal(producer.commit(), true);
    consumer.release();
    send(producer, 7);
    assert.equal(receive(consumer), 7);
    assert.equal(producer.commit(), true);
    consumer.release();
    const stats = ring.stats();
    assert.deepEqual([stats.pushed, stats.popped, stats.depth], [1, 1, 0], kind);
    assert.equal(receive(consumer), -1);
  }
});

test("RingConsumer.drain calls fn in order for up to max messages and releases them", () => {
  for (const kind of KINDS) {
    using ring = make(kind, { capacity: 8 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    for (let i = 0; i < 5; i++) send(producer, 10 + i);
    const seen: number[] = [];
    const fn = (slot: number) => seen.push(get(consumer, slot));
    assert.equal(consumer.drain(3, fn), 3);
    assert.equal(consumer.drain(10, fn), 2);
    assert.deepEqual(seen, [10, 11, 12, 13, 14]);
    assert.equal(consumer.drain(10, fn), 0);
    assert.equal(seen.length, 5);
    assert.equal(ring.stats().popped, 5, kind);
    for (let i = 0; i < 8; i++) send(producer, i); // drain released every slot: room for 8
  }
});

test("RingConsumer.drain when fn throws: SPSC keeps the messages after it; MPMC and broadcast release all", () => {
  // SPSC (documented): the messages before it and the one it threw on count as delivered.
  // MPMC (documented): every peeked message is released. Broadcast releases every peeked one too.
  for (const kind of KINDS) {
    using ring = make(kind, { capacity: 8 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    for (let i = 0; i < 5; i++) send(producer, i);
    const boom = new Error("fn failed");
    const seen: number[] = [];
    assert.throws(() =>
      consumer.drain(5, (slot) => {
        seen.push(get(consumer, slot));
        if (seen.length === 3) throw boom;
      }), (error) => error === boom);
    assert.deepEqual(seen, [0, 1, 2], `${kind}: fn stops at the throw`);
    const delivered = kind === "spsc" ? 3 : 5;
    assert.equal(ring.stats().popped, delivered, kind);
    assert.equal(receive(consumer), delivered === 3 ? 3 : -1, `${kind}: what is left`);
  }
});

test("Ring.broadcast: a gating consumer holds the producer exactly at capacity; the slowest of two gates", () => {
  using ring = make("broadcast");
  const producer = ring.producer();
  const fast = ring.consumer();
  const slow = ring.consumer({ onSlow: "block" });
  for (let i = 0; i < 4; i++) send(producer, i);
  assert.deepEqual([producer.tryClaim(), producer.tryClaimBatch(2), producer.claim(0)], [-1, 0, -1]);
  for (let i = 0; i < 4; i++) assert.equal(receive(fast), i);
  assert.equal(producer.tryClaim(), -1, "the slow consumer still gates");
  assert.equal(receive(slow), 0);
  send(producer, 4);
  assert.equal(producer.tryClaim(), -1, "exactly one slot came free");
  const stats = ring.stats();
  assert.deepEqual([stats.pushed, stats.popped, stats.depth, stats.fullEvents], [5, 1, 4, 5]);
  const consumers = stats.roles.filter((role) => role.role === "consumer");
  assert.deepEqual(consumers.map((role) => [role.gating, role.lag]), [[true, 1], [true, 4]]);
  slow.close();
  assert.equal(producer.tryClaimBatch(4), 3, "only the fast consumer gates now");
});

test("Ring.broadcast: a drop consumer is not waited for, is lapped, counts lost exactly, reads intact copies", () => {
  using ring = Ring.broadcast({ slot: 16, capacity: 8, onSlowConsumer: "drop" });
  const producer = ring.producer();
  const consumer = ring.consumer();
  const whole = (slot: number) => {
    const view = new DataView(consumer.bytes.buffer, consumer.bytes.byteOffset + consumer.offsetOf(slot), 16);
    const words = [0, 4, 8, 12].map((at) => view.getUint32(at, true));
    assert.ok(words.every((word) => word === words[0]), `torn message ${words}`);
    return words[0];
  };
  const sendWhole = (value: number) => {
    const slot = producer.tryClaim();
    assert.ok(slot >= 0, "a drop consumer held the producer back");
    new Uint32Array(producer.bytes.buffer, producer.bytes.byteOffset + producer.offsetOf(slot), 4).fill(value);
    producer.commit();
  };
  for (let i = 0; i < 13; i++) sendWhole(i);
  const read = () => {
    const slot = consumer.tryPeek();
    const value = slot < 0 ? -1 : whole(slot);
    consumer.release();
    return value;
  };
  assert.deepEqual(Array.from({ length: 9 }, read), [5, 6, 7, 8, 9, 10, 11, 12, -1]);
  assert.equal(ring.stats().lost, 5);
  // A peeked message is a copy: the producer lapping the slot under it changes nothing.
  sendWhole(13);
  const slot = consumer.tryPeek();
  for (let i = 14; i < 23; i++) sendWhole(i);
  assert.equal(whole(slot), 13);
  consumer.release();
  // One slot claimed and half written over the oldest message: that one is lost, none is torn.
  const claimed = producer.tryClaim();
  new Uint32Array(producer.bytes.buffer, producer.bytes.byteOffset + producer.offsetOf(claimed), 1).fill(99);
  assert.deepEqual([read(), read()], [16, 17], "14 lapped, 15 being overwritten");
  producer.commit();
  const stats = ring.stats();
  assert.deepEqual([stats.lost, stats.roles.find((role) => role.role === "consumer")?.lost], [7, 7]);
  assert.equal(stats.roles.find((role) => role.role === "consumer")?.gating, false);
  consumer.close();
  assert.equal(ring.stats().lost, 7, "lost is kept after the consumer closes");
});

/** Sends 3, reads 1, fills the ring, tries a claim on full and three reads on empty. */
function countedScenario(kind: Kind): Ring {
  const ring = make(kind);
  const producer = ring.producer();
  const consumer = ring.consumer();
  for (let i = 0; i < 3; i++) send(producer, i);
  assert.equal(receive(consumer), 0);
  const middle = ring.stats();
  assert.deepEqual([middle.pushed, middle.popped, middle.depth], [3, 1, 2], kind);
  send(producer, 3);
  send(producer, 4);
  assert.equal(producer.tryClaim(), -1);
  for (let i = 1; i < 5; i++) assert.equal(receive(consumer), i);
  assert.deepEqual([consumer.tryPeek(), consumer.peekBatch(2), consumer.drain(2, () => {})], [-1, 0, 0]);
  return ring;
}

test("Ring.stats counts pushed, popped, depth, events and roles exactly", () => {
  for (const kind of KINDS) {
    using ring = countedScenario(kind);
    const { roles, bytesReserved, ...counters } = ring.stats();
    assert.ok(bytesReserved >= 4096 && bytesReserved % 4096 === 0, `a whole-page region, got ${bytesReserved}`);
    assert.deepEqual(counters, {
      kind,
      capacity: 4,
      slotSize: 8,
      pushed: 5,
      popped: 5,
      depth: 0,
      fullEvents: 1,
      emptyEvents: 3,
      parks: 0,
      wakes: 0,
      skipped: 0,
      lost: 0,
      lateCommits: 0,
      reapedRoles: 0,
      reclaimedPeeks: 0,
      producers: 1,
      consumers: 1,
    });
    const tid = roles[0]?.tid; // this thread's: the main thread's only outside a test runner
    assert.ok(Number.isInteger(tid) && tid > 0, `tid ${tid}`);
    const base = { pid: process.pid, tid, lag: 0, parks: 0, wakes: 0, lost: 0, lateCommits: 0 };
    const mine = { ...base, owner: "alive", mine: true };
    assert.deepEqual(roles, [
      { ...mine, role: "producer", gating: false, fullEvents: 1, emptyEvents: 0 },
      { ...mine, role: "consumer", gating: kind === "broadcast", fullEvents: 0, emptyEvents: 3 },
    ]);
    using other = Ring.attach(ring.share());
    assert.deepEqual(other.stats().roles.map((role) => role.mine), [false, false], "another Ring's roles");
  }
});

test("Ring.stats counts committed and released messages only, on every kind", () => {
  for (const kind of KINDS) {
    using ring = make(kind);
    const producer = ring.producer();
    const consumer = ring.consumer();
    producer.tryClaim();
    const claimed = ring.stats();
    assert.deepEqual([claimed.pushed, claimed.depth], [0, 0], `${kind}: a claim is not a message yet`);
    producer.commit();
    consumer.tryPeek();
    const peeked = ring.stats();
    assert.deepEqual([peeked.pushed, peeked.popped, peeked.depth], [1, 0, 1], `${kind}: a peek is not a release`);
  }
});

test("Ring roles: one SPSC producer and consumer, one broadcast producer, maxRoles in all; close frees a role", () => {
  using spsc = make("spsc");
  const producer = spsc.producer();
  const consumer = spsc.consumer();
  using attached = Ring.attach(spsc.share());
  for (const action of [() => spsc.producer(), () => spsc.consumer(), () => attached.producer()]) {
    assertCode(action, "LIMIT_REACHED");
  }
  producer.close();
  producer.close();
  consumer[Symbol.dispose]();
  attached.producer();
  attached.consumer();
  assert.deepEqual(spsc.stats().roles.map((role) => [role.role, role.mine]), [["producer", false], [
    "consumer",
    false,
  ]]);
  using broadcast = make("broadcast", { maxRoles: 4 });
  broadcast.producer();
  assertCode(() => broadcast.producer(), "LIMIT_REACHED");
  const consumers = [broadcast.consumer(), broadcast.consumer({ onSlow: "drop" }), broadcast.consumer()];
  assertCode(() => broadcast.consumer(), "LIMIT_REACHED");
  consumers[1].close();
  broadcast.consumer({ onSlow: "drop" });
  assert.deepEqual(broadcast.stats().roles.map((role) => role.gating), [false, true, false, true]);
  using mpmc = make("mpmc");
  const sides = Array.from({ length: 16 }, (_, i) => i % 3 === 0 ? mpmc.consumer() : mpmc.producer());
  assertCode(() => mpmc.consumer(), "LIMIT_REACHED");
  assertCode(() => mpmc.producer(), "LIMIT_REACHED");
  sides[0].close();
  mpmc.producer();
  assert.deepEqual([mpmc.stats().producers, mpmc.stats().consumers], [11, 5]);
});

test("Ring.close closes its sides and every method, twice is fine, and other attachments keep the ring", () => {
  const ring = make("spsc");
  const other = Ring.attach(ring.share());
  const producer = ring.producer();
  const consumer = other.consumer();
  send(producer, 1);
  const descriptor = ring.share();
  ring.close();
  ring.close();
  ring[Symbol.dispose]();
  const actions = [
    () => producer.tryClaim(),
    () => producer.tryClaimBatch(1),
    () => producer.claim(0),
    () => producer.commit(),
    () => ring.producer(),
    () => ring.consumer(),
    () => ring.stats(),
    () => ring.share(),
    () => ring.unlink(),
  ];
  for (const action of actions) assertCode(action, "CLOSED");
  assert.equal(other.stats().producers, 0, "ring.close gave its producer role back");
  send(other.producer(), 2);
  assert.deepEqual([receive(consumer), receive(consumer)], [1, 2]);
  other.close();
  assertCode(() => Ring.attach(descriptor), "CLOSED", "no longer open");
});

test("RingConsumer.pollAsync in flight rejects CLOSED when its side closes; views kept read zeros", async () => {
  for (const kind of KINDS) {
    const ring = make(kind);
    const first = ring.consumer({ wait: "park" });
    const waiting = first.pollAsync(Infinity);
    await nextTurn();
    first.close();
    await assert.rejects(waiting, (error: unknown) => error instanceof HotpathError && error.code === "CLOSED");
    const second = ring.consumer({ wait: "park" });
    const again = second.pollAsync(Infinity);
    const producer = ring.producer();
    send(producer, 0xabcd);
    const view = producer.bytes;
    await again;
    ring.close();
    assert.ok(view.every((byte) => byte === 0), `${kind}: a view kept after the last close reads old memory`);
  }
});

test("Ring.share and Ring.attach reach the same ring from another Ring object of this process", () => {
  for (const kind of KINDS) {
    using ring = make(kind, { capacity: 8 });
    const descriptor = structuredClone(ring.share());
    assert.deepEqual(descriptor, { kind: "hotpath.Ring", version: 1, pid: process.pid, id: descriptor.id, path: null });
    using attached = Ring.attach(descriptor);
    assert.deepEqual([attached.kind, attached.capacity, attached.slotSize, attached.name], [kind, 8, 8, ""]);
    const producer = ring.producer();
    const consumer = attached.consumer();
    send(producer, 42);
    assert.equal(receive(consumer), 42);
    assert.deepEqual([ring.stats().pushed, attached.stats().popped], [1, 1]);
    if (kind !== "mpmc") assertCode(() => attached.producer(), "LIMIT_REACHED");
  }
});

test("Ring named rings: created by name, opened from this process, ALREADY_EXISTS, unlinked, NOT_FOUND", () => {
  const name = uniqueName("named");
  const created = Ring.mpmc({ slot: 8, capacity: 8, name });
  try {
    const path = `/dev/shm/${name}`;
    assert.deepEqual([created.name, created.share().path], [path, path]);
    for (const kind of KINDS) assertCode(() => make(kind, { name }), "ALREADY_EXISTS");
    using byName = Ring.open({ name });
    using byPath = Ring.open({ path });
    using attached = Ring.attach(created.share());
    assert.deepEqual([byName.kind, byName.capacity, byName.name, byPath.name, attached.name], [
      "mpmc",
      8,
      path,
      path,
      path,
    ]);
    const consumer = byName.consumer();
    send(created.producer(), 5);
    send(byPath.producer(), 6);
    created.unlink();
    assertCode(() => Ring.open({ name }), "NOT_FOUND");
    assertCode(() => Ring.unlink({ name }), "NOT_FOUND");
    send(attached.producer(), 7);
    assert.deepEqual([receive(consumer), receive(consumer), receive(consumer)], [5, 6, 7], "unlinked, still open");
  } finally {
    created.close();
  }
  const second = Ring.broadcast({ slot: 8, capacity: 2, name });
  second.close();
  Ring.unlink({ name });
  assertCode(() => Ring.open({ name }), "NOT_FOUND");
  using anonymous = make("spsc");
  assertCode(() => anonymous.unlink(), "INVALID_ARGUMENT", "no name");
});

test("Ring struct slots: typed cursors, at() on a byte ring INVALID_STATE, a misfit layout INCOMPATIBLE", () => {
  const Tick = struct({ price: "f64", size: "u32" });
  for (const kind of KINDS) {
    const drop = kind === "broadcast" ? { onSlowConsumer: "drop" as const } : {};
    using ring = Ring[kind]({ slot: Tick, capacity: 4, ...drop });
    assert.equal(ring.slotSize, Tick.size);
    const producer = ring.producer();
    const consumer = ring.consumer();
    const slot = producer.tryClaim();
    producer.at(slot).price = 101.25;
    producer.at(slot).size = 300;
    producer.commit();
    const read = consumer.tryPeek();
    assert.deepEqual([consumer.at(read).price, consumer.at(read).size], [101.25, 300], kind);
  }
  using bytes = make("spsc", { slot: 16 });
  assertCode(() => bytes.producer().at(0), "INVALID_STATE", "raw bytes");
  using typed = Ring.attach(bytes.share(), { slot: Tick });
  assert.equal(typed.consumer().at(3).size, 0);
  assertCode(() => Ring.attach(bytes.share(), { slot: struct({ values: ["f64", 3] }) }), "INCOMPATIBLE", "24 bytes");
  using packed = Ring.spsc({ slot: struct({ raw: ["u8", 16] }), capacity: 4 });
  assertCode(() => Ring.attach(packed.share(), { slot: Tick }), "INCOMPATIBLE", "align 8");
});

test("Ring.spsc/mpmc/broadcast take a struct layout as slot in TypeScript (deno check of the example)", () => {
  if (runtime !== "deno") return; // Bun runs TypeScript without checking its types
  const directory = mkdtempSync(join(tmpdir(), "hotpath-ring-check-"));
  try {
    const file = join(directory, "example.ts");
    const source = [
      `import { Ring, struct } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};`,
      'const Tick = struct({ price: "f64", size: "u32" });',
      ...KINDS.map((kind) => `Ring.${kind}({ slot: Tick, capacity: 1024 }).producer().at(0).price = 1;`),
    ];
    writeFileSync(file, source.join("\n") + "\n");
    const checked = spawnSync(process.execPath, ["check", "--quiet", file], { encoding: "utf8" });
    assert.equal(checked.status, 0, `deno check of the example failed:\n${checked.stderr}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test("RingConsumer.poll and pollAsync give 0 when empty and the count with data, every wait strategy", async () => {
  for (const kind of KINDS) {
    for (const wait of STRATEGIES) {
      using ring = make(kind);
      const producer = ring.producer({ wait });
      const consumer = ring.consumer({ wait });
      const label = `${kind} ${wait}`;
      const waits =
        async () => [consumer.poll(0), consumer.poll(2), await consumer.pollAsync(0), await consumer.pollAsync(2)];
      assert.deepEqual(await waits(), [0, 0, 0, 0], label);
      for (let i = 0; i < 3; i++) send(producer, i);
      const count = kind === "mpmc" ? 1 : 3; // MPMC: "returns 1" (another consumer may take it)
      assert.deepEqual(await waits(), [count, count, count, count], label);
      assert.equal(ring.stats().emptyEvents, 4, `${label}: each wait on empty counts once`);
      assert.deepEqual([receive(consumer), receive(consumer), receive(consumer)], [0, 1, 2], label);
    }
  }
});

test("RingProducer.claim gives -1 when full after its timeout, a slot when there is room, every strategy", () => {
  for (const kind of KINDS) {
    for (const wait of STRATEGIES) {
      using ring = make(kind);
      const producer = ring.producer({ wait });
      const consumer = ring.consumer();
      const label = `${kind} ${wait}`;
      assert.equal(producer.claim(Infinity), 0, `${label}: room, so no wait`);
      producer.commit();
      for (let i = 1; i < 4; i++) send(producer, i);
      assert.deepEqual([producer.claim(0), producer.claim(2)], [-1, -1], label);
      assert.equal(ring.stats().fullEvents, 2, `${label}: each wait on full counts once`);
      receive(consumer);
      assert.equal(producer.claim(2), 0, label);
      assert.equal(producer.commit(), true);
    }
  }
});

test("RingConsumer.pollAsync resolves with the message committed while it waits", async () => {
  for (const kind of KINDS) {
    using ring = make(kind);
    const producer = ring.producer();
    const consumer = ring.consumer({ wait: "park" });
    const waiting = consumer.pollAsync(Infinity);
    if (runtime === "deno") {
      // Deno parks on one of its FFI threads: wait (a bounded number of turns) until it sleeps,
      // so that only the commit's wake-up (or the 100 ms re-read) can end the wait.
      for (let turn = 0; turn < 5000 && ring.stats().parks === 0; turn++) await nextTurn();
      assert.ok(ring.stats().parks > 0, `${kind}: pollAsync never parked`);
    } else {
      await nextTurn();
    }
    send(producer, 9);
    assert.equal(await waiting, 1);
    if (runtime === "deno") assert.ok(ring.stats().wakes >= 1, `${kind}: the commit woke nobody`);
    assert.equal(receive(consumer), 9);
  }
});

test("Ring.mpmc skips a claim left uncommitted past unblockTimeoutMs; the late commit is false and counted", () => {
  for (const wait of STRATEGIES) {
    using ring = Ring.mpmc({ slot: 8, capacity: 4, unblockTimeoutMs: 1 });
    const stuck = ring.producer();
    const producer = ring.producer();
    const consumer = ring.consumer({ wait });
    put(stuck, stuck.tryClaim(), 666);
    send(producer, 1);
    assert.equal(consumer.tryPeek(), -1, `${wait}: first seen stuck, not overdue yet`);
    assert.equal(consumer.poll(5000), 1, `${wait}: the overdue claim reads as ready`);
    assert.equal(receive(consumer), 1, `${wait}: the stuck slot is skipped, the message behind it read`);
    assert.equal(ring.stats().skipped, 1);
    assert.equal(stuck.commit(), false, `${wait}: the late commit`);
    const stats = ring.stats();
    assert.deepEqual([stats.lateCommits, stats.roles[0].lateCommits], [1, 1]);
    stuck.close();
    assert.equal(ring.stats().lateCommits, 1, "lateCommits is kept after the producer closes");
    for (let i = 2; i < 6; i++) send(producer, i);
    assert.deepEqual([2, 3, 4, 5].map(() => receive(consumer)), [2, 3, 4, 5], `${wait}: messages flow`);
    assert.equal(receive(consumer), -1);
  }
});

test("Ring.mpmc: a consumer closed while it holds a peek does not wedge the ring", () => {
  using ring = make("mpmc");
  const producer = ring.producer();
  const consumer = ring.consumer();
  send(producer, 0);
  consumer.tryPeek();
  consumer.close();
  const next = ring.consumer();
  const claims: number[] = [];
  for (let i = 1; i <= 8; i++) {
    const slot = producer.tryClaim();
    claims.push(slot);
    if (slot >= 0) producer.commit();
    receive(next);
  }
  assert.ok(claims.every((slot) => slot >= 0), `claims on an emptied ring: ${claims}`);
});

test("Ring.mpmc gives back a peek held past unblockTimeoutMs; the late release changes nothing", () => {
  using ring = Ring.mpmc({ slot: 8, capacity: 2, unblockTimeoutMs: 1 });
  const producer = ring.producer();
  const slow = ring.consumer(); // holds its peek across a pause longer than the unblock timeout
  const consumer = ring.consumer();
  send(producer, 100);
  slow.tryPeek();
  send(producer, 101);
  assert.equal(receive(consumer), 101);
  assert.equal(producer.tryClaim(), -1, "the held slot is first seen unreleased");
  const slot = producer.claim(5000);
  assert.equal(slot, 0, "claimed once the peek was overdue");
  assert.equal(ring.stats().reclaimedPeeks, 1);
  put(producer, slot, 102);
  assert.equal(producer.commit(), true);
  slow.release(); // too late: the slot is the next lap's now
  assert.equal(consumer.poll(5000), 1, "the committed message 102 is there");
  assert.equal(receive(consumer), 102, "the late release hid or lost the committed message");
  send(producer, 103);
  assert.equal(receive(consumer), 103);
  const stats = ring.stats();
  assert.deepEqual([stats.pushed, stats.popped, stats.depth, stats.skipped, stats.reclaimedPeeks], [4, 4, 0, 0, 1]);
  assert.equal(stats.lateCommits, 1, "the late release is counted");
  assert.equal(stats.roles.find((role) => role.role === "consumer")?.lateCommits, 1, "by the slow consumer");
});

/** In its own frame, so that nothing of the test keeps the attachment reachable. */
function abandonProducer(descriptor: ReturnType<Ring["share"]>): void {
  Ring.attach(descriptor).producer();
}

test("Ring roles of a Ring object dropped without close come back once it is collected", async () => {
  using ring = make("spsc");
  abandonProducer(ring.share());
  assertCode(() => ring.producer(), "LIMIT_REACHED");
  for (let round = 0; round < 400 && ring.stats().producers > 0; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(ring.stats().producers, 0, "the dropped Ring's producer role is still taken");
  send(ring.producer(), 1);
  assert.equal(receive(ring.consumer()), 1);
});

/** Makes rings with sides over two Ring objects each, closed or only dropped, in their own frame. */
function churn(close: boolean): void {
  for (const kind of KINDS) {
    const ring = make(kind, { slot: 64, capacity: 64 });
    const other = Ring.attach(ring.share());
    other.producer();
    ring.consumer();
    if (close) [ring, other].forEach((each) => each.close());
  }
}

/** Collects until the count of mapped regions stops changing (a bounded number of rounds). */
async function settledRegions(): Promise<number> {
  let before = libraryInfo().regionsMapped;
  for (let round = 0; round < 100; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = libraryInfo().regionsMapped;
    if (now === before && round >= 4) break;
    before = now;
  }
  return before;
}

test("Ring regions are unmapped once every Ring over them is closed or dropped, and collected", async () => {
  const before = await settledRegions();
  for (let round = 0; round < 10; round++) churn(round % 2 === 0);
  assert.ok(libraryInfo().regionsMapped > before, "the rings were never mapped");
  let after = libraryInfo().regionsMapped;
  for (let round = 0; round < 20 && after > before; round++) after = await settledRegions();
  assert.ok(after <= before, `${after} regions mapped, ${before} before`);
});
