/**
 * Tight-loop ratios of hotpath's hot paths to what a program would use without it.
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/tight.ts [--rounds 15] [--ops 2000000]
 *   bun bench/tight.ts [--rounds 15] [--ops 2000000]
 *
 * Method: every side of every pair runs in a loop compiled from its own source text
 * (`new Function`), so V8 and JavaScriptCore keep separate call-site feedback for it and can
 * inline its operation (see bench/repeat.ts for what a shared loop does). One sample is one
 * loop of `opsPerRound` operations timed with `performance.now()`: fine for millions of
 * operations, useless for one. All sides run once per round, in an order that rotates from
 * round to round, after two rounds of warm-up; a pair's ratio is taken within each round
 * and the median over rounds is reported, so a burst of load from other processes moves one
 * round, not the result. Both sides of (d) find their record through the same handle array.
 * Only the public API and bench/baselines.ts are used.
 *
 * @module
 */
import { Arena, Order, Pool } from "../mod.ts";
import { SmallOrder, TypeScriptFreeList } from "./baselines.ts";

/** One pair: `numerator` time per operation over `denominator` time, per round and median. */
export interface TightRatio {
  label: string;
  numerator: string;
  denominator: string;
  /** One ratio per round. */
  ratios: number[];
  median: number;
}

/** How long to measure: rounds, and operations per side in each round. */
export interface TightOptions {
  rounds: number;
  opsPerRound: number;
}

const RECORDS = 1024;
const WARM_UP_ROUNDS = 2;
const FREE_LIST = "TypeScript free list alloc+free";
const POOL = "Pool alloc+free (64 B)";
const OBJECT = "new SmallOrder()";
const ARENA = "Arena alloc(64), reset every 1024";
const CURSOR = "orders.at(h): read 2, write 1";
const JS_OBJECT = "JS object: read 2, write 1";

/** A loop over `body`, compiled from source text of its own that names it. */
function compiled(name: string, names: string[], values: unknown[], body: string): Side {
  const label = name.replace(/[^\w .+()-]/g, "_");
  const source = `/* ${label} */ return function (n) {
    let sink = 0;
    for (let i = 0; i < n; i++) { ${body} }
    return sink;
  };`;
  return { name, run: new Function(...names, source)(...values) };
}

/** Reads two fields and writes one of record `handles[...]`, through `access` (a call or an index). */
function readWrite(access: string): string {
  const record = access.endsWith(".at")
    ? `${access}(handles[(i * 7) & ${RECORDS - 1}])`
    : `${access}[handles[(i * 7) & ${RECORDS - 1}]]`;
  return `const order = ${record};
    order.remaining = order.quantity - (order.price > 500 ? 1 : 0); sink = (sink + order.remaining) | 0;`;
}

class JsOrder {
  constructor(public price: number, public quantity: number, public remaining: number) {}
}

/** Builds every side, with the memory it uses; `close` releases the native memory. */
function sides(): { list: Side[]; close: () => void } {
  const freeList = new TypeScriptFreeList(4096);
  const pool = new Pool({ blockSize: 64, capacity: 4096, debug: false });
  const arena = new Arena({ capacity: RECORDS * 64 });
  const orders = Pool.of(Order, { capacity: RECORDS, debug: false });
  const handles = Int32Array.from({ length: RECORDS }, () => orders.alloc());
  const objects = Array.from({ length: RECORDS }, (_, index) => new JsOrder(100 + index, 10, 10));
  for (const handle of handles) {
    const order = orders.at(handle);
    order.price = 100 + handle;
    order.quantity = order.remaining = 10;
  }
  // The object must escape, or escape analysis removes the allocation.
  const escape = { order: new SmallOrder(0, 0, 0, 0) };
  const list = [
    compiled(FREE_LIST, ["list"], [freeList], "const h = list.alloc(); list.free(h); sink = (sink + h) | 0;"),
    compiled(POOL, ["pool"], [pool], "const h = pool.alloc(); pool.free(h); sink = (sink + h) | 0;"),
    compiled(OBJECT, ["SmallOrder", "escape"], [SmallOrder, escape], "escape.order = new SmallOrder(i, 100.5, 10, 1);"),
    compiled(ARENA, ["arena"], [arena], "if ((i & 1023) === 0) arena.reset(); sink = (sink + arena.alloc(64)) | 0;"),
    compiled(CURSOR, ["orders", "handles"], [orders, handles], readWrite("orders.at")),
    compiled(JS_OBJECT, ["objects", "handles"], [objects, handles], readWrite("objects")),
  ];
  return { list, close: () => [pool, arena, orders].forEach((owner) => owner.close()) };
}

/** The pairs reported, by side name, with the target of each. */
const PAIRS: { label: string; numerator: string; denominator: string; target: string }[] = [
  { label: "(a) pool vs free list", numerator: POOL, denominator: FREE_LIST, target: "<= 1.5" },
  { label: "(b) JS object vs pool", numerator: OBJECT, denominator: POOL, target: ">= 3" },
  { label: "(c) arena vs free list", numerator: ARENA, denominator: FREE_LIST, target: "<= 2" },
  { label: "(d) cursor vs JS object", numerator: CURSOR, denominator: JS_OBJECT, target: "<= 1.5" },
];

/** Nanoseconds per operation of every side, one sample per round. */
function measure(options: TightOptions): Map<string, number[]> {
  const { rounds, opsPerRound } = options;
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(opsPerRound) || opsPerRound < 1024) {
    throw new RangeError("tightRatios: rounds must be an integer >= 1 and opsPerRound an integer >= 1024.");
  }
  return sampleSides(sides(), rounds, opsPerRound);
}

/** A side of a tight-loop comparison: a name and a loop of `n` operations. */
export interface Side {
  name: string;
  /** Runs `n` operations and returns a value that depends on all of them. */
  run: (n: number) => number;
}

/**
 * Nanoseconds per operation of every side, one sample per round after WARM_UP_ROUNDS, the sides
 * interleaved and rotated each round; closes the sides at the end, even on error.
 */
export function sampleSides(
  sides: { list: Side[]; close: () => void },
  rounds: number,
  opsPerRound: number,
): Map<string, number[]> {
  const { list, close } = sides;
  const samples = new Map(list.map((side) => [side.name, [] as number[]]));
  let sink = 0;
  try {
    for (let round = 0; round < rounds + WARM_UP_ROUNDS; round++) {
      for (let at = 0; at < list.length; at++) {
        const side = list[(at + round) % list.length];
        const start = performance.now();
        sink ^= side.run(opsPerRound);
        const end = performance.now();
        if (round >= WARM_UP_ROUNDS) samples.get(side.name)!.push(((end - start) * 1e6) / opsPerRound);
      }
    }
  } finally {
    close();
  }
  if (sink === 0.5) console.log(sink); // keeps the sinks alive
  return samples;
}

/** The median of `values` (not modified). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function ratiosOf(samples: Map<string, number[]>): TightRatio[] {
  return PAIRS.map(({ label, numerator, denominator }) => {
    const top = samples.get(numerator)!;
    const bottom = samples.get(denominator)!;
    const ratios = top.map((value, round) => value / bottom[round]);
    return { label, numerator, denominator, ratios, median: median(ratios) };
  });
}

/** Measures every pair in this process, sides interleaved round by round. */
export function tightRatios(options: TightOptions): TightRatio[] {
  return ratiosOf(measure(options));
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
    (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const options = { rounds: option("--rounds", 15), opsPerRound: option("--ops", 2_000_000) };
  const runtime = "Bun" in globalThis ? "bun" : "deno";
  const samples = measure(options);
  console.log(`tight loops on ${runtime}: ${options.rounds} rounds of ${options.opsPerRound} ops per side`);
  console.log("\nns per op (median [min-max] over rounds):");
  for (const [name, values] of samples) {
    const range = `[${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}]`;
    console.log(`  ${name.padEnd(38)} ${median(values).toFixed(2).padStart(7)} ${range}`);
  }
  console.log("\nratios (median [min-max] over rounds):");
  for (const ratio of ratiosOf(samples)) {
    const range = `[${Math.min(...ratio.ratios).toFixed(2)}-${Math.max(...ratio.ratios).toFixed(2)}]`;
    const target = PAIRS.find((pair) => pair.label === ratio.label)!.target;
    console.log(
      `  ${ratio.label.padEnd(26)} ${ratio.median.toFixed(2).padStart(6)}x ${range.padEnd(13)} target ${target}`,
    );
  }
}
