/**
 * Monitor: alerts fire and clear at the right values with hysteresis (no flapping), counter
 * rules fire on increases, rings and other objects can be watched, a throwing callback does
 * not stop monitoring (on check() and on the timer), and options are checked.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Alert, Monitor, Pool, Ring, SizeClassPool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

/** The levels of `alerts` for objects named `name`, as "previous>level" strings. */
function levels(alerts: Alert[], name: string): string[] {
  return alerts.filter((alert) => alert.name === name).map((alert) => `${alert.previous ?? "none"}>${alert.level}`);
}

test("Monitor: utilisation warns and escalates at once, and steps down only past the hysteresis", () => {
  const name = `util-${crypto.randomUUID()}`;
  using pool = new Pool({ blockSize: 8, capacity: 100, name });
  using monitor = new Monitor({
    rules: [{ metric: "utilisation", warn: 0.8, critical: 0.95, name }],
    onAlert: () => {},
    interval: 0,
  });
  const held: number[] = [];
  const fillTo = (count: number) => {
    while (held.length < count) held.push(pool.alloc());
    while (held.length > count) pool.free(held.pop()!);
    return levels(monitor.check(), name);
  };
  assert.deepEqual(fillTo(79), []);
  assert.deepEqual(fillTo(80), ["none>warn"]);
  for (let round = 0; round < 5; round++) {
    assert.deepEqual(fillTo(79), [], "0.79 holds the warning (hysteresis 0.05): no flapping");
    assert.deepEqual(fillTo(81), []);
  }
  assert.deepEqual(fillTo(75), []);
  assert.deepEqual(fillTo(74), ["warn>clear"]);
  assert.deepEqual(fillTo(96), ["none>critical"]);
  assert.deepEqual(fillTo(91), [], "0.91 holds critical");
  assert.deepEqual(fillTo(89), ["critical>warn"]);
  assert.deepEqual(fillTo(10), ["warn>clear"]);
  const [alert] = (fillTo(100), monitor.check(), fillTo(0), []) as Alert[];
  assert.equal(alert, undefined);
});

test("Monitor: failed allocations and growths alert on an increase and clear on a check without one", () => {
  const name = `counters-${crypto.randomUUID()}`;
  using fixed = new Pool({ blockSize: 8, capacity: 2, name });
  using growing = new Pool({ blockSize: 8, capacity: 2, grow: { chunk: 2, maxCapacity: 8 }, name });
  const seen: Alert[] = [];
  using monitor = new Monitor({
    rules: [{ metric: "failedAllocations", critical: 1, name }, { metric: "growths", warn: 1, name }],
    onAlert: (alert) => seen.push(alert),
    interval: 0,
  });
  assert.deepEqual(levels(monitor.check(), name), []);
  fixed.alloc();
  fixed.alloc();
  assert.equal(fixed.tryAlloc(), -1);
  assert.equal(fixed.tryAlloc(), -1);
  for (let index = 0; index < 3; index++) growing.alloc();
  const raised = monitor.check().filter((alert) => alert.name === name);
  assert.deepEqual(raised.map((alert) => [alert.target === fixed, alert.rule.metric, alert.value, alert.level]), [
    [true, "failedAllocations", 2, "critical"],
    [false, "growths", 1, "warn"],
  ]);
  assert.deepEqual(levels(monitor.check(), name), ["critical>clear", "warn>clear"]);
  assert.equal(seen.filter((alert) => alert.name === name).length, 4, "onAlert saw every transition");
});

test("Monitor: a watched ring's lag, a SizeClassPool's fragmentation, and closed objects drop out", () => {
  const name = `ring-${crypto.randomUUID()}`;
  using ring = Ring.spsc({ slot: 8, capacity: 16, name: undefined });
  Object.defineProperty(ring, "name", { value: name });
  using classes = new SizeClassPool({ capacity: 8, name });
  using monitor = new Monitor({
    rules: [{ metric: "ringLag", warn: 5, name }, { metric: "fragmentation", warn: 0.3, name }],
    onAlert: () => {},
    interval: 0,
  });
  monitor.watch(ring);
  const producer = ring.producer();
  const consumer = ring.consumer();
  for (let index = 0; index < 6; index++) {
    assert.ok(producer.tryClaim() >= 0);
    producer.commit();
  }
  classes.alloc(33); // a 64-byte block for 33 bytes: fragmentation 0.48
  const raised = monitor.check().filter((alert) => alert.name === name);
  assert.deepEqual(raised.map((alert) => [alert.kind, alert.rule.metric, alert.level]), [
    ["Ring", "ringLag", "warn"], // rings are tracked like pools (created first, checked first)
    ["SizeClassPool", "fragmentation", "warn"],
  ]);
  assert.equal(raised[0].value, 6);
  assert.equal(consumer.drain(16, () => {}), 6);
  assert.deepEqual(levels(monitor.check(), name), ["warn>clear"]);
  const before = monitor.stats().watched;
  classes.close();
  ring.close();
  monitor.check(); // the ring's stats() now throws CLOSED: it is dropped, not counted as an error
  assert.equal(monitor.stats().watched, before - 2);
  assert.equal(monitor.stats().errors, 0);
});

test("Monitor: a throwing callback or stats() does not stop monitoring, on check() and on the timer", async () => {
  const name = `throws-${crypto.randomUUID()}`;
  using pool = new Pool({ blockSize: 8, capacity: 4, name });
  const errors: unknown[] = [];
  let calls = 0;
  const alerted = Promise.withResolvers<void>();
  using monitor = new Monitor({
    rules: [{ metric: "utilisation", warn: 0.5, name }],
    onAlert: () => {
      calls++;
      if (calls >= 2) alerted.resolve();
      throw new Error("a broken alert handler");
    },
    onError: (error) => errors.push(error),
    interval: 5,
  });
  monitor.watch({ name, closed: false, stats: () => ({ offset: 9, capacity: 10 }) });
  monitor.watch({
    name,
    closed: false,
    stats: () => {
      throw new Error("a broken object");
    },
  });
  pool.alloc();
  pool.alloc();
  // The monitor's timer does not keep the event loop alive (by design): this one does.
  const guard = setTimeout(() => alerted.reject(new Error("no alert from the timer in 10 s")), 10_000);
  await alerted.promise.finally(() => clearTimeout(guard));
  assert.ok(calls >= 2, "both alerts were delivered although the first handler threw");
  assert.ok(errors.length >= 2);
  assert.ok(monitor.stats().errors >= errors.length);
  assert.ok(monitor.stats().checks >= 1);
});

test("Monitor refuses bad options and bad watches, and is CLOSED after close", () => {
  const onAlert = () => {};
  const bad: unknown[] = [
    null,
    {},
    { rules: [], onAlert },
    { rules: "x", onAlert },
    { rules: [{ metric: "heat", warn: 1 }], onAlert },
    { rules: [{ metric: "utilisation" }], onAlert },
    { rules: [{ metric: "utilisation", warn: -1 }], onAlert },
    { rules: [{ metric: "utilisation", warn: NaN }], onAlert },
    { rules: [{ metric: "utilisation", warn: 1n }], onAlert },
    { rules: [{ metric: "utilisation", warn: 0.9, critical: 0.5 }], onAlert },
    { rules: [{ metric: "utilisation", warn: 0.9, name: 5 }], onAlert },
    { rules: [{ metric: "utilisation", warn: 0.9 }] },
    { rules: [{ metric: "utilisation", warn: 0.9 }], onAlert, onError: 5 },
    { rules: [{ metric: "utilisation", warn: 0.9 }], onAlert, interval: -1 },
    { rules: [{ metric: "utilisation", warn: 0.9 }], onAlert, interval: 1.5 },
    { rules: [{ metric: "utilisation", warn: 0.9 }], onAlert, interval: Symbol("x") },
  ];
  for (const options of bad) assertCode(() => new Monitor(options as never), "INVALID_ARGUMENT");
  const monitor = new Monitor({ rules: [{ metric: "growths", warn: 1 }], onAlert, interval: 0 });
  for (const value of [null, 5, {}, "pool"]) assertCode(() => monitor.watch(value as never), "INVALID_ARGUMENT");
  monitor.close();
  monitor.close();
  assertCode(() => monitor.check(), "CLOSED");
  assertCode(() => monitor.watch({ name: "", closed: false, stats: () => ({}) }), "CLOSED");
});
