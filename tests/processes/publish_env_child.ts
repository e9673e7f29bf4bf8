/**
 * A child of tests/stats_process_test.ts, run with HOTPATH_PUBLISH set: importing hotpath
 * starts publishing on its own. It opens a pool, publishes, prints what a reader sees of its
 * own process, and exits normally (which must remove its directory).
 *
 * @module
 */
import process from "node:process";
import { Pool, readCounters } from "../../mod.ts";

const pool = new Pool({ blockSize: 8, capacity: 16, name: "env-pool" });
pool.alloc();
// The publisher's timer publishes what exists: wait for one pass after the pool was created.
await new Promise((resolve) => setTimeout(resolve, 150));
const seen = readCounters(process.pid);
process.stdout.write(`${JSON.stringify({ names: seen.objects.map((object) => object.name), path: seen.path })}\n`);
