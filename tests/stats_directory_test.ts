/**
 * The counter directory within one process: what `publishCounters()` writes is what each
 * object's own stats() says, objects come and go, a Worker publishes its own objects into the
 * same directory, a terminated Worker's entries read as dead, a full directory is counted, and
 * hostile options are refused. Every test uses a private directory (never /dev/shm itself).
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  Arena,
  CounterPublisher,
  listCounters,
  Monitor,
  NumaPool,
  Pool,
  publishCounters,
  readCounters,
  removeDeadCounters,
  Ring,
  SharedPool,
  SizeClassPool,
} from "../mod.ts";
import { assertCode, test } from "./harness.ts";
import { NOT_INTEGERS } from "./hostile_values.ts";

/** A fresh directory of its own (in /tmp: Deno wants --allow-all to create one in /dev). */
function privateDirectory(): string {
  return mkdtempSync(join(tmpdir(), "hotpath-test-stats-"));
}

function published(directory: string, name: string) {
  return readCounters(process.pid, { directory }).objects.filter((object) => object.name === name);
}

test("publishCounters: every kind's published counters equal its own stats()", () => {
  const directory = privateDirectory();
  const publisher = publishCounters({ directory, interval: 60_000 });
  try {
    using pool = new Pool({ blockSize: 64, capacity: 100, name: "orders", placement: { node: 0 } });
    using arena = new Arena({ capacity: 4096, name: "scratch" });
    using classes = new SizeClassPool({ classes: [16, 64], capacity: 8, name: "sizes" });
    using shared = new SharedPool({ blockSize: 32, capacity: 64, name: undefined });
    using numaPool = new NumaPool({ blockSize: 64, capacity: 16, name: "local" });
    using ring = Ring.spsc({ slot: 8, capacity: 16 });
    for (let index = 0; index < 30; index++) pool.alloc();
    pool.free(pool.alloc());
    arena.alloc(3, 1);
    arena.alloc(8, 8); // 5 bytes skipped to align: waste 5 of 16
    classes.alloc(33);
    shared.alloc();
    numaPool.alloc();
    const producer = ring.producer();
    for (let index = 0; index < 3; index++) {
      producer.tryClaim();
      producer.commit();
    }
    assert.equal(publisher.publish(), 6);
    const [orders] = published(directory, "orders");
    const stats = pool.stats();
    assert.deepEqual(
      [orders.kind, orders.node, orders.capacity, orders.inUse, orders.highWater, orders.allocations, orders.frees],
      ["Pool", 0, stats.capacity, 30, stats.highWater, 31, 1],
    );
    assert.ok(orders.tid > 0, "the publishing thread"); // Deno's test runner is not the main thread
    assert.equal(orders.consistent, true);
    assert.equal(orders.intervalMs, 60_000);
    assert.ok(orders.ageMs >= 0 && !orders.stale);
    const [scratch] = published(directory, "scratch");
    assert.deepEqual([scratch.inUse, scratch.allocations, scratch.fragmentation], [16, 2, 5 / 16]);
    assert.equal(arena.stats().fragmentation, 5 / 16);
    const [sizes] = published(directory, "sizes");
    assert.equal(sizes.fragmentation, classes.stats().total.fragmentation);
    const [numa] = published(directory, "local");
    assert.deepEqual([numa.kind, numa.node, numa.inUse], ["NumaPool", numaPool.nodes[0], 1]);
    const rings = readCounters(process.pid, { directory }).objects.filter((object) => object.kind === "Ring");
    assert.deepEqual(rings.map((object) => [object.allocations, object.inUse, object.ringLag]), [[3, 3, 3]]);
    const sharedPools = readCounters(process.pid, { directory }).objects.filter((o) => o.kind === "SharedPool");
    assert.deepEqual(sharedPools.map((object) => object.inUse), [shared.stats().inUse]);
    publisher.close();
    assert.equal(existsSync(`${directory}/hotpath-stats-${process.pid}`), false, "the last close removes the file");
  } finally {
    publisher.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("publishCounters: closed objects leave the directory, new ones join, alerts are published", () => {
  const directory = privateDirectory();
  try {
    using publisher = publishCounters({ directory, interval: 60_000 });
    const first = new Pool({ blockSize: 8, capacity: 10, name: "first" });
    publisher.publish();
    assert.equal(published(directory, "first").length, 1);
    first.close();
    using second = new Pool({ blockSize: 8, capacity: 10, name: "second" });
    using monitor = new Monitor({ rules: [{ metric: "utilisation", warn: 0.5 }], onAlert: () => {}, interval: 0 });
    for (let index = 0; index < 6; index++) second.alloc();
    monitor.check();
    publisher.publish();
    assert.equal(published(directory, "first").length, 0);
    class OrderPool extends Pool {}
    using subclassed = new OrderPool({ blockSize: 8, capacity: 4, name: "subclassed" });
    subclassed.alloc();
    publisher.publish();
    assert.deepEqual(published(directory, "subclassed").map((object) => [object.kind, object.inUse]), [["Pool", 1]]);
    assert.equal(published(directory, "second")[0].alertLevel, 1);
    assert.equal(publisher.stats().entries, readCounters(process.pid, { directory }).objects.length);
    monitor.close();
    publisher.publish();
    assert.equal(published(directory, "second")[0].alertLevel, 0, "a closed monitor's alerts are gone");
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test("publishCounters: a full directory publishes the first 256 objects and counts the rest", () => {
  const directory = privateDirectory();
  const pools: Pool[] = [];
  try {
    using publisher = publishCounters({ directory, interval: 60_000 });
    for (let index = 0; index < 260; index++) pools.push(new Pool({ blockSize: 8, capacity: 1, name: `p${index}` }));
    publisher.publish();
    const seen = readCounters(process.pid, { directory });
    assert.ok(seen.objects.length <= 256 && seen.objects.length >= 250, `${seen.objects.length} objects shown`);
    assert.ok(publisher.stats().unpublished >= 4);
    assert.ok(seen.overflow >= 4);
    for (const pool of pools.splice(0, 10)) pool.close();
    publisher.publish(); // room again: every open pool is shown
    assert.equal(publisher.stats().unpublished, 0);
  } finally {
    for (const pool of pools) pool.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("publishCounters: a Worker publishes into the same directory; a terminated one reads as dead", async () => {
  const directory = privateDirectory();
  try {
    using publisher = publishCounters({ directory, interval: 60_000 });
    using mine = new Pool({ blockSize: 8, capacity: 10, name: "main-pool" });
    mine.alloc();
    publisher.publish();
    const worker = new Worker(new URL("./workers/stats_worker.ts", import.meta.url).href, { type: "module" });
    const reply = await new Promise<{ published: number }>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent) => resolve(event.data as { published: number });
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      worker.postMessage({ directory });
    });
    const both = readCounters(process.pid, { directory }).objects;
    const workerPool = both.find((object) => object.name === "worker-pool")!;
    assert.deepEqual([workerPool.inUse, workerPool.allocations], [3, 3]);
    assert.notEqual(workerPool.tid, process.pid, "the Worker's own thread published it");
    worker.terminate(); // without closing its publisher
    let after = readCounters(process.pid, { directory });
    for (let attempt = 0; attempt < 200 && after.deadThreadEntries === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // the thread takes a moment to end
      after = readCounters(process.pid, { directory });
    }
    assert.equal(after.deadThreadEntries, 1, "the terminated Worker's entry is recognised as dead");
    assert.deepEqual(after.objects.map((object) => object.name), ["main-pool"]);
    assert.equal(reply.published, 1);
    publisher.close();
    assert.equal(existsSync(`${directory}/hotpath-stats-${process.pid}`), false, "the Worker does not keep the file");
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test("publishCounters and the readers refuse bad options, bad pids and absent directories", () => {
  const directory = privateDirectory();
  try {
    for (const [label, value] of [...NOT_INTEGERS, ["-0", -0], ["9", 9], ["too slow", 3_600_001]]) {
      assertCode(() => publishCounters({ interval: value as number, directory }), "INVALID_ARGUMENT", "interval");
      assert.ok(label);
    }
    for (const bad of [1n, Symbol("x"), "relative/dir", "/a\0b", `/${"x".repeat(200)}`, 5]) {
      assertCode(() => publishCounters({ directory: bad as string }), "INVALID_ARGUMENT");
      assertCode(() => listCounters({ directory: bad as string }), "INVALID_ARGUMENT");
    }
    assertCode(() => publishCounters(null as never), "INVALID_ARGUMENT");
    assertCode(() => publishCounters({ directory: `${directory}/absent` }), "INVALID_ARGUMENT");
    for (const pid of [0, -1, 1.5, NaN, 2 ** 22, 1n, "1", Symbol("p")]) {
      assertCode(() => readCounters(pid as number, { directory }), "INVALID_ARGUMENT");
    }
    assertCode(() => readCounters(process.pid, { directory }), "NOT_FOUND");
    assert.deepEqual(listCounters({ directory }), { processes: [], dead: [] });
    assert.deepEqual(removeDeadCounters({ directory }), []);
    const publisher = publishCounters({ directory });
    assertCode(() => publishCounters({ directory }), "INVALID_ARGUMENT", "already publishes");
    assertCode(() => new CounterPublisher({ directory }), "INVALID_ARGUMENT", "already publishes");
    publisher.close();
    publisher.close();
    assertCode(() => publisher.publish(), "CLOSED");
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
