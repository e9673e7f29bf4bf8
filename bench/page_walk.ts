/**
 * Huge versus base pages for random access: a pointer chase over a large pool (each 64-byte
 * block holds the index of the next, in one random cycle through every block), so every step
 * is a cache miss and, with 4 KiB pages, a TLB miss too. The same walk runs over a pool of base
 * pages, over transparent huge pages, over explicit huge pages (when the kernel has enough
 * reserved: otherwise the request falls back and the report says so), and over a JavaScript
 * ArrayBuffer, in the same process. On a machine with two NUMA nodes it also walks a pool
 * bound to the local node against one bound to a remote node.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/page_walk.ts [--smoke]
 *   bun bench/page_walk.ts [--smoke]
 *
 * @module
 */
import { smokeRequested } from "./smoke_flag.ts";
import { clockNs, type MemoryOptions, numa, Pool } from "../mod.ts";

const BLOCK_BYTES = 64;
const ROUNDS = 5;

/** One walk's result: ns per step (median of the rounds) and what the memory got. */
interface Walk {
  label: string;
  nsPerStep: number;
  hugePercent: number;
  note: string;
}

/** Links `count` blocks of `strideWords` words into one random cycle (Sattolo's algorithm). */
function linkCycle(words: Int32Array, strideWords: number, count: number): void {
  const order = new Int32Array(count);
  for (let index = 0; index < count; index++) order[index] = index;
  let seed = 0x9e3779b9;
  for (let index = count - 1; index > 0; index--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const other = seed % index;
    const swap = order[index];
    order[index] = order[other];
    order[other] = swap;
  }
  for (let index = 0; index < count; index++) words[order[index] * strideWords] = order[(index + 1) % count];
}

/** Follows the cycle for `steps` steps; returns where it ended (so the loop cannot be removed). */
function chase(words: Int32Array, strideWords: number, steps: number): number {
  let at = 0;
  for (let step = 0; step < steps; step++) at = words[at * strideWords];
  return at;
}

function timeWalk(words: Int32Array, strideWords: number, count: number, steps: number): number {
  linkCycle(words, strideWords, count);
  const clock = clockNs();
  chase(words, strideWords, steps >> 2); // warm-up: the JIT and the caches
  const rounds: number[] = [];
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = clock();
    sink ^= chase(words, strideWords, steps);
    rounds.push((clock() - start) / steps);
  }
  if (sink === -1) console.log(sink);
  return rounds.sort((a, b) => a - b)[ROUNDS >> 1];
}

function walkPool(label: string, count: number, steps: number, options: MemoryOptions): Walk {
  using pool = new Pool({ blockSize: BLOCK_BYTES, capacity: count, ...options });
  const placed = numa.placementOf(pool);
  const words = new Int32Array(pool.bytes.buffer, pool.bytes.byteOffset, (count * pool.stride) / 4);
  const nsPerStep = timeWalk(words, pool.stride / 4, count, steps);
  const hugePercent = Math.min(100, (100 * placed.hugePageBytes) / pool.bytes.byteLength);
  const note = placed.fallback.hugePages
    ? "asked for huge pages, got base pages"
    : placed.requested?.nodes.length
    ? `pages on node(s) ${placed.requested.nodes.join(",")}`
    : "";
  return { label, nsPerStep, hugePercent, note };
}

/** The walks, and the lines that report them. */
export function pageWalkReport(options: { smoke: boolean }): string {
  const bytes = options.smoke ? 32 << 20 : 256 << 20;
  const count = bytes / BLOCK_BYTES;
  const steps = options.smoke ? 200_000 : 4_000_000;
  const walks: Walk[] = [
    walkPool("Pool, base pages (4 KiB)", count, steps, {}),
    walkPool('Pool, hugePages: "transparent"', count, steps, { hugePages: "transparent" }),
    walkPool('Pool, hugePages: "explicit"', count, steps, { hugePages: "explicit" }),
  ];
  const buffer = new ArrayBuffer(bytes);
  walks.push({
    label: "JavaScript ArrayBuffer (competitor)",
    nsPerStep: timeWalk(new Int32Array(buffer), BLOCK_BYTES / 4, count, steps),
    hugePercent: Math.min(100, (100 * numa.placementOf(new Uint8Array(buffer)).hugePageBytes) / bytes),
    note: "",
  });
  const memoryNodes = numa.topology().nodes.filter((node) => node.memoryBytes > 0).map((node) => node.id);
  const local = numa.currentNode();
  const remote = memoryNodes.find((node) => node !== local);
  if (remote !== undefined) {
    walks.push(walkPool(`Pool bound to the local node ${local}`, count, steps, { placement: { node: local } }));
    walks.push(walkPool(`Pool bound to remote node ${remote}`, count, steps, { placement: { node: remote } }));
  }
  const base = walks[0].nsPerStep;
  const huge = numa.topology().hugePages.find((size) => size.sizeBytes === 2 << 20);
  const lines = [
    `\nRandom walk over ${bytes >> 20} MiB in ${BLOCK_BYTES}-byte blocks (one dependent load per step), ` +
    `transparent huge pages "${numa.topology().transparentHugePages}", ${huge?.free ?? 0} free reserved 2 MiB ` +
    `pages; ns per step, median of ${ROUNDS} rounds of ${steps} steps (x: base pages / this):`,
    ...walks.map((walk) =>
      `  ${walk.label.padEnd(40)} ${walk.nsPerStep.toFixed(1).padStart(7)} ns  ${(base / walk.nsPerStep).toFixed(2)}x` +
      `  huge ${walk.hugePercent.toFixed(0).padStart(3)}%${walk.note ? `  (${walk.note})` : ""}`
    ),
  ];
  if (remote === undefined) {
    lines.push(`  local vs remote node: not possible here, this machine has ${memoryNodes.length} memory node(s)`);
  }
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) console.log(pageWalkReport({ smoke: smokeRequested() }));
