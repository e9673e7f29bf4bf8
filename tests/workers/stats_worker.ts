/**
 * A Worker of tests/stats_directory_test.ts: on { directory } it publishes a pool of its own
 * ("worker-pool", 3 blocks in use) into the process's counter directory and replies. It never
 * closes them: the test terminates it to leave its entry behind.
 *
 * @module
 */
import { Pool, publishCounters } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
const kept: unknown[] = [];

scope.onmessage = (event: MessageEvent) => {
  const { directory } = event.data as { directory: string };
  const publisher = publishCounters({ directory, interval: 60_000 });
  const pool = new Pool({ blockSize: 8, capacity: 10, name: "worker-pool" });
  for (let index = 0; index < 3; index++) pool.alloc();
  kept.push(publisher, pool);
  scope.postMessage({ published: publisher.publish() });
};
