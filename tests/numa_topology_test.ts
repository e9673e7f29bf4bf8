/**
 * `numa.topology()` on this machine and on fixture trees of real multi-node machines
 * (tests/fixtures/topology: two sockets with hyperthreads and isolated CPUs; four nodes with
 * asymmetric distances, an offline CPU, a node of memory only and a node without memory, a
 * cpuset narrower than the machine; malformed and broken trees), and on trees of random bytes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { affinity, numa } from "../mod.ts";
import { readTopology, type Topology } from "../src/numa_topology.ts";
import { assertCode, test } from "./harness.ts";
import { draws } from "./random.ts";

const fixtures = fileURLToPath(new URL("./fixtures/topology/", import.meta.url));
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** What holds on any answer: every online CPU listed once, nodes and CPUs consistent. */
function checkConsistent(topology: Topology): void {
  assert.deepEqual(topology.cpus.map((cpu) => cpu.id), topology.onlineCpus);
  assert.ok(topology.nodes.length >= 1);
  for (const cpu of topology.cpus) {
    const holders = topology.nodes.filter((node) => node.cpus.includes(cpu.id)).map((node) => node.id);
    assert.deepEqual(holders, cpu.node === -1 ? [] : [cpu.node], `CPU ${cpu.id}`);
  }
  for (const [index, node] of topology.nodes.entries()) {
    assert.ok(node.distances.length === 0 || node.distances.length === topology.nodes.length);
    if (node.distances.length > 0) assert.equal(node.distances[index], 10, `node ${node.id} to itself`);
    assert.ok(node.freeBytes <= node.memoryBytes || topology.degraded);
  }
}

test("numa.topology on this machine: every online CPU on one node, the current CPU and node among them", () => {
  const topology = numa.topology();
  checkConsistent(topology);
  assert.ok(topology.onlineCpus.includes(numa.currentCpu()));
  assert.ok(topology.nodes.some((node) => node.id === numa.currentNode()));
  for (const cpu of affinity.allowed()) assert.ok(topology.onlineCpus.includes(cpu), `allowed CPU ${cpu} not online`);
  assert.ok(topology.nodes.reduce((sum, node) => sum + node.memoryBytes, 0) > 0);
  assert.ok(topology.cpus.every((cpu) => cpu.caches.every((cache) => cache.sharedWith.includes(cpu.id))));
});

test("numa.topology of a two-socket machine: nodes, distances, memory, isolated CPUs, caches, huge pages", () => {
  const topology = readTopology(join(fixtures, "two_nodes"));
  checkConsistent(topology);
  assert.equal(topology.degraded, false, topology.problems.join("; "));
  assert.deepEqual(topology.nodes.map((node) => [node.id, node.cpus, node.distances]), [
    [0, [...range(0, 3), ...range(8, 11)], [10, 21]],
    [1, [...range(4, 7), ...range(12, 15)], [21, 10]],
  ]);
  assert.deepEqual(topology.nodes.map((node) => [node.memoryBytes, node.freeBytes]), [
    [98304000 * 1024, 90000000 * 1024],
    [98304000 * 1024, 80000000 * 1024],
  ]);
  assert.deepEqual([topology.isolatedCpus, topology.nohzFullCpus], [[2, 3, 6, 7], [2, 3, 6, 7]]);
  assert.deepEqual(topology.processNodes, [0, 1]);
  const cpu12 = topology.cpus[12];
  assert.deepEqual([cpu12.node, cpu12.core, cpu12.package], [1, 0, 1]);
  assert.deepEqual(cpu12.caches.map((cache) => [cache.level, cache.type, cache.sizeBytes, cache.sharedWith]), [
    [1, "Data", 48 << 10, [4, 12]],
    [1, "Instruction", 32 << 10, [4, 12]],
    [2, "Unified", 2 << 20, [4, 12]],
    [3, "Unified", 30 << 20, [...range(4, 7), ...range(12, 15)]],
  ]);
  assert.deepEqual(topology.hugePages, [
    { sizeBytes: 2 << 20, total: 1024, free: 1000 },
    { sizeBytes: 1 << 30, total: 4, free: 2 },
  ]);
  assert.equal(topology.transparentHugePages, "always");
});

test("numa.topology of four asymmetric nodes: offline CPU, memory-only node, node without memory, cpuset", () => {
  const topology = readTopology(join(fixtures, "four_nodes"));
  checkConsistent(topology);
  assert.equal(topology.degraded, false, topology.problems.join("; "));
  assert.deepEqual(topology.onlineCpus, [0, 1, 2, 3, 4, 5, 7]);
  assert.deepEqual(topology.possibleCpus, range(0, 7));
  assert.deepEqual(topology.nodes.map((node) => node.distances), [
    [10, 16, 16, 22],
    [16, 10, 22, 16],
    [16, 22, 10, 16],
    [22, 16, 16, 10],
  ]);
  assert.deepEqual(topology.nodes[2].cpus, [], "node 2 holds memory only");
  assert.equal(topology.nodes[2].memoryBytes, 16 * 2 ** 30);
  assert.equal(topology.nodes[3].memoryBytes, 0, "node 3 has no memory");
  assert.deepEqual(topology.cpus.find((cpu) => cpu.id === 7)!.node, 3);
  assert.deepEqual([topology.processCpus, topology.cpusetCpus], [range(0, 5), range(0, 5)]);
  assert.deepEqual(topology.hugePages, [{ sizeBytes: 2 << 20, total: 0, free: 0 }]);
  assert.equal(topology.transparentHugePages, "unknown", "the fixture has no transparent_hugepage directory");
});

test("numa.topology of malformed and broken trees degrades, lists its problems, and never throws", () => {
  const malformed = readTopology(join(fixtures, "malformed"));
  checkConsistent(malformed);
  assert.equal(malformed.degraded, true);
  assert.deepEqual(malformed.nodes.map((node) => [node.id, node.cpus, node.memoryBytes]), [[
    0,
    range(0, 3),
    16384000 * 1024,
  ]]);
  assert.deepEqual([malformed.cpus[0].core, malformed.cpus[0].package], [-1, -1]);
  assert.deepEqual(malformed.cpus[0].caches, [{ level: 1, type: "Unknown", sizeBytes: 0, sharedWith: [0] }]);
  assert.ok(malformed.problems.some((problem) => problem.includes("node/online")));

  const broken = readTopology(join(fixtures, "broken_nodes"));
  checkConsistent(broken);
  assert.equal(broken.degraded, true);
  assert.deepEqual(broken.nodes.map((node) => [node.id, node.cpus, node.distances]), [[0, [0], []], [1, [], []]]);
  assert.equal(broken.cpus[1].node, -1);
  assert.equal(new Set(broken.problems).size, broken.problems.length, "each problem once");

  const missing = readTopology("/nonexistent/hotpath/root");
  assert.equal(missing.degraded, true);
  assert.deepEqual(missing.nodes.map((node) => node.id), [0]);
});

test("numa.topology over trees of random bytes answers or degrades, never crashes", () => {
  const files = [
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/possible",
    "sys/devices/system/cpu/isolated",
    "sys/devices/system/node/online",
    "sys/devices/system/node/node0/cpulist",
    "sys/devices/system/node/node0/meminfo",
    "sys/devices/system/node/node0/distance",
    "sys/devices/system/node/node1/cpulist",
    "sys/devices/system/node/node1/distance",
    "sys/devices/system/cpu/cpu0/topology/core_id",
    "sys/devices/system/cpu/cpu0/cache/index0/level",
    "sys/devices/system/cpu/cpu0/cache/index0/size",
    "sys/devices/system/cpu/cpu0/cache/index0/shared_cpu_list",
    "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
    "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
    "proc/self/status",
    "proc/self/cgroup",
    "proc/meminfo",
  ];
  const alphabet = "0123456789-, \n:kBKMx\t/.";
  const random = draws(0x70b0);
  const root = mkdtempSync(join(tmpdir(), "hotpath-topology-"));
  try {
    for (let round = 0; round < 60; round++) {
      for (const file of files) {
        mkdirSync(join(root, file, ".."), { recursive: true });
        const length = random.below(round % 3 === 0 ? 20_000 : 40);
        let text = "";
        for (let i = 0; i < length; i++) text += alphabet[random.below(alphabet.length)];
        writeFileSync(join(root, file), round % 5 === 0 ? "0-1\n" : text);
      }
      checkConsistent(readTopology(root));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("numa.topology's root refuses what is not an absolute path", () => {
  for (const root of [undefined, null, 1, 1n, Symbol("root"), {}, "relative/path", "/with\0nul"]) {
    assertCode(() => readTopology(root as never), "INVALID_ARGUMENT", "root");
  }
  assertCode(() => readTopology(`/${"x".repeat(300)}`), "INVALID_ARGUMENT", "too long");
});
