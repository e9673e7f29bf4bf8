/**
 * Ring's "park" wait across threads (tests/workers/ring_park_worker.ts):
 * - a consumer Worker parked on an empty ring for a second costs the process almost no CPU, and
 *   a push from the main thread wakes it promptly; stats count the parks and the wake-up;
 * - `pollAsync` on the main thread leaves the event loop free and resolves when a Worker
 *   pushes (Deno: a nonblocking FFI park; Bun: timer polling).
 * Time bounds are generous sanity bounds (park slices are at most 100 ms), not benchmarks.
 *
 * @module
 */
import assert from "node:assert/strict";
import process from "node:process";
import { Ring } from "../../mod.ts";
import { runtime, test } from "../harness.ts";
import { ID, SEQUENCE, slotWords, verify, writeMessage } from "../processes/ring_messages.ts";
import { WORDS } from "./ring_park_worker.ts";

const workerUrl = new URL("./ring_park_worker.ts", import.meta.url).href;
const REPLY_LIMIT_MS = 30_000;
/** At most this share of one core while the consumer is parked (CPU time of every thread). */
const IDLE_CPU_SHARE_MAX = 0.05;
const WAKE_LIMIT_MS = 1000;

type Reply = { type: string; [key: string]: unknown };

/** A Worker and the messages it sent that nobody took yet; `using` ends it. */
class Inbox {
  readonly worker = new Worker(workerUrl, { type: "module" });
  readonly #queue: (Reply | Error)[] = [];
  #wake: (() => void) | undefined;

  constructor() {
    this.worker.onmessage = (event: MessageEvent) => this.#push(event.data as Reply);
    this.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#push(new Error(`the Worker failed: ${event.message}`));
    };
  }

  #push(item: Reply | Error): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  /** The next message, which must be of type `expected`. */
  async next(expected: string): Promise<Reply> {
    const deadline = Date.now() + REPLY_LIMIT_MS;
    while (this.#queue.length === 0) {
      if (Date.now() > deadline) throw new Error(`no "${expected}" from the Worker in ${REPLY_LIMIT_MS} ms`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    const item = this.#queue.shift()!;
    if (item instanceof Error) throw item;
    if (item.type !== expected) throw new Error(`the Worker sent ${item.type} (${String(item.message)})`);
    return item;
  }

  [Symbol.dispose](): void {
    this.worker.terminate();
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Waits until `condition` holds (checked every 10 ms), failing after `milliseconds`. */
async function until(condition: () => boolean, milliseconds: number, what: string): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${milliseconds} ms`);
    await sleep(10);
  }
}

/** CPU time (user + system, every thread of the process) in ms. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

test("Ring park: a parked consumer Worker uses almost no CPU, and a push from the main thread wakes it", async () => {
  using ring = Ring.spsc({ slot: 4 * WORDS, capacity: 64 });
  using inbox = new Inbox();
  inbox.worker.postMessage({ type: "consume", descriptor: ring.share() });
  await inbox.next("ready");
  await until(() => ring.stats().parks > 0, 5000, "the consumer parks");
  const parksBefore = ring.stats().parks;
  const cpuBefore = cpuMs();
  const idleStart = performance.now();
  await sleep(1000);
  const idleMs = performance.now() - idleStart;
  const share = (cpuMs() - cpuBefore) / idleMs;
  const idle = ring.stats();
  const context = JSON.stringify({ runtime, idleMs, share, parksBefore, parks: idle.parks });
  assert.ok(share < IDLE_CPU_SHARE_MAX, `CPU while the consumer was parked: ${context}`);
  // Each park lasts at most 100 ms: a second of waiting is several parks, and no message came.
  assert.ok(idle.parks >= parksBefore + 2, `the consumer did not keep parking: ${context}`);
  assert.equal(idle.popped, 0);

  const producer = ring.producer();
  const wakesBefore = ring.stats().wakes;
  const pushed = performance.now();
  const slot = producer.tryClaim();
  writeMessage(slotWords(producer), slot, WORDS, 1, 4242);
  assert.equal(producer.commit(), true);
  const woke = await inbox.next("woke");
  const latencyMs = performance.now() - pushed;
  assert.deepEqual(woke, { type: "woke", count: 1, id: 1, sequence: 4242, intact: true });
  assert.ok(latencyMs < WAKE_LIMIT_MS, `woken ${latencyMs} ms after the push`);
  const after = ring.stats();
  console.log(
    JSON.stringify({ ...JSON.parse(context), latencyMs, wakes: after.wakes, emptyEvents: after.emptyEvents }),
  );
  // The producer saw the consumer parked and made the wake-up call (it is parked all but a few
  // microseconds of each 100 ms slice).
  assert.ok(after.wakes > wakesBefore, `no wake-up call: ${JSON.stringify(after)}`);
  assert.equal(after.popped, 1);
  inbox.worker.postMessage({ type: "close" });
  await inbox.next("closed");
});

test("Ring pollAsync: the main thread's wait leaves its event loop free and ends when a Worker pushes", async () => {
  using ring = Ring.spsc({ slot: 4 * WORDS, capacity: 64 });
  const consumer = ring.consumer({ wait: "park" });
  using inbox = new Inbox();
  inbox.worker.postMessage({ type: "produce", descriptor: ring.share() });
  await inbox.next("ready");
  let settled = false;
  const polled = consumer.pollAsync(20_000).finally(() => settled = true);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  try {
    await sleep(400);
    assert.equal(settled, false, "pollAsync ended with nothing in the ring");
    // The event loop ran the timer all along (at least a quarter of the 40 ticks it could).
    assert.ok(ticks >= 10, `only ${ticks} timer ticks while pollAsync waited`);
    const pushed = performance.now();
    inbox.worker.postMessage({ type: "push", sequence: 77 });
    await inbox.next("pushed");
    const count = await polled;
    const latencyMs = performance.now() - pushed;
    assert.equal(count, 1);
    assert.ok(latencyMs < WAKE_LIMIT_MS, `pollAsync ended ${latencyMs} ms after the push`);
    const slot = consumer.tryPeek();
    assert.ok(slot >= 0);
    const view = slotWords(consumer);
    const at = view.base + slot * view.stride;
    assert.deepEqual([view.words[at + ID], view.words[at + SEQUENCE], verify(view, slot, WORDS)], [1, 77, true]);
    consumer.release();
    const stats = ring.stats();
    console.log(JSON.stringify({ runtime, ticks, latencyMs, parks: stats.parks, emptyEvents: stats.emptyEvents }));
    // Deno parks on one of its FFI threads; Bun polls on timers and never parks.
    if (runtime === "deno") assert.ok(stats.parks > 0, `pollAsync never parked: ${JSON.stringify(stats)}`);
    else assert.equal(stats.parks, 0);
  } finally {
    clearInterval(ticker);
  }
  inbox.worker.postMessage({ type: "close" });
  await inbox.next("closed");
});
