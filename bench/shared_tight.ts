/**
 * The cost of sharing on one thread: SharedPool alloc+free against Pool alloc+free, release and
 * debug mode, in tight loops on the calling thread (the main thread in bench/main.ts), with the
 * method of bench/tight.ts: each side a loop compiled from its own source, sides interleaved in
 * a rotating order, two warm-up rounds, the ratio taken within each round, median and range.
 * Besides the single pair (alloc, then free), bursts of 16 allocs then 16 frees, as Workers
 * churn in bench/shared_churn.ts.
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/shared_tight.ts [--rounds 15] [--ops 2000000] [--json]
 *   bun bench/shared_tight.ts [--rounds 15] [--ops 2000000] [--json]
 *
 * A realm that already ran SharedPool alloc/free from another call site (bench/main.ts's mitata
 * suite) runs these loops more slowly (bench/RESULTS.md), so bench/main.ts measures them twice:
 * in a fresh process of the same runtime (`measureSharedInChild`, this file with --json) and in
 * its own process.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Pool, SharedPool } from "../mod.ts";
import { median, sampleSides, type Side, type TightOptions, type TightRatio } from "./tight.ts";

const POOL = "Pool alloc+free (64 B)";
const SHARED = "SharedPool alloc+free (64 B)";
const SHARED_DEBUG = "SharedPool alloc+free (64 B, debug mode)";
const POOL_BURST = "Pool 16 allocs, 16 frees";
const SHARED_BURST = "SharedPool 16 allocs, 16 frees";
const SHARED_DEBUG_BURST = "SharedPool debug 16 allocs, 16 frees";

/** The pairs reported: numerator over denominator, time per alloc+free. */
export const SHARED_TIGHT_PAIRS: { label: string; numerator: string; denominator: string }[] = [
  { label: "(e) SharedPool vs Pool", numerator: SHARED, denominator: POOL },
  { label: "(f) SharedPool debug vs Pool", numerator: SHARED_DEBUG, denominator: POOL },
  { label: "(g) same, bursts of 16: release", numerator: SHARED_BURST, denominator: POOL_BURST },
  { label: "(h) same, bursts of 16: debug", numerator: SHARED_DEBUG_BURST, denominator: POOL_BURST },
];

/** A loop over `body` (which does `step` pairs), compiled from source text of its own. */
function compiled(name: string, target: unknown, body: string, step: number): Side {
  const label = name.replace(/[^\w .+()-]/g, "_");
  const source = `/* ${label} */ return function (n) {
    let sink = 0;
    const held = new Int32Array(16);
    for (let i = 0; i < n; i += ${step}) { ${body} }
    return sink;
  };`;
  return { name, run: new Function("pool", source)(target) };
}

const PAIR = "const h = pool.alloc(); pool.free(h); sink = (sink + h) | 0;";
const BURST = "for (let j = 0; j < 16; j++) held[j] = pool.alloc(); " +
  "for (let j = 0; j < 16; j++) pool.free(held[j]); sink = (sink + held[3]) | 0;";

function sides(): { list: Side[]; close: () => void } {
  const pool = new Pool({ blockSize: 64, capacity: 4096, debug: false });
  const shared = new SharedPool({ blockSize: 64, capacity: 4096, debug: false });
  const sharedDebug = new SharedPool({ blockSize: 64, capacity: 4096, debug: true });
  const list = [
    compiled(POOL, pool, PAIR, 1),
    compiled(SHARED, shared, PAIR, 1),
    compiled(SHARED_DEBUG, sharedDebug, PAIR, 1),
    compiled(POOL_BURST, pool, BURST, 16),
    compiled(SHARED_BURST, shared, BURST, 16),
    compiled(SHARED_DEBUG_BURST, sharedDebug, BURST, 16),
  ];
  return { list, close: () => [pool, shared, sharedDebug].forEach((owner) => owner.close()) };
}

/** Nanoseconds per alloc+free of every side, one sample per round. */
export function measureShared(options: TightOptions): Map<string, number[]> {
  const { rounds } = options;
  const opsPerRound = Math.ceil(options.opsPerRound / 16) * 16;
  if (!Number.isInteger(rounds) || rounds < 1 || !(opsPerRound >= 1024)) {
    throw new RangeError("sharedTightRatios: rounds must be an integer >= 1 and opsPerRound >= 1024.");
  }
  return sampleSides(sides(), rounds, opsPerRound);
}

/** The pairs' ratios from `samples`. */
export function sharedRatiosOf(samples: Map<string, number[]>): TightRatio[] {
  return SHARED_TIGHT_PAIRS.map(({ label, numerator, denominator }) => {
    const top = samples.get(numerator)!;
    const bottom = samples.get(denominator)!;
    const ratios = top.map((value, round) => value / bottom[round]);
    return { label, numerator, denominator, ratios, median: median(ratios) };
  });
}

/** `measureShared` in a fresh process of this runtime (this file with --json). */
export function measureSharedInChild(options: TightOptions): Map<string, number[]> {
  const script = fileURLToPath(import.meta.url);
  const args = [script, "--rounds", String(options.rounds), "--ops", String(options.opsPerRound), "--json"];
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const root = fileURLToPath(new URL("..", import.meta.url));
  const permissions = deno
    ? (JSON.parse(readFileSync(`${root}deno-permissions.json`, "utf8")) as { run: string[] }).run
    : [];
  const child = deno
    ? spawnSync(deno.execPath(), ["run", ...permissions, ...args], { encoding: "utf8" })
    : spawnSync(process.execPath, args, { encoding: "utf8" });
  if (child.status !== 0) {
    throw new Error(`shared tight: the child failed (exit ${child.status}):\n${String(child.stderr).slice(-2000)}`);
  }
  const line = String(child.stdout).trim().split("\n").pop()!;
  return new Map(Object.entries(JSON.parse(line) as Record<string, number[]>));
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
    (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const samples = measureShared({ rounds: option("--rounds", 15), opsPerRound: option("--ops", 2_000_000) });
  if (args.includes("--json")) {
    console.log(JSON.stringify(Object.fromEntries(samples)));
    process.exit(0);
  }
  const range = (values: number[]) => `[${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}]`;
  for (const [name, values] of samples) {
    console.log(`  ${name.padEnd(42)} ${median(values).toFixed(2).padStart(7)} ns ${range(values)}`);
  }
  for (const ratio of sharedRatiosOf(samples)) {
    console.log(`  ${ratio.label.padEnd(34)} ${ratio.median.toFixed(2).padStart(6)}x ${range(ratio.ratios)}`);
  }
}
