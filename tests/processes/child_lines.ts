/**
 * Talking to a long-running child process line by line: spawn it under Deno or Bun, wait for
 * a line that starts with a prefix (with a deadline), send it a line, and kill it for good.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A child whose stdout is read as lines. */
export interface LineChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the first unread line starting with `prefix` (rejects after `timeoutMs`). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  /** Writes `text` and a newline to its stdin. */
  send(text: string): void;
  /** SIGKILLs it and resolves once it has exited. */
  kill(): Promise<void>;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
}

/** Spawns `script` (relative to the repository) with `args` under `runtime`. */
export function spawnLines(runtime: "deno" | "bun", script: string, args: string[]): LineChild {
  const binary = join(root, "node_modules", ".bin", runtime);
  const path = join(root, script);
  const argv = runtime === "deno"
    ? ["run", "--allow-ffi", "--allow-read", "--allow-env", path, ...args]
    : [path, ...args];
  const child = spawn(binary, argv, { stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let partial = "";
  let errors = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => (errors += text));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    process: child,
    pid: child.pid!,
    async line(prefix, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = lines.findIndex((line) => line.startsWith(prefix));
        if (index >= 0) return lines.splice(0, index + 1).pop()!;
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`${runtime} ${script}: no line "${prefix}" (exit ${child.exitCode}); stderr: ${errors}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    send(text) {
      child.stdin!.write(`${text}\n`);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    stderr: () => errors,
  };
}
