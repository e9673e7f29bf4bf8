/**
 * What placement and affinity cost on this machine: `numa.currentCpu()`, `numa.currentNode()`
 * and `affinity.get()` per call against the floor of one FFI call (`hp_noop`) in the same run,
 * and whether a local-vs-remote NUMA comparison is possible here (it needs two nodes). The
 * pinned-vs-unpinned ring round trip is in bench/ring_report.ts.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/system_report.ts [--smoke]
 *   bun bench/system_report.ts [--smoke]
 *
 * @module
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import { affinity, clockNs, numa } from "../mod.ts";
import { openNative } from "../ffi/library.ts";

const ROUNDS = 7;

/** Median ns per call of `call`, `calls` calls per round, after one warm-up round. */
function perCall(calls: number, call: () => unknown): number {
  const clock = clockNs();
  const rounds: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const start = clock();
    for (let index = 0; index < calls; index++) call();
    if (round > 0) rounds.push((clock() - start) / calls);
  }
  return rounds.sort((a, b) => a - b)[ROUNDS >> 1];
}

/**
 * NUMA nodes the kernel lists in sysfs; undefined where JavaScript may not read it (Deno asks
 * for --allow-all to read /sys).
 */
function nodeCount(): number | undefined {
  try {
    return readdirSync("/sys/devices/system/node").filter((name) => /^node\d+$/.test(name)).length;
  } catch {
    return undefined;
  }
}

/** The report's text. */
export function systemReport(options: { smoke: boolean }): string {
  const calls = options.smoke ? 10_000 : 1_000_000;
  const symbols = openNative().symbols;
  const floor = perCall(calls, () => symbols.hp_noop());
  const rows: [string, number][] = [
    ["FFI no-op call (hp_noop): the floor", floor],
    ["numa.currentCpu() (sched_getcpu)", perCall(calls, () => numa.currentCpu())],
    ["numa.currentNode() (getcpu system call)", perCall(calls / 10, () => numa.currentNode())],
    ["affinity.get() (sched_getaffinity, a 1024-bit mask)", perCall(calls / 10, () => affinity.get())],
  ];
  const nodes = nodeCount();
  const lines = [
    `\nPlacement and affinity on this machine: ${nodes ?? "?"} NUMA node(s), CPUs allowed ${
      affinity.allowed().join(",")
    }; ` +
    `ns per call, median of ${ROUNDS} rounds:`,
    ...rows.map(([label, ns]) => `  ${label.padEnd(52)} ${ns.toFixed(1).padStart(8)} ns  ${(ns / floor).toFixed(1)}x`),
    nodes === undefined
      ? "  local vs remote node: node count unknown (/sys not readable from JavaScript here)"
      : nodes >= 2
      ? "  local vs remote node: not measured yet (placement of regions on nodes is not built)"
      : `  local vs remote node: not possible here, this machine has ${nodes} NUMA node(s)`,
  ];
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(
    systemReport({
      smoke: process.argv.includes("--smoke") ||
        (globalThis as { Deno?: { args: string[] } }).Deno?.args.includes("--smoke") === true,
    }),
  );
}
