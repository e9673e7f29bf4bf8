/**
 * Where counter directories live: one file per publishing process, `hotpath-stats-<pid>` in
 * `/dev/shm` (or `$HOTPATH_STATS_DIR`, or the `directory` option), so that a reader finds every
 * process of the user by listing one directory and a pid by one name.
 *
 * @module
 */
import process from "node:process";
import { LIMITS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { describe } from "./validate.ts";

/** File names of counter directories start with this, then the pid. */
export const STATS_FILE_PREFIX = "hotpath-stats-";

const PID_MAX = 2 ** 22; // Linux's pid_max limit

/** The directory holding counter directories: the option, else $HOTPATH_STATS_DIR, else /dev/shm. */
export function statsRoot(where: string, directory: unknown): string {
  let root = directory;
  if (root === undefined) {
    try {
      root = process.env.HOTPATH_STATS_DIR || "/dev/shm";
    } catch {
      root = "/dev/shm"; // no permission to read the environment
    }
  }
  const bytes = typeof root === "string" ? new TextEncoder().encode(root).length : 0;
  if (typeof root !== "string" || !root.startsWith("/") || root.includes("\0") || bytes > 160) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: directory must be an absolute path of at most 160 bytes; got ${describe(root)}.`,
    );
  }
  return root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root;
}

/** The counter directory file of process `pid` under `root`. */
export function statsPath(root: string, pid: number): string {
  return `${root}/${STATS_FILE_PREFIX}${pid}`;
}

/** A checked pid (an integer from 1 to 2^22 - 1). */
export function checkPid(where: string, pid: unknown): number {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid < 1 || pid >= PID_MAX) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: pid must be an integer from 1 to ${PID_MAX - 1}; got ${describe(pid)}.`,
    );
  }
  return pid;
}

/** UTF-8 bytes of `text`, cut at a character boundary to at most `limit` bytes. */
export function utf8Cut(text: string, limit: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= limit) return bytes;
  let end = limit;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return bytes.slice(0, end);
}

/** The path as the bytes the library reads (checked against its limit). */
export function pathBytes(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length >= LIMITS.sharedPathBytesMax) throw new HotpathError("INVALID_ARGUMENT", `path too long: ${path}`);
  return bytes;
}
