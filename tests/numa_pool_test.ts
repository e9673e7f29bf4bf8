/**
 * NumaPool: on this machine (one node, pools bound to it for real, pages checked with
 * move_pages) and on the four-node fixture machine (tests/fixtures/topology/four_nodes), where
 * the calling thread's CPU is chosen by the test: the policies, fallback by SLIT distance, the
 * node each handle names, a fast-check model, and hostile handles and options.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { affinity, numa, type NumaPolicy, NumaPool } from "../mod.ts";
import { pinnedCpu } from "../src/affinity.ts";
import { numaPoolOn } from "../src/numa_pool.ts";
import { nodeFactsOf } from "../src/numa_nodes.ts";
import { readTopology } from "../src/numa_topology.ts";
import { assertCode, test } from "./harness.ts";
import { NOT_INTEGERS_OR_UNDEFINED } from "./hostile_values.ts";

const fixtures = fileURLToPath(new URL("./fixtures/topology", import.meta.url));
/** Nodes 0, 1, 2 have memory (2 has no CPU); node 3 (CPUs 4, 5, 7) has none; CPU 6 is offline. */
const fourNodes = nodeFactsOf(readTopology(join(fixtures, "four_nodes")));

/** A NumaPool on the four-node machine whose calling thread runs on `cpu.value`. */
function onFourNodes(policy: NumaPolicy, capacity: number, cpu: { value: number }, nodes?: number[]) {
  return numaPoolOn({ blockSize: 32, capacity, policy, nodes }, {
    facts: fourNodes,
    currentCpu: () => cpu.value,
    bind: false,
  });
}

test("NumaPool on this machine: blocks from the thread's node, bound there, handles name it", () => {
  using pool = new NumaPool({ blockSize: 64, capacity: 4096 });
  assert.deepEqual(pool.nodes, numa.topology().nodes.filter((node) => node.memoryBytes > 0).map((node) => node.id));
  assert.equal(pool.policy, "LocalPreferred");
  const handles = Array.from({ length: 4096 * pool.nodes.length }, () => pool.alloc());
  assert.equal(new Set(handles).size, handles.length, "no handle twice");
  for (const handle of handles.slice(0, 64)) {
    const node = pool.nodeOf(handle);
    assert.ok(pool.nodes.includes(node));
    const where = numa.whereIs(pool.view(handle));
    assert.equal(where.byNode[node], where.pages, `block ${handle} lives on node ${node}`);
  }
  for (const node of pool.nodes) {
    const placed = numa.placementOf(pool.poolOf(node));
    assert.deepEqual([placed.requested?.policy, placed.requested?.nodes], ["bind", [node]]);
  }
  assert.equal(pool.tryAlloc(), -1);
  assertCode(() => pool.alloc(), "POOL_EXHAUSTED");
  for (const handle of handles) pool.free(handle);
  const stats = pool.stats();
  assert.equal(stats.total.inUse, 0);
  assert.equal(stats.total.allocations, handles.length);
  assert.equal(stats.failedAllocations, 2);
});

test("NumaPool LocalPreferred falls back nearest first by distance, and counts it", () => {
  const cpu = { value: 0 }; // node 0: nearest 0, then 1 and 2 (both 16: lower number first)
  using pool = onFourNodes("LocalPreferred", 2, cpu);
  assert.deepEqual(pool.nodes, [0, 1, 2]);
  const nodesOf = (count: number) => Array.from({ length: count }, () => pool.nodeOf(pool.alloc()));
  assert.deepEqual(nodesOf(6), [0, 0, 1, 1, 2, 2]);
  assert.equal(pool.tryAlloc(), -1);
  const stats = pool.stats();
  assert.deepEqual(stats.nodes.map((node) => node.fallbacks), [0, 2, 2]);
  assert.equal(stats.fallbacks, 4);
  assert.equal(stats.failedAllocations, 1);
});

test("NumaPool maps a CPU of a memory-less node to its nearest memory node", () => {
  const cpu = { value: 7 }; // node 3 has no memory; nodes 1 and 2 are at 16, node 1 wins the tie
  using pool = onFourNodes("LocalPreferred", 1, cpu);
  assert.equal(pool.nodeOf(pool.alloc()), 1);
  cpu.value = 2;
  assert.equal(pool.nodeOf(pool.alloc()), 0, "node 1 is full: node 0 is next for a thread on node 1");
  cpu.value = 6; // offline: not in the table, served by the first node
  assert.equal(pool.nodeOf(pool.alloc()), 2);
});

test("NumaPool LocalOnly never leaves the thread's node", () => {
  const cpu = { value: 3 };
  using pool = onFourNodes("LocalOnly", 2, cpu);
  assert.deepEqual([pool.nodeOf(pool.alloc()), pool.nodeOf(pool.alloc())], [1, 1]);
  assert.equal(pool.tryAlloc(), -1);
  assertCode(() => pool.alloc(), "POOL_EXHAUSTED", "this thread's node");
  cpu.value = 0;
  assert.equal(pool.nodeOf(pool.alloc()), 0);
  assert.equal(pool.stats().fallbacks, 0);
});

test("NumaPool RoundRobin takes nodes in turn and skips a full one; Interleaved stops at it", () => {
  const cpu = { value: 0 };
  using robin = onFourNodes("RoundRobin", 2, cpu);
  assert.deepEqual(Array.from({ length: 6 }, () => robin.nodeOf(robin.alloc())), [0, 1, 2, 0, 1, 2]);
  using skipping = onFourNodes("RoundRobin", 3, cpu, [0, 2]);
  const node0 = skipping.poolOf(0);
  const held = [node0.alloc(), node0.alloc(), node0.alloc()];
  assert.deepEqual([skipping.nodeOf(skipping.alloc()), skipping.nodeOf(skipping.alloc())], [2, 2]);
  assert.equal(skipping.stats().fallbacks, 1);
  for (const block of held) node0.free(block);
  using interleaved = onFourNodes("Interleaved", 1, cpu);
  assert.deepEqual(Array.from({ length: 3 }, () => interleaved.nodeOf(interleaved.alloc())), [0, 1, 2]);
  assert.equal(interleaved.tryAlloc(), -1);
});

test("NumaPool matches a model of per-node free blocks under random threads, allocs and frees", () => {
  const policies: NumaPolicy[] = ["LocalPreferred", "LocalOnly", "RoundRobin", "Interleaved"];
  const step = fc.oneof(
    fc.record({ kind: fc.constant("alloc" as const), cpu: fc.constantFrom(0, 1, 2, 3, 4, 5, 7) }),
    fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...policies), fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 60 }), (
      policy,
      capacity,
      steps,
    ) => {
      const cpu = { value: 0 };
      using pool = onFourNodes(policy, capacity, cpu);
      const free = new Map(pool.nodes.map((node) => [node, capacity]));
      const live: number[] = [];
      let turn = 0;
      for (const action of steps) {
        if (action.kind === "free") {
          if (live.length === 0) continue;
          const [handle] = live.splice(action.pick % live.length, 1);
          free.set(pool.nodeOf(handle), free.get(pool.nodeOf(handle))! + 1);
          pool.free(handle);
          continue;
        }
        cpu.value = action.cpu;
        const local = fourNodes.memoryNodeOfCpu[action.cpu];
        const first = policy === "RoundRobin" || policy === "Interleaved" ? pool.nodes[turn++ % 3] : local;
        const candidates = policy === "LocalPreferred"
          ? fourNodes.nearest.get(first)!
          : policy === "RoundRobin"
          ? [0, 1, 2].map((offset) => pool.nodes[(pool.nodes.indexOf(first) + offset) % 3])
          : [first];
        const expected = candidates.find((node) => free.get(node)! > 0);
        const handle = pool.tryAlloc();
        if (expected === undefined) {
          assert.equal(handle, -1);
          continue;
        }
        assert.equal(pool.nodeOf(handle), expected);
        assert.ok(!live.includes(handle));
        free.set(expected, free.get(expected)! - 1);
        live.push(handle);
      }
      const stats = pool.stats();
      assert.deepEqual(stats.nodes.map((node) => node.inUse), pool.nodes.map((node) => capacity - free.get(node)!));
    }),
    { numRuns: 200 },
  );
});

test("NumaPool refuses hostile handles, options and nodes, and everything after close", () => {
  const cpu = { value: 0 };
  const pool = onFourNodes("LocalPreferred", 4, cpu);
  const handle = pool.alloc();
  for (const [, value] of NOT_INTEGERS_OR_UNDEFINED) {
    assertCode(() => pool.free(value as never), "INVALID_HANDLE");
    assertCode(() => pool.nodeOf(value as never), "INVALID_HANDLE");
  }
  for (const value of [undefined, -1, 2 ** 32, (3 << 26) >>> 0, (63 << 26) >>> 0]) {
    assertCode(() => pool.free(value as never), "INVALID_HANDLE");
  }
  assertCode(() => pool.free(((1 << 26) | 3) >>> 0), "DOUBLE_FREE");
  assertCode(() => pool.poolOf(3), "INVALID_ARGUMENT", "not one of its nodes");
  pool.free(handle);
  assertCode(() => pool.free(handle), "DOUBLE_FREE");
  pool.close();
  pool.close();
  for (const call of [() => pool.alloc(), () => pool.free(handle), () => pool.stats(), () => pool.local()]) {
    assertCode(call, "CLOSED");
  }
  const bad: Record<string, unknown>[] = [
    { policy: "localPreferred" },
    { policy: Symbol("x") },
    { nodes: [] },
    { nodes: [0, 0] },
    { nodes: [3] },
    { nodes: [9] },
    { nodes: "0" },
    { nodes: [0n] },
    { nodes: [-0.5] },
    { capacity: 0 },
    { capacity: 1n },
    { blockSize: NaN },
    { hugePages: "yes" },
    { lock: 1 },
    { name: 5 },
  ];
  for (const options of bad) {
    const full = { blockSize: 32, capacity: 4, ...options };
    assertCode(
      () => numaPoolOn(full as never, { facts: fourNodes, currentCpu: () => 0, bind: false }),
      "INVALID_ARGUMENT",
    );
  }
  assertCode(() => new NumaPool({ blockSize: 32, capacity: 4, nodes: [63] }), "INVALID_ARGUMENT", "node 63");
  assertCode(() => new NumaPool(null as never), "INVALID_ARGUMENT");
});

test("NumaPool on a thread pinned through affinity takes its node from the pin, and unpinned asks again", () => {
  const before = affinity.get();
  const allowed = affinity.allowed();
  const cpu = allowed[allowed.length - 1];
  const node = numa.topology().cpus.find((info) => info.id === cpu)!.node;
  using pool = new NumaPool({ blockSize: 16, capacity: 8 });
  try {
    affinity.pin(cpu);
    assert.equal(pinnedCpu(), cpu);
    assert.equal(pool.nodeOf(pool.alloc()), node);
    assert.equal(pool.local(), pool.poolOf(node));
    affinity.set(allowed);
    assert.equal(pinnedCpu(), allowed.length === 1 ? cpu : -1);
    assert.ok(pool.nodes.includes(pool.nodeOf(pool.alloc())));
  } finally {
    affinity.set(before);
  }
});

test("NumaPool and placements on a machine whose topology shows no node with memory are UNSUPPORTED", () => {
  const topology = readTopology(join(fixtures, "four_nodes"));
  for (const node of topology.nodes) node.memoryBytes = 0;
  const facts = nodeFactsOf(topology);
  assert.deepEqual(facts.memoryNodes, []);
  assertCode(
    () => numaPoolOn({ blockSize: 32, capacity: 4 }, { facts, currentCpu: () => 0, bind: false }),
    "UNSUPPORTED",
    "no NUMA node with memory",
  );
});
