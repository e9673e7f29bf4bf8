/**
 * What publishing counters costs the hot path: Pool alloc+free pairs with no publisher, with a
 * publisher at its default cadence (250 ms) and at a 10 ms cadence, interleaved in one run.
 * Each round runs a batch of pairs and then yields to the event loop, so the publisher's timer
 * really fires between batches, as it would in a program that does anything else at all (a
 * loop that never yields never publishes). The target is no measurable difference. Also the
 * cost of one publication pass per object, which is paid on the timer, off the hot path. The
 * publisher writes this process's real directory (/dev/shm/hotpath-stats-<pid>), removed at close.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/publish_bench.ts [--smoke]
 *   bun bench/publish_bench.ts [--smoke]
 *
 * @module
 */
import { smokeRequested } from "./smoke_flag.ts";
import { medianNsPer } from "./median_ns.ts";
import { clockNs, Pool, publishCounters } from "../mod.ts";

type Mode = "off" | "250 ms" | "10 ms";

/** ns per alloc+free pair of one batch of `pairs` pairs. */
function batch(pool: Pool, pairs: number, clock: () => number): number {
  const start = clock();
  for (let index = 0; index < pairs; index++) pool.free(pool.alloc());
  return (clock() - start) / pairs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

async function pairsByMode(rounds: number, pairs: number): Promise<Record<Mode, number[]>> {
  using pool = new Pool({ blockSize: 64, capacity: 4096, name: "hot" });
  const clock = clockNs();
  const times: Record<Mode, number[]> = { "off": [], "250 ms": [], "10 ms": [] };
  for (let warm = 0; warm < 20; warm++) batch(pool, pairs, clock);
  for (let round = 0; round < rounds; round++) {
    for (const mode of ["off", "250 ms", "10 ms"] as const) {
      const publisher = mode === "off" ? undefined : publishCounters({ interval: parseInt(mode) });
      try {
        for (let step = 0; step < 10; step++) {
          times[mode].push(batch(pool, pairs, clock));
          await new Promise((resolve) => setTimeout(resolve, 1)); // the timer's turn
        }
      } finally {
        publisher?.close();
      }
    }
  }
  return times;
}

/** ns per object of one publication pass, with `objects` pools open. */
function passPerObject(objects: number, smoke: boolean): number {
  const pools = Array.from(
    { length: objects },
    (_, index) => new Pool({ blockSize: 64, capacity: 64, name: `p${index}` }),
  );
  using publisher = publishCounters({ interval: 3_600_000 });
  try {
    const passes = smoke ? 5 : 200;
    return medianNsPer(passes * objects, smoke ? 1 : 7, () => {
      for (let pass = 0; pass < passes; pass++) publisher.publish();
    });
  } finally {
    for (const pool of pools) pool.close();
  }
}

/** The report's text. */
export async function publishReport(options: { smoke: boolean }): Promise<string> {
  const rounds = options.smoke ? 1 : 15;
  const times = await pairsByMode(rounds, options.smoke ? 1_000 : 200_000);
  const off = median(times.off);
  const lines = [
    `\nPublishing counters (issue 12): Pool alloc+free pair, ns, median of ${10 * rounds} batches per mode ` +
    "(modes interleaved; the event loop runs between batches):",
    ...(["off", "250 ms", "10 ms"] as const).map((mode) => {
      const ns = median(times[mode]);
      return `  publisher ${mode.padEnd(7)} ${ns.toFixed(2).padStart(7)} ns  ${(ns / off).toFixed(3)}x`;
    }),
    "  one publication pass, ns per object (paid on the timer, off the hot path):",
    ...[1, 16, 64].map((objects) =>
      `    ${String(objects).padStart(2)} pools: ${passPerObject(objects, options.smoke).toFixed(0)} ns`
    ),
  ];
  if (options.smoke) lines.push("  (smoke run: figures not meaningful)");
  return lines.join("\n");
}

if (import.meta.main) console.log(await publishReport({ smoke: smokeRequested() }));
