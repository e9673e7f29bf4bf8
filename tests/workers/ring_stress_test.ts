/**
 * Ring under load across Workers (tests/workers/ring_stress_worker.ts), each scenario moving
 * 10,000,000 sequence-numbered, checksummed messages (RING_STRESS_MESSAGES lowers it for quick
 * local runs):
 * - SPSC, one producer Worker to one consumer Worker, one message at a time and in batches;
 * - MPMC, two producer Workers and two consumer Workers: a bit per (producer, sequence) proves
 *   none lost and none twice, and each consumer sees each producer's messages in order;
 * - broadcast to three gating consumer Workers: each sees the whole sequence, in order;
 * - the same with a fourth, "drop" consumer that sleeps on purpose: the others finish while it
 *   is lapped, and what it read is intact, in order, and with what it lost adds up to the total.
 * Scenarios mix the wait strategies (park and backoff among them), so blocking waits run under
 * load; the machine may have fewer cores than Workers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Ring, type RingStats, type WaitStrategy } from "../../mod.ts";
import { runtime, test } from "../harness.ts";
import { integerFromEnvironment } from "../processes/child_outcome.ts";
import { chain, CHAIN_START } from "../processes/ring_messages.ts";
import { CONTROL, CONTROL_BYTES, type Mode, type StressReport, type StressSetup } from "./ring_stress_worker.ts";

const workerUrl = new URL("./ring_stress_worker.ts", import.meta.url).href;
/** Messages per scenario: the issue asks for 10,000,000. */
const MESSAGES = integerFromEnvironment("RING_STRESS_MESSAGES") ?? 10_000_000;
/** A Worker gives up after this long; the test waits a little longer for its report. */
const WORKER_LIMIT_MS = 100_000;
const REPLY_LIMIT_MS = 110_000;

/** A started Worker and the one request it is answering. */
class Hand {
  readonly worker = new Worker(workerUrl, { type: "module" });
  #settle: ((reply: { type: string; report?: StressReport; message?: string } | Error) => void) | undefined;

  constructor() {
    this.worker.onmessage = (event: MessageEvent) => this.#settle?.(event.data);
    this.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#settle?.(new Error(`a Worker failed: ${event.message}`));
    };
  }

  /** Sends `message`; the reply of type `expected` (rejects on an error reply, a Worker error or a hang). */
  request(message: unknown, expected: string): Promise<{ type: string; report?: StressReport }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${expected}" reply in ${REPLY_LIMIT_MS} ms`)),
        REPLY_LIMIT_MS,
      );
      this.#settle = (reply) => {
        clearTimeout(timer);
        this.#settle = undefined;
        if (reply instanceof Error) reject(reply);
        else if (reply.type !== expected) reject(new Error(`a Worker replied ${reply.type}: ${reply.message}`));
        else resolve(reply);
      };
      this.worker.postMessage(message);
    });
  }
}

/** The Workers of one scenario; `using` ends them with it. */
class Crew {
  readonly hands: Hand[] = [];

  /** Starts a Worker for each setup, one after the other (each loads the library once). */
  async start(setups: StressSetup[]): Promise<void> {
    for (const setup of setups) {
      const hand = new Hand();
      this.hands.push(hand);
      await hand.request({ type: "setup", setup }, "ready");
    }
  }

  /** Runs every Worker at once: their reports, in setup order. */
  async run(): Promise<StressReport[]> {
    const replies = await Promise.all(this.hands.map((hand) => hand.request({ type: "run" }, "done")));
    return replies.map((reply) => reply.report!);
  }

  async close(): Promise<void> {
    await Promise.all(this.hands.map((hand) => hand.request({ type: "close" }, "closed")));
  }

  [Symbol.dispose](): void {
    for (const hand of this.hands) hand.worker.terminate();
  }
}

interface Outcome {
  reports: StressReport[];
  stats: RingStats;
  elapsedMs: number;
}

/**
 * Runs `setups` on `ring` (consumers first, so that they hold their roles before a message
 * moves) and reads the ring's stats while every role is still held.
 */
async function stress(
  label: string,
  ring: Ring,
  setups: StressSetup[],
  watch?: (control: Int32Array) => void,
): Promise<Outcome> {
  using crew = new Crew();
  const ordered = [...setups].sort((a, b) => (a.role === b.role ? 0 : a.role === "consumer" ? -1 : 1));
  await crew.start(ordered);
  const started = performance.now();
  // The run requests are posted at once; `watch` may block this thread while the Workers run.
  const running = crew.run();
  watch?.(new Int32Array(setups[0].control));
  const reports = await running;
  const elapsedMs = performance.now() - started;
  const stats = ring.stats();
  await crew.close();
  // Every role is given back now: what they counted stays in the ring's totals.
  const closed = ring.stats();
  const totals = (s: RingStats) => [s.pushed, s.popped, s.depth, s.skipped, s.lost, s.producers + s.consumers];
  assert.deepEqual(totals(closed), [...totals(stats).slice(0, 5), 0], `${label}: totals after every role closed`);
  const moved = reports.filter((report) => report.role === "producer").reduce((sum, report) => sum + report.moved, 0);
  console.log(JSON.stringify({
    label,
    runtime,
    messages: moved,
    elapsedMs: Math.round(elapsedMs),
    millionsPerSecond: Number((moved / elapsedMs / 1000).toFixed(2)),
    stats: { ...stats, roles: undefined },
    sides: reports.map((r) => ({
      role: r.role,
      id: r.id,
      moved: r.moved,
      batches: r.batches,
      rejoins: r.rejoins,
      waits: r.waits,
      lost: r.lost,
      maxLag: r.maxLag,
      ms: Math.round(r.elapsedMs),
    })),
  }));
  return { reports, stats, elapsedMs };
}

interface SideOptions {
  role: "producer" | "consumer";
  id: number;
  wait: WaitStrategy;
  mode: Mode;
  messages: number;
  check?: StressSetup["check"];
  onSlow?: "block" | "drop";
  slowEvery?: number;
  rejoinEvery?: number;
}

/** The setups of one scenario, sharing one control buffer (and bitmap). */
function setupsOf(
  ring: Ring,
  sides: SideOptions[],
  shape: { words: number; maxBatch: number; producers: number; bitmap?: SharedArrayBuffer; bitmapWords?: number },
): StressSetup[] {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  return sides.map((side, index) => ({
    ...side,
    ...shape,
    descriptor: ring.share(),
    control,
    seed: 0x5eed + 7919 * index,
    timeLimitMs: WORKER_LIMIT_MS,
  }));
}

/** What every side of every scenario must report: no failure, nothing torn, nothing refused. */
function assertClean(outcome: Outcome, context: string): void {
  for (const report of outcome.reports) {
    const where = `${context}: ${report.role} ${report.id}: ${report.notes.join("; ")}`;
    assert.equal(report.timedOut, false, `timed out: ${where}`);
    assert.equal(report.torn, 0, `torn messages: ${where}`);
    assert.equal(report.outOfOrder, 0, `out of order: ${where}`);
    assert.equal(report.duplicates, 0, `read twice: ${where}`);
    assert.equal(report.strangers, 0, `unknown producer: ${where}`);
    assert.equal(report.refused, 0, `commit refused: ${where}`);
    assert.deepEqual(report.notes, [], where);
  }
}

/** The hash of producer 1's sequence 0 .. count - 1, as an "exact" consumer computes it. */
function expectedHash(count: number): number {
  let hash = CHAIN_START;
  for (let sequence = 0; sequence < count; sequence++) hash = chain(hash, 1, sequence);
  return hash;
}

/** An "exact" consumer read producer 1's whole sequence, in order. */
function assertWhole(report: StressReport, count: number, hash: number, context: string): void {
  assert.equal(report.moved, count, `${context}: consumer ${report.id} read ${report.moved} of ${count}`);
  assert.equal(report.counts[1], count, context);
  assert.equal(report.sums[1], (count * (count - 1)) / 2, `${context}: sum of sequences`);
  assert.equal(report.hash, hash, `${context}: consumer ${report.id} read another sequence`);
}

function assertStats(stats: RingStats, expected: Partial<RingStats>, context: string): void {
  const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, stats[key as keyof RingStats]]));
  assert.deepEqual(picked, expected, `${context}: ${JSON.stringify({ ...stats, roles: undefined })}`);
}

/** One producer Worker, one consumer Worker, on an SPSC ring; both modes and waits given. */
async function spsc(
  label: string,
  capacity: number,
  producer: Omit<SideOptions, "role" | "id" | "messages">,
  consumer: typeof producer,
) {
  using ring = Ring.spsc({ slot: 16, capacity });
  const sides: SideOptions[] = [
    { role: "producer", id: 1, messages: MESSAGES, ...producer },
    { role: "consumer", id: 1, messages: MESSAGES, check: "exact", ...consumer },
  ];
  const outcome = await stress(label, ring, setupsOf(ring, sides, { words: 4, maxBatch: 64, producers: 1 }));
  assertClean(outcome, label);
  assertWhole(outcome.reports[0], MESSAGES, expectedHash(MESSAGES), label);
  const expected = { pushed: MESSAGES, popped: MESSAGES, depth: 0, skipped: 0, lost: 0, producers: 1, consumers: 1 };
  assertStats(outcome.stats, expected, label);
  // A parking side waited in the kernel at least once (the consumer starts on an empty ring).
  assert.ok(outcome.stats.parks > 0 && outcome.stats.wakes > 0, `${label}: no park or no wake`);
}

test("Ring SPSC across Workers: 10M messages one at a time arrive intact, in order, once", async () => {
  await spsc("spsc single", 16, { wait: "backoff", mode: "single" }, { wait: "park", mode: "single" });
});

test("Ring SPSC across Workers: 10M messages in claim batches, peekBatch and drain", async () => {
  await spsc("spsc batch, capacity 64", 64, { wait: "park", mode: "batch" }, { wait: "backoff", mode: "mixed" });
});

/**
 * Two producer Workers, half the messages each, and two consumer Workers on an MPMC ring. With
 * `rejoinEvery`, every side closes its role and takes it again that often, and `watch` runs on
 * this thread meanwhile.
 */
async function mpmc(
  label: string,
  capacity: number,
  rejoinEvery?: number,
  watch?: (ring: Ring, total: number, control: Int32Array) => void,
) {
  const producers = 2;
  const each = Math.ceil(MESSAGES / producers);
  const bitmapWords = Math.ceil(each / 32);
  const bitmap = new SharedArrayBuffer(4 * bitmapWords * producers);
  using ring = Ring.mpmc({ slot: 16, capacity });
  const total = each * producers;
  const sides: SideOptions[] = [
    { role: "producer", id: 1, wait: "park", mode: "mixed", messages: each, rejoinEvery },
    { role: "producer", id: 2, wait: "backoff", mode: "single", messages: each, rejoinEvery },
    { role: "consumer", id: 1, wait: "park", mode: "mixed", messages: total, check: "shared", rejoinEvery },
    { role: "consumer", id: 2, wait: "backoff", mode: "batch", messages: total, check: "shared", rejoinEvery },
  ];
  const shape = { words: 4, maxBatch: 16, producers, bitmap, bitmapWords };
  const setups = setupsOf(ring, sides, shape);
  const outcome = await stress(label, ring, setups, (control) => watch?.(ring, total, control));
  assertClean(outcome, label);
  const consumers = outcome.reports.filter((report) => report.role === "consumer");
  for (let id = 1; id <= producers; id++) {
    const count = consumers.reduce((sum, report) => sum + report.counts[id], 0);
    const sum = consumers.reduce((total, report) => total + report.sums[id], 0);
    assert.equal(count, each, `${label}: producer ${id}'s messages read`);
    assert.equal(sum, (each * (each - 1)) / 2, `${label}: producer ${id}'s sum of sequences`);
  }
  // Both consumers took part (how much each gets depends on the scheduler: 4 Workers, 2 cores).
  assert.ok(consumers.every((report) => report.moved >= 1000), `${label}: a consumer read almost nothing`);
  const bits = new Int32Array(bitmap);
  for (let id = 1; id <= producers; id++) {
    for (let sequence = 0; sequence < each; sequence += 32) {
      const expected = each - sequence >= 32 ? -1 : (1 << (each - sequence)) - 1;
      const word = bits[(id - 1) * bitmapWords + (sequence >>> 5)];
      if (word !== expected) assert.fail(`${label}: producer ${id}, sequences from ${sequence}: bits ${word}`);
    }
  }
  const expected = { pushed: total, popped: total, depth: 0, skipped: 0, lateCommits: 0, producers: 2, consumers: 2 };
  assertStats(outcome.stats, expected, label);
  if (rejoinEvery === undefined) {
    assert.ok(outcome.stats.parks > 0 && outcome.stats.wakes > 0, `${label}: no park or no wake`);
  } else {
    const rejoins = outcome.reports.map((report) => report.rejoins);
    assert.ok(rejoins.every((count) => count > 10), `${label}: too few rejoins (${rejoins})`);
  }
}

test("Ring MPMC across Workers: 2 producers x 5M to 2 consumers, none lost, none twice, each in order", async () => {
  await mpmc("mpmc 2x2", 16);
});

/**
 * Reads the ring's stats in a loop until `total` messages are consumed (the Workers' control
 * word), noting in `regressions` each time pushed or popped went backwards; returns how many reads.
 */
function watchTotals(ring: Ring, total: number, control: Int32Array, regressions: string[]): number {
  let last = ring.stats();
  let samples = 0;
  const deadline = performance.now() + WORKER_LIMIT_MS;
  while (Atomics.load(control, CONTROL.consumed) < total && Atomics.load(control, CONTROL.broken) === 0) {
    if (performance.now() > deadline) break;
    const stats = ring.stats();
    samples++;
    if (stats.pushed < last.pushed || stats.popped < last.popped) {
      regressions.push(`pushed ${last.pushed} -> ${stats.pushed}, popped ${last.popped} -> ${stats.popped}`);
    }
    last = stats;
  }
  return samples;
}

test("Ring MPMC across Workers: pushed and popped never go backwards while sides leave and come back", async () => {
  const regressions: string[] = [];
  let samples = 0;
  await mpmc("mpmc 2x2, rejoining every 100", 256, 100, (ring, total, control) => {
    samples = watchTotals(ring, total, control, regressions);
  });
  // They count messages committed and released since creation (/tmp/ring_bugs.md 12).
  const context = `stats went backwards ${regressions.length} times in ${samples} reads`;
  assert.deepEqual(regressions.slice(0, 5), [], context);
  assert.ok(samples > 1000, context);
});

/** A broadcast producer and `gating` gating consumers (plus, with `slowEvery`, a slow "drop" one). */
function broadcastSides(gating: number, slowEvery?: number): SideOptions[] {
  const waits: WaitStrategy[] = ["park", "backoff", "yield"];
  const modes: Mode[] = ["mixed", "batch", "drain"];
  const sides: SideOptions[] = [{ role: "producer", id: 1, wait: "backoff", mode: "mixed", messages: MESSAGES }];
  for (let index = 0; index < gating; index++) {
    const wait = waits[index % waits.length];
    sides.push({ role: "consumer", id: index + 1, wait, mode: modes[index % modes.length], messages: MESSAGES });
  }
  if (slowEvery !== undefined) {
    sides.push({
      role: "consumer",
      id: gating + 1,
      wait: "park",
      mode: "mixed",
      messages: MESSAGES,
      check: "drop",
      onSlow: "drop",
      slowEvery,
    });
  }
  return sides.map((side) => side.role === "consumer" && side.check === undefined ? { ...side, check: "exact" } : side);
}

test("Ring broadcast across Workers: 3 gating consumers each read all 10M messages, in order", async () => {
  using ring = Ring.broadcast({ slot: 16, capacity: 64 });
  const label = "broadcast 3 gating";
  const setups = setupsOf(ring, broadcastSides(3), { words: 4, maxBatch: 64, producers: 1 });
  const outcome = await stress(label, ring, setups);
  assertClean(outcome, label);
  const hash = expectedHash(MESSAGES);
  for (const report of outcome.reports.filter((r) => r.role === "consumer")) assertWhole(report, MESSAGES, hash, label);
  const expected = { pushed: MESSAGES, popped: MESSAGES, depth: 0, lost: 0, producers: 1, consumers: 3 };
  assertStats(outcome.stats, expected, label);
  assert.ok(outcome.stats.parks > 0 && outcome.stats.wakes > 0, `${label}: no park or no wake`);
});

test("Ring broadcast across Workers: a slow drop consumer stalls no gating one and reads intact messages", async () => {
  const capacity = 256;
  using ring = Ring.broadcast({ slot: 64, capacity });
  const label = "broadcast 3 gating + 1 slow drop";
  const setups = setupsOf(ring, broadcastSides(3, 64), { words: 16, maxBatch: 64, producers: 1 });
  const outcome = await stress(label, ring, setups);
  assertClean(outcome, label);
  const hash = expectedHash(MESSAGES);
  const consumers = outcome.reports.filter((report) => report.role === "consumer");
  const drop = consumers.pop()!;
  for (const report of consumers) assertWhole(report, MESSAGES, hash, label);
  const context = `${label}: drop consumer read ${drop.moved}, lost ${drop.lost}, lag up to ${drop.maxLag}`;
  // Gated by the drop consumer, the producer could never have got a whole ring ahead of it.
  assert.ok(drop.maxLag > capacity, context);
  assert.ok(drop.lost > 0, context);
  assert.equal(drop.moved + drop.lost, MESSAGES, `every message read or counted lost: ${context}`);
  assert.equal(drop.counts[1], drop.moved, context);
  const expected = { pushed: MESSAGES, popped: MESSAGES, depth: 0, lost: drop.lost, producers: 1, consumers: 4 };
  assertStats(outcome.stats, expected, label);
});
