/**
 * Child of bench/ring_processes.ts: one side of a named `Ring.spsc` shared by two processes.
 * The producer creates the ring (`Ring.spsc({ slot: Tick, capacity, name })`), the consumer
 * opens it (`Ring.open({ name })`); each prints READY, then obeys one command per line of
 * stdin:
 * - "run <count> <batch>": the loops of bench/ring_workers/hotpath_loops.ts (the consumer
 *   checks every sequence number). The consumer first prints STARTED, then spins until it has
 *   all messages and prints "RESULT <json>" with what it received; the producer, started after
 *   the consumer's STARTED, prints "RESULT <json>" with its messages per second (its end is at
 *   most one ring of messages ahead of the consumer's);
 * - "quit": closes; the producer unlinks the name; exits.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/ring_process_child.ts <role> <name>
 *   bun bench/ring_process_child.ts <role> <name>
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { clockNs, Ring } from "../mod.ts";
import { RING_CAPACITY, type Side, Tick } from "./ring_workers/kinds.ts";
import { spscConsumer1, spscConsumerBatch, spscProducer1, spscProducerBatch } from "./ring_workers/hotpath_loops.ts";

export const READY_LINE = "READY";
export const STARTED_LINE = "STARTED";
export const RESULT_PREFIX = "RESULT ";

/** What a child prints after RESULT_PREFIX. */
export interface ProcessSideResult {
  received: number;
  checksum: number;
  perSecond: number;
}

function main(role: "producer" | "consumer", name: string): void {
  const ring = role === "producer"
    ? Ring.spsc({ slot: Tick, capacity: RING_CAPACITY, name })
    : Ring.open({ name, slot: Tick });
  const producer = role === "producer" ? ring.producer({ wait: "spin" }) : undefined;
  const consumer = role === "consumer" ? ring.consumer({ wait: "spin" }) : undefined;
  const sides = new Map<number, Side>();
  const sideFor = (batch: number) => {
    let side = sides.get(batch);
    if (side === undefined) {
      if (batch === 1) side = producer ? spscProducer1(producer) : spscConsumer1(consumer!);
      else side = producer ? spscProducerBatch(producer, batch) : spscConsumerBatch(consumer!, batch);
      sides.set(batch, side);
    }
    return side;
  };
  const clock = clockNs();
  console.log(READY_LINE);
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const [command, count, batch] = line.trim().split(" ");
    if (command === "run") {
      if (role === "consumer") console.log(STARTED_LINE);
      const start = clock();
      const result = sideFor(Number(batch)).run(Number(count)) as { received: number; checksum: number };
      const perSecond = Number(count) / ((clock() - start) / 1e9);
      console.log(RESULT_PREFIX + JSON.stringify({ ...result, perSecond }));
    } else if (command === "quit") {
      if (role === "producer") ring.unlink();
      ring.close();
      lines.close();
      process.exit(0);
    }
  });
}

if (import.meta.main) {
  const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
  main(args[0] as "producer" | "consumer", args[1]);
}
