/**
 * Run under a small RLIMIT_MEMLOCK without CAP_IPC_LOCK (tests/placement_test.ts): creates
 * regions with `lock: true` and prints what each creation gave, as one JSON line.
 *
 * @module
 */
import { Arena, HotpathError, Pool, Ring, SharedPool } from "../../mod.ts";

const outcomes: Record<string, string> = {};
const attempts: [string, () => { close(): void }][] = [
  ["small Pool", () => new Pool({ blockSize: 64, capacity: 64, lock: true })],
  ["Pool", () => new Pool({ blockSize: 4096, capacity: 1024, lock: true })],
  ["Arena", () => new Arena({ capacity: 4 << 20, lock: true })],
  ["SharedPool", () => new SharedPool({ blockSize: 4096, capacity: 1024, lock: true })],
  ["Ring", () => Ring.spsc({ slot: 4096, capacity: 1024, lock: true })],
  ["unlocked Pool", () => new Pool({ blockSize: 4096, capacity: 1024 })],
];
for (const [label, create] of attempts) {
  try {
    create().close();
    outcomes[label] = "created";
  } catch (error) {
    outcomes[label] = error instanceof HotpathError ? `${error.code}: ${error.message}` : `crash: ${error}`;
  }
}
console.log(JSON.stringify(outcomes));
