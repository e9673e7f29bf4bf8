/**
 * Reading the counter directories of running processes (see stats_publisher.ts), from any
 * process of the same user: what `hotpath top` shows. A directory is read (never mapped) and
 * copied under each entry's sequence lock, so a reader never sees half a publication and never
 * writes to the process it watches.
 *
 * A process killed with `kill -9` leaves its file behind: it reads as `dead` (its pid no longer
 * runs, or runs another program that started later), is skipped by `listCounters()` and is
 * removed by `removeDeadCounters()`. Entries of a thread that ended without closing its
 * publisher (a terminated Worker) are skipped too.
 *
 * @module
 */
import { openNative } from "../ffi/library.ts";
import { LIMITS, STATS_ENTRY, STATS_ENTRY_READ, STATS_HEADER, STATS_READ, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError, statusError } from "./errors.ts";
import { COUNTER_FIELDS, COUNTER_KINDS, type CounterRecord } from "./counters.ts";
import { checkPid, pathBytes, statsPath, statsRoot } from "./stats_files.ts";
import { readOptions } from "./validate.ts";

/** Whether a process or thread runs: "unknown" when the system cannot say (treated as running). */
export type Liveness = "alive" | "dead" | "unknown";

/** One published object as a reader sees it. */
export interface PublishedObject extends CounterRecord {
  /** The publishing thread (a Worker is its own thread). */
  tid: number;
  /** Milliseconds since its counters were published; -1 before the first publication. */
  ageMs: number;
  /** The publisher's cadence in ms: counters are at most this old while its thread runs freely. */
  intervalMs: number;
  /** Older than twice its interval: the publishing thread is blocked or busy. */
  stale: boolean;
  /** False when a writer held the entry for every copy attempt (its counters are NaN). */
  consistent: boolean;
}

/** One process's counter directory. */
export interface ProcessCounters {
  /** The publishing process. */
  pid: number;
  /** The runtime and script the process runs. */
  command: string;
  /** Whether the process still runs. */
  state: Liveness;
  /** The directory file. */
  path: string;
  /** Milliseconds since the directory was created. */
  uptimeMs: number;
  /** Objects the process could not publish because its directory was full. */
  overflow: number;
  /** Entries skipped because the thread that published them no longer runs. */
  deadThreadEntries: number;
  /** The objects, in directory order. */
  objects: PublishedObject[];
}

/** Options of the readers. */
export interface ReadOptions {
  /** Where directories are. Default: $HOTPATH_STATS_DIR, else /dev/shm. */
  directory?: string;
}

const VERDICTS: readonly Liveness[] = ["alive", "dead", "unknown"];
const STALE_FACTOR = 2;

/**
 * The counters process `pid` publishes. Throws NOT_FOUND when it publishes none, INCOMPATIBLE
 * for a file of another format. A dead process's directory is returned with state "dead".
 *
 * @example
 * ```ts
 * import { publishCounters, readCounters } from "@hotpath/core";
 * using publisher = publishCounters();
 * console.log(readCounters(process.pid).objects.length);
 * ```
 */
export function readCounters(pid: number, options: ReadOptions = {}): ProcessCounters {
  const where = "readCounters";
  const given = readOptions(where, options, ["directory"]);
  return readPath(statsPath(statsRoot(where, given.directory), checkPid(where, pid)), where);
}

/**
 * Every running process of this user that publishes counters, by pid. Directories of dead
 * processes are skipped (their pids are in `dead`).
 */
export function listCounters(options: ReadOptions = {}): { processes: ProcessCounters[]; dead: number[] } {
  const where = "listCounters";
  const given = readOptions(where, options, ["directory"]);
  const root = statsRoot(where, given.directory);
  const processes: ProcessCounters[] = [];
  const dead: number[] = [];
  for (const pid of publishingPids(root)) {
    try {
      const counters = readPath(statsPath(root, pid), where);
      if (counters.state === "dead") dead.push(pid);
      else processes.push(counters);
    } catch (error) {
      // Gone between the listing and the read, another user's, or another format: not ours to show.
      if (!(error instanceof HotpathError)) throw error;
    }
  }
  return { processes, dead };
}

/** Removes the directories of dead processes; returns their pids. */
export function removeDeadCounters(options: ReadOptions = {}): number[] {
  const where = "removeDeadCounters";
  const given = readOptions(where, options, ["directory"]);
  const root = statsRoot(where, given.directory);
  const removed: number[] = [];
  for (const pid of publishingPids(root)) {
    const path = pathBytes(statsPath(root, pid));
    if (openNative().symbols.hp_stats_remove_dead(path, path.length) === STATUS.ok) removed.push(pid);
  }
  return removed;
}

/** The pids of the counter directories in `root` (listed natively: Deno wants --allow-all for /dev). */
function publishingPids(root: string): number[] {
  const path = pathBytes(root);
  const out = new Uint32Array(LIMITS.statsListPidsMax);
  const count = openNative().symbols.hp_stats_list(path, path.length, out, out.byteLength);
  if (count === STATUS.notFound) throw new HotpathError("NOT_FOUND", `no directory ${root} to list counters in.`);
  if (count < 0) throw statusError(count, `listing counter directories in ${root}`, "POOL_EXHAUSTED");
  return [...out.subarray(0, count)].sort((a, b) => a - b);
}

function readPath(path: string, where: string): ProcessCounters {
  const out = new Uint8Array(LIMITS.statsReadOutBytes);
  const encoded = pathBytes(path);
  const count = openNative().symbols.hp_stats_read(encoded, encoded.length, out, out.length);
  if (count === STATUS.notFound) throw new HotpathError("NOT_FOUND", `${where}: no counter directory at ${path}.`);
  if (count === STATUS.incompatible) {
    throw new HotpathError("INCOMPATIBLE", `${where}: ${path} is not a hotpath counter directory of this version.`);
  }
  if (count < 0) throw statusError(count, `${where} (${path})`, "POOL_EXHAUSTED");
  const view = new DataView(out.buffer);
  const header = STATS_READ.header;
  const nowNs = view.getFloat64(STATS_READ.nowNs, true);
  const createdNs = Number(view.getBigUint64(header + STATS_HEADER.createdNs, true));
  const commandBytes = view.getUint32(header + STATS_HEADER.commandBytes, true);
  const objects: PublishedObject[] = [];
  let deadThreadEntries = 0;
  for (let index = 0; index < count; index++) {
    const at = STATS_READ.size + index * STATS_ENTRY_READ.size;
    const object = decodeEntry(view, out, at);
    if (object === undefined) deadThreadEntries++;
    else objects.push(object);
  }
  return {
    pid: view.getUint32(header + STATS_HEADER.owner, true),
    command: new TextDecoder().decode(
      out.subarray(header + STATS_HEADER.command, header + STATS_HEADER.command + commandBytes),
    ),
    state: VERDICTS[view.getUint32(STATS_READ.verdict, true)] ?? "unknown",
    path,
    uptimeMs: Math.max(0, (nowNs - createdNs) / 1e6),
    overflow: Number(view.getBigUint64(header + STATS_HEADER.overflow, true)),
    deadThreadEntries,
    objects,
  };
}

/** One copied entry, or undefined when its thread is dead (or its kind unknown to this version). */
function decodeEntry(view: DataView, bytes: Uint8Array, at: number): PublishedObject | undefined {
  if (VERDICTS[view.getUint32(at + STATS_ENTRY_READ.verdict, true)] === "dead") return undefined;
  const entry = at + STATS_ENTRY_READ.entry;
  const kind = COUNTER_KINDS[view.getUint32(entry + STATS_ENTRY.kind, true) - 1];
  if (kind === undefined) return undefined;
  const consistent = view.getUint32(at + STATS_ENTRY_READ.consistent, true) === 1;
  const nameBytes = Math.min(view.getUint32(entry + STATS_ENTRY.nameBytes, true), LIMITS.statsNameBytesMax);
  const ageNs = view.getFloat64(at + STATS_ENTRY_READ.ageNs, true);
  const intervalMs = Number(view.getBigUint64(entry + STATS_ENTRY.intervalNs, true)) / 1e6;
  const ageMs = ageNs < 0 ? -1 : ageNs / 1e6;
  const object = {
    kind,
    name: new TextDecoder().decode(bytes.subarray(entry + STATS_ENTRY.name, entry + STATS_ENTRY.name + nameBytes)),
    node: view.getInt32(entry + STATS_ENTRY.node, true),
    tid: view.getUint32(entry + STATS_ENTRY.owner + 4, true),
    ageMs,
    intervalMs,
    stale: ageMs < 0 || ageMs > STALE_FACTOR * intervalMs,
    consistent,
  } as PublishedObject;
  COUNTER_FIELDS.forEach((field, word) => {
    object[field] = consistent ? view.getFloat64(entry + STATS_ENTRY.counters + 8 * word, true) : NaN;
  });
  return object;
}
