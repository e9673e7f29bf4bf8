/**
 * A Deno process and a Bun process on one named SharedPool at the same time. This process
 * creates the pool (/dev/shm/hotpath-bench-<pid>), starts one child per runtime
 * (bench/shared_process_child.ts), which opens it by name, and unlinks the name as soon as both
 * have it open; a `finally` unlinks it again (ignoring NOT_FOUND) and ends the children, so
 * nothing is left in /dev/shm even when a step fails.
 *
 * Each round: each child churns the shared pool alone for `runMs`, then both at once; then
 * the same on a private Pool in each child (what each process would have without sharing, and
 * what the machine allows two processes). A run in which a child's thread did not run for
 * more than 5% of it (another process had the CPU) is repeated, at most three times.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HotpathError, SharedPool } from "../mod.ts";
import { type ChildResult, READY_LINE, RESULT_PREFIX } from "./shared_process_child.ts";
import { WAIT_SHARE_MAX } from "./shared_churn.ts";

export type Runtime = "deno" | "bun";
export type ProcessKind = "shared" | "pool";

/** How long to measure. */
export interface ProcessOptions {
  rounds: number;
  runMs: number;
  warmUpMs: number;
}

/** Operations per second per round: [kind][runtime]. */
export type PerRound = Record<ProcessKind, Record<Runtime, number[]>>;

export interface ProcessResults {
  alone: PerRound;
  together: PerRound;
  /** Runs repeated because a child did not run for more than 5% of the run. */
  retries: number;
  /** The largest share of a kept run a child did not run. */
  waitShareMax: number;
  /** Blocks allocated after both children closed (`check()`, 0 expected). */
  leftInUse: number;
  /** The pool's file, and whether it was still there at the end (it must not be). */
  path: string;
  leftInShm: boolean;
}

const RETRIES_MAX = 3;
const TIMEOUT_MS = 60_000;
const root = fileURLToPath(new URL("..", import.meta.url));
const childScript = fileURLToPath(new URL("./shared_process_child.ts", import.meta.url));
const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

/** The command line that runs the child on `runtime`. */
function childCommand(runtime: Runtime, name: string, warmUpMs: number): [string, string[]] {
  const args = [childScript, name, String(warmUpMs)];
  if (runtime === "bun") return [isBun ? process.execPath : `${root}node_modules/.bin/bun`, args];
  const permissions = JSON.parse(readFileSync(`${root}deno-permissions.json`, "utf8")) as { run: string[] };
  return [deno ? deno.execPath() : `${root}node_modules/.bin/deno`, ["run", ...permissions.run, ...args]];
}

/** One child process and its stdout, line by line. */
class Child {
  readonly process: ChildProcess;
  #lines: string[] = [];
  #waiting: (() => void) | undefined;
  #stderr = "";
  #exited = false;

  constructor(readonly runtime: Runtime, name: string, warmUpMs: number) {
    const [command, args] = childCommand(runtime, name, warmUpMs);
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
      this.#waiting?.();
    });
    this.process.stderr!.on("data", (chunk: Uint8Array) => this.#stderr += new TextDecoder().decode(chunk));
    const ended = () => {
      this.#exited = true;
      this.#waiting?.();
    };
    this.process.on("exit", ended);
    this.process.on("error", (error) => {
      this.#stderr += String(error);
      ended();
    });
  }

  /** The next stdout line that starts with `prefix` (earlier lines are dropped). */
  async line(prefix: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (line.startsWith(prefix)) return line.slice(prefix.length);
        continue;
      }
      if (this.#exited || Date.now() > deadline) {
        const why = this.#exited ? `exited (${this.process.exitCode})` : "did not answer";
        throw new Error(`shared processes: the ${this.runtime} child ${why}:\n${this.#stderr.slice(-2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiting = undefined;
    }
  }

  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  /** Resolves when the child has exited (at most TIMEOUT_MS from now). */
  async exited(): Promise<void> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (!this.#exited && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Ends the child if it still runs (this process started it). */
  stop(): void {
    if (!this.#exited) this.process.kill();
  }
}

/** True if a pool of this name exists (Deno needs --allow-all to stat /dev/shm: ask the library). */
function nameExists(name: string): boolean {
  try {
    SharedPool.open({ name }).close();
    return true;
  } catch (error) {
    if (error instanceof HotpathError && error.code === "NOT_FOUND") return false;
    throw error;
  }
}

function unlinkQuietly(name: string): void {
  try {
    SharedPool.unlink({ name });
  } catch (error) {
    if (!(error instanceof HotpathError && error.code === "NOT_FOUND")) throw error;
  }
}

/** Sends `kind` to every child at once; their results, in the order of `children`. */
async function command(children: Child[], kind: ProcessKind, runMs: number): Promise<ChildResult[]> {
  const replies = children.map((child) => child.line(RESULT_PREFIX, TIMEOUT_MS + runMs));
  for (const child of children) child.send(`${kind} ${runMs}`);
  return (await Promise.all(replies)).map((line) => JSON.parse(line) as ChildResult);
}

/** `command`, repeated (at most RETRIES_MAX times) while a child did not run for too long. */
async function undisturbed(children: Child[], kind: ProcessKind, runMs: number) {
  let results = await command(children, kind, runMs);
  let retries = 0;
  const waited = () => Math.max(...results.map((result) => result.waitShare));
  while (waited() > WAIT_SHARE_MAX && retries < RETRIES_MAX) {
    retries++;
    results = await command(children, kind, runMs);
  }
  return { results, retries, waitShare: waited() };
}

function emptyPerRound(): PerRound {
  return { shared: { deno: [], bun: [] }, pool: { deno: [], bun: [] } };
}

async function measure(children: Child[], options: ProcessOptions) {
  const alone = emptyPerRound();
  const together = emptyPerRound();
  let retries = 0;
  let waitShareMax = 0;
  const keep = (run: Awaited<ReturnType<typeof undisturbed>>, into: PerRound) => {
    for (const result of run.results) into[result.kind][result.runtime].push(result.perSecond);
    retries += run.retries;
    waitShareMax = Math.max(waitShareMax, run.waitShare);
  };
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of ["shared", "pool"] as const) {
      const order = round % 2 === 0 ? children : [...children].reverse();
      for (const child of order) keep(await undisturbed([child], kind, options.runMs), alone);
      keep(await undisturbed(children, kind, options.runMs), together);
    }
  }
  return { alone, together, retries, waitShareMax };
}

/** Runs the two processes on one named pool; see the module documentation. */
export async function sharedProcesses(options: ProcessOptions): Promise<ProcessResults> {
  const name = `hotpath-bench-${process.pid}`;
  const path = `/dev/shm/${name}`;
  const children: Child[] = [];
  let pool: SharedPool | undefined;
  try {
    pool = new SharedPool({ blockSize: 64, capacity: 4096, name, debug: false });
    children.push(new Child("deno", name, options.warmUpMs), new Child("bun", name, options.warmUpMs));
    await Promise.all(children.map((child) => child.line(READY_LINE, TIMEOUT_MS + 4 * options.warmUpMs)));
    // Both children have it open: the name can go now.
    unlinkQuietly(name);
    const measured = await measure(children, options);
    await Promise.all(children.map((child) => {
      child.send("quit");
      return child.exited();
    }));
    return { ...measured, leftInUse: pool.check(), path, leftInShm: nameExists(name) };
  } finally {
    for (const child of children) child.stop();
    pool?.close();
    try {
      unlinkQuietly(name);
    } catch (error) {
      console.error(`shared processes: could not unlink ${path}: ${error}`);
    }
  }
}
