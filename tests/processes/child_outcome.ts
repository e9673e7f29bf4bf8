/**
 * How a child process of a fuzz test ended: cleanly, with a failure, or crashed.
 *
 * @module
 */
import type { SpawnSyncReturns } from "node:child_process";

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
