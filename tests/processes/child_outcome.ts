/**
 * What the fuzz tests and their child processes share: how a child ended (cleanly, with a
 * failure, or crashed), replaying a crash, the child's report, and the child's own plumbing.
 *
 * @module
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** How long a fuzz child may run: below the 120 s test timeout, with room for one replay after a crash. */
export const CHILD_TIMEOUT_MS = 55_000;
/** The most memory a fuzz child may have used at its peak. */
export const CHILD_RSS_LIMIT_BYTES = 1 << 30;

/** Writes to stdout (1) or stderr (2) at once: a crash right after loses nothing. */
export function write(fd: 1 | 2, text: string): void {
  writeSync(fd, text);
}

/** A non-negative integer argument or variable; undefined when absent or blank. */
export function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a non-negative integer: ${text}`);
  return value;
}

/** A non-negative integer environment variable of the test; undefined when unset or blank. */
export function integerFromEnvironment(name: string): number | undefined {
  const text = process.env[name];
  try {
    return parseInteger(text);
  } catch {
    throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  }
}

/** The last `lines` lines of an output. */
export function tail(text: string | null | undefined, lines: number): string {
  return (text ?? "").trimEnd().split("\n").slice(-lines).join("\n");
}

/** How the child ended, when that is not a clean exit. */
export function failureOf(result: SpawnSyncReturns<string>): string | undefined {
  if (result.error !== undefined) return `did not finish: ${result.error.message}`;
  if (result.signal !== null) return `was killed by ${result.signal}`;
  if (result.status !== 0) return `exited with status ${result.status}`;
  return undefined;
}

/** True when the child died of a fault rather than failing an assertion or timing out. */
export function crashed(result: SpawnSyncReturns<string>): boolean {
  // Bun reports some faults itself ("panic: Segmentation fault at address ...") before dying;
  // a Zig safety check (ReleaseSafe or Debug library) prints "panic: reached unreachable code".
  return result.signal !== null && result.signal !== "SIGTERM" ||
    /Segmentation fault|Bus error|Illegal instruction|panic[(:]/.test(result.stderr ?? "");
}

/**
 * Replays a crashed seed with a trace from its last progress mark (`progress calls=N` on
 * stderr): the last call the replay traces (`call #N ...`) is the crash. `run` replays with
 * tracing from a call number, under the variable `traceVariable`.
 */
export function replayCrash(
  stderr: string,
  traceVariable: string,
  run: (traceFrom: number) => SpawnSyncReturns<string>,
): string {
  const marks = [...stderr.matchAll(/^progress calls=(\d+)/gm)];
  const from = marks.length === 0 ? 0 : Number(marks[marks.length - 1][1]);
  const replay = run(from);
  const traced = [...(replay.stderr ?? "").matchAll(/^call #\d+ .*$/gm)];
  const lastCall = traced.length === 0 ? "(no call traced)" : traced[traced.length - 1][0];
  return `replay (${traceVariable}=${from}) ${failureOf(replay) ?? "did not crash"}; crashing call: ${lastCall}`;
}

/** The child's report: the last line of its stdout that is a JSON object. */
export function parseReport<T>(stdout: string): T | undefined {
  const line = stdout.trimEnd().split("\n").reverse().find((text) => text.startsWith("{"));
  return line === undefined ? undefined : JSON.parse(line) as T;
}

/** Opens the library in a fuzz child, retrying: the suite may be rebuilding it at that moment. */
export async function loadWithRetry<T>(open: () => T, log: (line: string) => void): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return open();
    } catch (error) {
      if (attempt >= 3) throw error;
      log(`load failed (attempt ${attempt}), retrying in 5 s: ${String(error)}\n`);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
}

/**
 * Runs a fuzz child on the runtime running the tests: `script` with `args` (Deno gets
 * `permissions`), the environment passed on except `traceVariable`, which is set to `traceFrom`
 * when a replay asks for a call trace.
 */
export function spawnFuzzChild(options: {
  script: string;
  args: string[];
  permissions: string[];
  traceVariable: string;
  traceFrom?: number;
}): SpawnSyncReturns<string> {
  const script = [options.script, ...options.args];
  const args = typeof (globalThis as { Deno?: unknown }).Deno === "object"
    ? ["run", ...options.permissions, ...script]
    : script;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name !== options.traceVariable) env[name] = value;
  }
  if (options.traceFrom !== undefined) env[options.traceVariable] = String(options.traceFrom);
  // A replay with a trace writes one line a call from the last progress mark on.
  return spawnSync(process.execPath, args, { env, encoding: "utf8", timeout: CHILD_TIMEOUT_MS, maxBuffer: 256 << 20 });
}

/** A private directory of mode 0700: in /dev/shm if node:fs may reach it (not on Deno), else in tmpdir. */
export function privateDirectory(prefix: string): string {
  try {
    return mkdtempSync(`/dev/shm/${prefix}`);
  } catch {
    return mkdtempSync(join(tmpdir(), prefix));
  }
}
