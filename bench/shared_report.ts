/**
 * The SharedPool section of the benchmark report (issue 9): the cost of sharing on one thread
 * (bench/shared_tight.ts), two Workers on one pool against one Worker and against glibc
 * malloc/free, a JS Treiber stack and a private Pool per Worker (bench/shared_churn.ts), and a
 * Deno and a Bun process on one named pool (bench/shared_processes.ts). Every ratio is taken
 * within one round of this run; medians and ranges over rounds are printed with the targets.
 * Part of bench/main.ts; alone (the same figures, without the mitata suites before them):
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/shared_report.ts [--smoke]
 *   bun bench/shared_report.ts [--smoke]
 *
 * @module
 */
import process from "node:process";
import { median } from "./tight.ts";
import { openLibc, pointerHandoverNs } from "./libc.ts";
import { measureShared, measureSharedInChild, sharedRatiosOf } from "./shared_tight.ts";
import { CHURN_KINDS, type ChurnKind, type ChurnResults, sharedChurn, WAIT_SHARE_MAX } from "./shared_churn.ts";
import { type ProcessResults, type Runtime, sharedProcesses } from "./shared_processes.ts";

/** A target: the ratio must be at most ("max") or at least ("min") `limit`; 0: informative. */
interface Target {
  limit: number;
  kind: "max" | "min";
}

const range = (values: number[]) => `[${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}]`;
const mops = (value: number) => (value / 1e6).toFixed(1);

/** One ratio line: label, median, range, target and verdict. */
function ratioLine(label: string, ratios: number[], target: Target, smoke: boolean): string {
  const value = median(ratios);
  const head = `  ${label}: ${value.toFixed(2)}x ${range(ratios)}`;
  if (target.limit === 0) return `${head} (informative)`;
  const met = target.kind === "max" ? value <= target.limit : value >= target.limit;
  const verdict = smoke ? "(smoke run: not judged)" : met ? "met" : "MISSED";
  return `${head} target ${target.kind === "max" ? "<=" : ">="} ${target.limit}x: ${verdict}`;
}

/** Per-round ratios of two series measured in the same rounds. */
function perRound(top: number[], bottom: number[]): number[] {
  return top.map((value, round) => value / bottom[round]);
}

function printTight(smoke: boolean, here: string): void {
  const rounds = smoke ? 2 : 15;
  const options = smoke ? { rounds, opsPerRound: 100_000 } : { rounds, opsPerRound: 2_000_000 };
  const runs = [
    { where: "a fresh process", samples: measureSharedInChild(options) },
    { where: here, samples: measureShared(options) },
  ];
  console.log(`\nSharedPool on one thread (the main thread), tight loops, median [min-max] over ${rounds} rounds:`);
  for (const { where, samples } of runs) {
    console.log(` in ${where}:`);
    for (const [name, values] of samples) {
      console.log(`  ${name}: ${median(values).toFixed(2)} ns per alloc+free ${range(values)}`);
    }
    for (const ratio of sharedRatiosOf(samples)) {
      console.log(ratioLine(`${ratio.label} (the cost of sharing)`, ratio.ratios, { limit: 1.3, kind: "max" }, smoke));
    }
  }
}

function printWorkerTable(results: ChurnResults, rounds: number): void {
  console.log(
    `\nSharedPool from two Workers: bursts of 16 allocs then 16 frees, one handle per burst swapped through a\n` +
      `slot both Workers use ("cross": the share of all operations that free a block the other Worker allocated);\n` +
      `million operations per second (an alloc or a free is one), median over ${rounds} rounds; ${results.retries} ` +
      `runs repeated\nbecause a Worker did not run for > ${
        WAIT_SHARE_MAX * 100
      }% of it ("idle": the most left in a kept run):`,
  );
  console.log(
    `  ${"allocator".padEnd(38)} ${"1 Worker".padStart(8)} ${"2 Workers".padStart(9)}  ` +
      `${"2 vs 1 [range]".padEnd(19)} ${"cross".padStart(5)} ${"idle".padStart(4)}`,
  );
  for (const [kind, { label }] of Object.entries(CHURN_KINDS) as [ChurnKind, { label: string }][]) {
    const scaling = perRound(results.together[kind], results.alone[kind]);
    const cross = `${(median(results.crossShare[kind]) * 100).toFixed(1)}%`;
    const idle = `${(Math.max(...results.waitShare[kind]) * 100).toFixed(0)}%`;
    console.log(
      `  ${label.padEnd(38)} ${mops(median(results.alone[kind])).padStart(8)} ` +
        `${mops(median(results.together[kind])).padStart(9)}  ` +
        `${`${median(scaling).toFixed(2)}x ${range(scaling)}`.padEnd(19)} ${cross.padStart(5)} ${idle.padStart(4)}`,
    );
  }
}

async function printWorkers(smoke: boolean): Promise<void> {
  const rounds = smoke ? 1 : 5;
  const results = await sharedChurn({ rounds, bursts: smoke ? 2_000 : 100_000 });
  printWorkerTable(results, rounds);
  const { alone, together } = results;
  console.log("ratios from this run (median [min-max] over rounds):");
  const informative: Target = { limit: 0, kind: "min" };
  const atLeast = (limit: number): Target => ({ limit, kind: "min" });
  const t = together;
  const lines: [string, number[], Target][] = [
    ["2 Workers vs 1 on one SharedPool, throughput", perRound(t.sharedLocal, alone.sharedLocal), atLeast(1.8)],
    ["same, with the cross swap", perRound(t.shared, alone.shared), informative],
    ["  its ceiling: private Pools with the swap alone", perRound(t.poolSwap, alone.poolSwap), informative],
    ["SharedPool faster than glibc malloc/free via FFI, 2 Workers", perRound(t.sharedLocal, t.mallocLocal), atLeast(4)],
    ["same, with the cross swap (both pay it)", perRound(t.shared, t.malloc), informative],
    ["SharedPool faster than a JS Treiber stack, 2 Workers", perRound(t.shared, t.treiber), informative],
    ["SharedPool / a private Pool per Worker, 2 Workers, local", perRound(t.sharedLocal, t.pool), informative],
    ["SharedPool / a private Pool, 1 Worker, local", perRound(alone.sharedLocal, alone.pool), informative],
  ];
  for (const [label, ratios, target] of lines) console.log(ratioLine(label, ratios, target, smoke));
  const handover = pointerHandoverNs(openLibc());
  console.log(
    `  (a malloc'd block crosses Workers as a number: ${handover.toFixed(1)} ns a burst on this runtime, ` +
      `${(handover / 32).toFixed(2)} ns per operation,\n   included in the malloc row with cross frees)`,
  );
  console.log(`  blocks left allocated after the Workers closed (check()): ${results.leftInUse}`);
  if (results.leftInUse !== 0) throw new Error(`SharedPool: ${results.leftInUse} blocks leaked by the Workers`);
}

function printProcesses(results: ProcessResults, rounds: number, runMs: number): void {
  console.log(
    `\nA Deno and a Bun process on one named SharedPool (${results.path}), churning ${runMs} ms per run,\n` +
      `million operations per second, median over ${rounds} rounds; ${results.retries} runs repeated ` +
      `(idle > ${WAIT_SHARE_MAX * 100}%), idle up to ${(results.waitShareMax * 100).toFixed(0)}% in kept runs:`,
  );
  console.log(
    `  ${"process".padEnd(8)} ${"alone".padStart(8)} ${"both run".padStart(9)}  both/alone [range]` +
      `   | private Pool: ${"alone".padStart(7)} ${"both run".padStart(9)}  both/alone`,
  );
  for (const runtime of ["deno", "bun"] as Runtime[]) {
    const cells = (["shared", "pool"] as const).map((kind) => {
      const alone = results.alone[kind][runtime];
      const together = results.together[kind][runtime];
      const ratios = perRound(together, alone);
      return { alone: median(alone), together: median(together), ratios };
    });
    const [shared, pool] = cells;
    console.log(
      `  ${runtime.padEnd(8)} ${mops(shared.alone).padStart(8)} ${mops(shared.together).padStart(9)}  ` +
        `${median(shared.ratios).toFixed(2)}x ${range(shared.ratios).padEnd(11)}   |               ` +
        `${mops(pool.alone).padStart(7)} ${mops(pool.together).padStart(9)}  ${median(pool.ratios).toFixed(2)}x`,
    );
  }
  console.log(
    `  blocks left allocated after both closed (check()): ${results.leftInUse}; ` +
      `${results.path} left behind: ${results.leftInShm ? "YES" : "no"}`,
  );
}

/**
 * Runs and prints the whole SharedPool section; `here` names this process in the tight-loop
 * part. Throws if a block leaked or the pool file remained.
 */
export async function sharedPoolReport(smoke: boolean, here = "this process"): Promise<void> {
  printTight(smoke, here);
  await printWorkers(smoke);
  const options = smoke ? { rounds: 1, runMs: 20, warmUpMs: 20 } : { rounds: 5, runMs: 300, warmUpMs: 300 };
  const processes = await sharedProcesses(options);
  printProcesses(processes, options.rounds, options.runMs);
  if (processes.leftInUse !== 0 || processes.leftInShm) {
    throw new Error(`SharedPool: ${processes.leftInUse} blocks leaked, or ${processes.path} left behind`);
  }
}

if (import.meta.main) {
  // The SharedPool section alone: deno run --allow-ffi --allow-read --allow-env --allow-run bench/shared_report.ts
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
  await sharedPoolReport(args.includes("--smoke"));
}
