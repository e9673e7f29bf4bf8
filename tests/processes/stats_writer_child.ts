/**
 * A child of tests/stats_process_test.ts and tests/top_test.ts: publishes its counters (every
 * 50 ms) into the directory given as argument ("" for the default) and churns a Pool
 * ("churn"), an Arena ("scratch") and a Ring in small batches on a 1 ms timer, so its event loop
 * runs and publishes. A Monitor warns when "churn" is 30% full (it holds about half), so the
 * alert is published too. Prints "ready" once published. On "stop" (stdin) it stops churning, waits
 * for two publications and prints "quiet <json>" with its own stats(); it runs until killed.
 *
 * @module
 */
import process from "node:process";
import { Arena, Monitor, Pool, publishCounters, Ring } from "../../mod.ts";

const directory = process.argv[2] || undefined;
const publisher = publishCounters({ directory, interval: 50 });
const pool = new Pool({ blockSize: 64, capacity: 4096, name: "churn" });
const arena = new Arena({ capacity: 1 << 16, name: "scratch" });
const ring = Ring.spsc({ slot: 16, capacity: 1024 });
const producer = ring.producer();
const consumer = ring.consumer();
const held: number[] = [];
let round = 0;

function churn(): void {
  for (let index = 0; index < 500; index++) {
    // Between 0 and ~2000 blocks held: in use moves, allocations and frees grow.
    if (held.length < 2000 && (round + index) % 3 !== 0) held.push(pool.alloc());
    else if (held.length > 0) pool.free(held.pop()!);
  }
  if (round % 64 === 0) arena.reset();
  arena.alloc(24, 8);
  if (producer.tryClaim() >= 0) producer.commit();
  if (round % 2 === 0 && consumer.tryPeek() >= 0) consumer.release();
  round++;
}

const churning = setInterval(churn, 1);
new Monitor({
  rules: [{ metric: "utilisation", warn: 0.3, critical: 0.9, name: "churn" }],
  onAlert: () => {},
  interval: 50,
});
publisher.publish();
process.stdout.write("ready\n");

process.stdin.setEncoding("utf8");
process.stdin.on("data", (text: string) => {
  if (!text.includes("stop")) return;
  clearInterval(churning);
  setTimeout(() => {
    const stats = { pool: pool.stats(), arena: arena.stats(), ring: ring.stats() };
    process.stdout.write(`quiet ${JSON.stringify(stats)}\n`);
  }, 150);
});
setInterval(() => {}, 1 << 30); // alive until killed
