/**
 * What placement and affinity cost on this machine: `numa.currentCpu()`, `numa.currentNode()`
 * (the CPU-to-node table against the getcpu system call) and `affinity.get()` per call against
 * the floor of one FFI call (`hp_noop`), and a NumaPool's alloc+free against a Pool's, in the
 * same run. Huge pages and local-vs-remote memory are in bench/page_walk.ts; the
 * pinned-vs-unpinned ring round trip is in bench/ring_report.ts.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/system_report.ts [--smoke]
 *   bun bench/system_report.ts [--smoke]
 *
 * @module
 */
import { smokeRequested } from "./smoke_flag.ts";
import { affinity, numa, NumaPool, Pool } from "../mod.ts";
import { medianNsPer } from "./median_ns.ts";
import { openNative } from "../ffi/library.ts";
import { kernelNodeOf } from "../src/numa_current.ts";

const ROUNDS = 7;

/** Median ns per call of `call`, `calls` calls per round, after one warm-up round. */
function perCall(calls: number, call: () => unknown): number {
  return medianNsPer(calls, ROUNDS, () => {
    for (let index = 0; index < calls; index++) call();
  });
}

/**
 * ns per alloc+free pair, 64 live blocks at a time. Each kind has its own loop: one shared loop
 * calling closures would be polymorphic, and the kind measured first would be the only fast one.
 */
function pairLoops(calls: number, pool: Pool, numaPool: NumaPool): [number, number, number, number] {
  const live = new Uint32Array(64);
  const rounds = calls / 64;
  const poolPair = perCall(rounds, () => {
    for (let index = 0; index < 64; index++) live[index] = pool.alloc();
    for (let index = 0; index < 64; index++) pool.free(live[index]);
  }) / 64;
  const numaPair = perCall(rounds, () => {
    for (let index = 0; index < 64; index++) live[index] = numaPool.alloc();
    for (let index = 0; index < 64; index++) numaPool.free(live[index]);
  }) / 64;
  // Pinned to one CPU (then restored): the NumaPool knows its node without an FFI call.
  const before = affinity.get();
  affinity.pin(numa.currentCpu());
  const pinnedPair = perCall(rounds, () => {
    for (let index = 0; index < 64; index++) live[index] = numaPool.alloc();
    for (let index = 0; index < 64; index++) numaPool.free(live[index]);
  }) / 64;
  const local = numaPool.local();
  const localPair = perCall(rounds, () => {
    for (let index = 0; index < 64; index++) live[index] = local.alloc();
    for (let index = 0; index < 64; index++) local.free(live[index]);
  }) / 64;
  affinity.set(before);
  return [poolPair, numaPair, pinnedPair, localPair];
}

/** The report's text. */
export function systemReport(options: { smoke: boolean }): string {
  const calls = options.smoke ? 10_000 : 1_000_000;
  const symbols = openNative().symbols;
  const floor = perCall(calls, () => symbols.hp_noop());
  const rows: [string, number][] = [
    ["FFI no-op call (hp_noop): the floor", floor],
    ["numa.currentCpu() (sched_getcpu)", perCall(calls, () => numa.currentCpu())],
    ["numa.currentNode() (sched_getcpu + CPU-to-node table)", perCall(calls, () => numa.currentNode())],
    ["getcpu system call (what currentNode() replaced)", perCall(calls / 10, () => kernelNodeOf())],
    ["affinity.get() (sched_getaffinity, a 1024-bit mask)", perCall(calls / 10, () => affinity.get())],
  ];
  using pool = new Pool({ blockSize: 64, capacity: 1024 });
  using numaPool = new NumaPool({ blockSize: 64, capacity: 1024 });
  const [poolPair, numaPair, pinnedPair, localPair] = pairLoops(calls, pool, numaPool);
  const pairs: [string, number][] = [
    ["Pool alloc+free (the baseline)", poolPair],
    ["NumaPool alloc+free (LocalPreferred: sched_getcpu per alloc)", numaPair],
    ["NumaPool alloc+free, thread pinned (no FFI call)", pinnedPair],
    ["NumaPool.local() pool alloc+free (pinned thread)", localPair],
  ];
  const nodes = numa.topology().nodes.length;
  const lines = [
    `\nPlacement and affinity on this machine: ${nodes} NUMA node(s), CPUs allowed ${affinity.allowed().join(",")}; ` +
    `ns per call, median of ${ROUNDS} rounds:`,
    ...rows.map(([label, ns]) => `  ${label.padEnd(60)} ${ns.toFixed(1).padStart(8)} ns  ${(ns / floor).toFixed(1)}x`),
    `ns per alloc+free pair (64 live), median of ${ROUNDS} rounds (x: this / Pool):`,
    ...pairs.map(([label, ns]) =>
      `  ${label.padEnd(60)} ${ns.toFixed(1).padStart(8)} ns  ${(ns / poolPair).toFixed(2)}x`
    ),
  ];
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) console.log(systemReport({ smoke: smokeRequested() }));
