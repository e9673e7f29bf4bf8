/**
 * A named `Ring.spsc` between a Deno and a Bun process, both ways: the producer process creates
 * the ring (/dev/shm/hotpath-ring-bench-<pid>-<direction>), the consumer process opens it by
 * name (bench/ring_process_child.ts). Every run moves `count` messages in batches of 1 and of
 * 64; the consumer checks every sequence number and the checksum is checked here.
 *
 * Method: per direction, one producer and one consumer process for all runs; the first rounds
 * warm up and are discarded. In a run the consumer is told first and spins; once it says it
 * started, the producer is told and times itself (its end is at most one ring ahead of the
 * consumer's). At the end the producer unlinks the name; a `finally` unlinks it again if it is
 * still there and ends the children, so nothing is left in /dev/shm.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HotpathError, Ring } from "../mod.ts";
import { type ProcessSideResult, READY_LINE, RESULT_PREFIX, STARTED_LINE } from "./ring_process_child.ts";
import { isBun } from "./ring_threads.ts";

export type Runtime = "deno" | "bun";
export const DIRECTIONS: [Runtime, Runtime][] = [["deno", "bun"], ["bun", "deno"]];
export const PROCESS_BATCHES = [1, 64];

/** How much to measure: messages per run (per batch size). */
export interface ProcessRingOptions {
  rounds: number;
  warmUpRounds: number;
  counts: Record<number, number>;
}

/** Messages per second per measured round: [`deno->bun`][batch]. */
export interface ProcessRingResults {
  perSecond: Record<string, Record<number, number[]>>;
  /** The ring files, and whether any was still there at the end (none may be). */
  paths: string[];
  leftInShm: boolean;
}

const TIMEOUT_MS = 60_000;
const root = fileURLToPath(new URL("..", import.meta.url));
const childScript = fileURLToPath(new URL("./ring_process_child.ts", import.meta.url));
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

function childCommand(runtime: Runtime, role: string, name: string): [string, string[]] {
  const args = [childScript, role, name];
  if (runtime === "bun") return [isBun ? process.execPath : `${root}node_modules/.bin/bun`, args];
  const permissions = JSON.parse(readFileSync(`${root}deno-permissions.json`, "utf8")) as { run: string[] };
  return [deno ? deno.execPath() : `${root}node_modules/.bin/deno`, ["run", ...permissions.run, ...args]];
}

/** One child process, read line by line. */
class Child {
  readonly process: ChildProcess;
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  #stderr = "";
  #exited = false;

  constructor(readonly label: string, runtime: Runtime, role: string, name: string) {
    const [command, args] = childCommand(runtime, role, name);
    this.process = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let partial = "";
    this.process.stdout!.on("data", (chunk: Uint8Array) => {
      const parts = (partial + new TextDecoder().decode(chunk)).split("\n");
      partial = parts.pop()!;
      this.#lines.push(...parts);
      this.#wake?.();
    });
    this.process.stderr!.on("data", (chunk: Uint8Array) => this.#stderr += new TextDecoder().decode(chunk));
    const ended = () => {
      this.#exited = true;
      this.#wake?.();
    };
    this.process.on("exit", ended);
    this.process.on("error", (error) => {
      this.#stderr += String(error);
      ended();
    });
  }

  /** The next stdout line that starts with `prefix`, without it (earlier lines are dropped). */
  async line(prefix: string): Promise<string> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (line.startsWith(prefix)) return line.slice(prefix.length);
        continue;
      }
      if (this.#exited || Date.now() > deadline) {
        const why = this.#exited ? `exited (${this.process.exitCode})` : "did not answer";
        throw new Error(`ring processes: the ${this.label} ${why}:\n${this.#stderr.slice(-2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  async exited(): Promise<void> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!this.#exited && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Ends the child if it still runs (this process started it). */
  stop(): void {
    if (!this.#exited) this.process.kill();
  }
}

/** One run: the consumer starts, then the producer; returns the producer's messages per second. */
async function runOnce(producer: Child, consumer: Child, count: number, batch: number): Promise<number> {
  // One wait per child at a time: a wait drops the lines before the one it waits for.
  consumer.send(`run ${count} ${batch}`);
  await consumer.line(STARTED_LINE);
  producer.send(`run ${count} ${batch}`);
  const sent = JSON.parse(await producer.line(RESULT_PREFIX)) as ProcessSideResult;
  const got = JSON.parse(await consumer.line(RESULT_PREFIX)) as ProcessSideResult;
  if (got.received !== count || got.checksum !== count * (count - 1) / 4) {
    throw new Error(`ring processes: the ${consumer.label} got ${got.received} messages, checksum ${got.checksum}`);
  }
  return sent.perSecond;
}

async function direction(from: Runtime, to: Runtime, name: string, options: ProcessRingOptions) {
  const perBatch: Record<number, number[]> = {};
  const children: Child[] = [];
  try {
    const producer = new Child(`${from} producer`, from, "producer", name);
    children.push(producer);
    await producer.line(READY_LINE);
    const consumer = new Child(`${to} consumer`, to, "consumer", name);
    children.push(consumer);
    await consumer.line(READY_LINE);
    for (const batch of PROCESS_BATCHES) perBatch[batch] = [];
    for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
      for (const batch of round % 2 === 0 ? PROCESS_BATCHES : [...PROCESS_BATCHES].reverse()) {
        const perSecond = await runOnce(producer, consumer, options.counts[batch], batch);
        if (round >= options.warmUpRounds) perBatch[batch].push(perSecond);
      }
    }
    for (const child of [consumer, producer]) {
      child.send("quit");
      await child.exited();
    }
    return perBatch;
  } finally {
    for (const child of children) child.stop();
  }
}

const notFound = (error: unknown) => error instanceof HotpathError && error.code === "NOT_FOUND";

/** True if a ring of this name exists (Deno needs --allow-all to stat /dev/shm: ask the library). */
function ringExists(name: string): boolean {
  try {
    Ring.open({ name }).close();
    return true;
  } catch (error) {
    if (notFound(error)) return false;
    throw error;
  }
}

function unlinkQuietly(name: string): void {
  try {
    Ring.unlink({ name });
  } catch (error) {
    if (!notFound(error)) throw error;
  }
}

/** Runs both directions; see the module documentation. */
export async function ringProcesses(options: ProcessRingOptions): Promise<ProcessRingResults> {
  const perSecond: Record<string, Record<number, number[]>> = {};
  const paths: string[] = [];
  let leftInShm = false;
  for (const [from, to] of DIRECTIONS) {
    const name = `hotpath-ring-bench-${process.pid}-${from}-${to}`;
    const path = `/dev/shm/${name}`;
    paths.push(path);
    try {
      perSecond[`${from}->${to}`] = await direction(from, to, name, options);
      leftInShm ||= ringExists(name);
    } finally {
      unlinkQuietly(name);
    }
  }
  return { perSecond, paths, leftInShm };
}
