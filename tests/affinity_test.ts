/**
 * `affinity` and `numa.currentCpu/currentNode` on the calling thread: reads agree with each
 * other, a set comes back from get, and every bad input is an INVALID_ARGUMENT that changes
 * nothing. Each test puts the thread's mask back (tests/workers/affinity_test.ts pins Workers).
 *
 * @module
 */
import assert from "node:assert/strict";
import { affinity, CPUS_MAX, numa } from "../mod.ts";
import { assertCode, test } from "./harness.ts";
import { NOT_INTEGERS_OR_UNDEFINED } from "./hostile_values.ts";

/** Runs `body`, then restores the calling thread's mask. */
function keepingMask(body: (before: number[]) => void): void {
  const before = affinity.get();
  try {
    body(before);
  } finally {
    affinity.set(before);
  }
}

test("affinity.get lists the calling thread's CPUs in order, all allowed, including the one it runs on", () => {
  const cpus = affinity.get();
  const allowed = affinity.allowed();
  assert.ok(cpus.length >= 1);
  assert.deepEqual(cpus, [...cpus].sort((a, b) => a - b));
  for (const cpu of cpus) assert.ok(allowed.includes(cpu), `CPU ${cpu} of the mask is not allowed`);
  assert.ok(cpus.includes(numa.currentCpu()), `running on ${numa.currentCpu()}, mask ${cpus}`);
  assert.ok(Number.isInteger(numa.currentNode()) && numa.currentNode() >= 0);
  assert.ok(allowed.every((cpu) => Number.isInteger(cpu) && cpu >= 0 && cpu < CPUS_MAX));
});

test("affinity.set and pin narrow the calling thread's mask; get reads it back; repeats are ignored", () => {
  keepingMask(() => {
    const allowed = affinity.allowed();
    const cpu = allowed[allowed.length - 1];
    affinity.pin(cpu);
    assert.deepEqual(affinity.get(), [cpu]);
    for (let read = 0; read < 1000; read++) assert.equal(numa.currentCpu(), cpu);
    affinity.set([cpu, cpu, allowed[0]]);
    assert.deepEqual(affinity.get(), [...new Set([allowed[0], cpu])].sort((a, b) => a - b));
    affinity.set(allowed);
    assert.deepEqual(affinity.get(), allowed);
  });
});

test("affinity.set refuses CPUs the kernel does not allow, naming the CPU, and changes nothing", () => {
  keepingMask((before) => {
    const allowed = affinity.allowed();
    const missing = Array.from({ length: CPUS_MAX }, (_, cpu) => cpu).filter((cpu) => !allowed.includes(cpu));
    if (missing.length === 0) return; // a machine with 1024 CPUs, all allowed
    const outside = missing[missing.length - 1];
    assertCode(() => affinity.set([allowed[0], outside]), "INVALID_ARGUMENT", `CPU ${outside} `);
    assertCode(() => affinity.pin(outside), "INVALID_ARGUMENT", `CPU ${outside} `);
    assert.deepEqual(affinity.get(), before);
  });
});

test("affinity.set and pin refuse what is not a list of CPU numbers from 0 to 1023", () => {
  keepingMask((before) => {
    const bad: unknown[] = [...NOT_INTEGERS_OR_UNDEFINED.map(([, value]) => value), -1, CPUS_MAX, 2 ** 32];
    for (const value of bad) {
      assertCode(() => affinity.pin(value as number), "INVALID_ARGUMENT", "cpu");
      assertCode(() => affinity.set([value as number]), "INVALID_ARGUMENT", "cpus[0]");
    }
    for (const value of [undefined, null, 0, "0", new Set([0]), { length: 1, 0: 0 }, new Uint8Array(1)]) {
      assertCode(() => affinity.set(value as never), "INVALID_ARGUMENT", "cpus must be an array");
    }
    assertCode(() => affinity.set([]), "INVALID_ARGUMENT", "empty");
    assertCode(() => affinity.set(new Array(CPUS_MAX * 4 + 1).fill(0)), "INVALID_ARGUMENT", "entries");
    assert.deepEqual(affinity.get(), before);
  });
});

test("affinity.set reads a lying array once per element and keeps -0 as CPU 0", () => {
  keepingMask(() => {
    const allowed = affinity.allowed();
    let reads = 0;
    const lying = [0];
    Object.defineProperty(lying, 0, {
      get: () => (reads++ === 0 ? allowed[0] : Symbol("changed")),
    });
    affinity.set(lying);
    assert.equal(reads, 1);
    assert.deepEqual(affinity.get(), [allowed[0]]);
    if (allowed.includes(0)) {
      affinity.set([-0]);
      assert.deepEqual(affinity.get(), [0]);
    }
    class Shifty extends Array<number> {}
    const shifty = Shifty.from([allowed[0]]);
    affinity.set(shifty);
    assert.deepEqual(affinity.get(), [allowed[0]]);
  });
});

test("affinity and numa objects are frozen", () => {
  assert.ok(Object.isFrozen(affinity) && Object.isFrozen(numa));
  assert.throws(() => {
    (affinity as { get: unknown }).get = () => [];
  }, TypeError);
});
