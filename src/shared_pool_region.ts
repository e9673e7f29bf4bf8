/**
 * The native side of a SharedPool as TypeScript sees it: creating, opening and attaching its
 * region, claiming this realm's cache, and reading the geometry and counters the library
 * validated. Every failure becomes a HotpathError that says what to do.
 *
 * @module
 */
import type { Native } from "../ffi/library.ts";
import { SHARED_CACHE_INFO, SHARED_GEOMETRY, SHARED_POOL_CONFIG, SHARED_STATS, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError, statusError } from "./errors.ts";
import { f64Record } from "./header_words.ts";
import type { SharedCacheStats } from "./shared_pool_options.ts";
import { environment } from "./environment.ts";
import { type ResolvedPlacement, writePlacement } from "./placement.ts";
import { claimRequest, creationError, rememberRequest } from "./placement_report.ts";

/** The geometry of an attached region, as the library validated it (never re-read from the region). */
export interface SharedGeometry {
  blockSize: number;
  alignment: number;
  capacity: number;
  capacityMax: number;
  growChunk: number;
  cachesMax: number;
  cacheCapacity: number;
  retireCapacity: number;
  retireOffset: number;
  limboEntries: number;
  homesOffset: number;
  /** One bitmap per cache, `bitmapWords` u32 words each: bit h set while h is in that magazine. */
  bitmapsOffset: number;
  bitmapWords: number;
  blockStride: number;
  cacheStride: number;
  ownersOffset: number;
  cachesOffset: number;
  blocksOffset: number;
  regionBytes: number;
}

/** One realm's hold on a shared pool region: its id, buffer, geometry and cache. */
export interface SharedAttachment {
  id: number;
  buffer: ArrayBuffer;
  address: number;
  geometry: SharedGeometry;
  cacheToken: number;
  cacheIndex: number;
}

/** What creation asks of the library. */
export interface SharedCreateConfig {
  blockSize: number;
  capacity: number;
  capacityMax: number;
  growChunk: number;
  alignment: number;
  cachesMax: number;
  cacheCapacity: number;
  retireCapacity: number;
}

const encoder = new TextEncoder();

function pathBytes(path: string | undefined): Uint8Array | null {
  return path === undefined ? null : encoder.encode(path);
}

/** Creates a region (anonymous, or the new file `path`); returns its id. */
export function createSharedRegion(
  native: Native,
  config: SharedCreateConfig,
  placement: ResolvedPlacement,
  path: string | undefined,
  subject: string,
  committedEstimate: number,
): number {
  if (path !== undefined) checkFreeSpace(native, path, committedEstimate, subject);
  const bytes = new Uint8Array(SHARED_POOL_CONFIG.size);
  const words = new Uint32Array(bytes.buffer);
  words[SHARED_POOL_CONFIG.configBytes >>> 2] = SHARED_POOL_CONFIG.size;
  for (const [name, value] of Object.entries(config)) {
    words[SHARED_POOL_CONFIG[name as keyof SharedCreateConfig] >>> 2] = value;
  }
  writePlacement(words, SHARED_POOL_CONFIG.placement, placement);
  const encoded = pathBytes(path);
  const id = native.symbols.hp_shared_pool_create(bytes, bytes.length, encoded, encoded?.length ?? 0);
  if (id === STATUS.noSpace && path !== undefined) throw noSpace(native, path, committedEstimate, subject);
  if (id < 0) {
    const named = path === undefined ? subject : `${subject} ${path}`;
    throw creationError(native, id, named, "POOL_EXHAUSTED", placement);
  }
  rememberRequest(id, placement);
  return id;
}

/** Opens the named region at `path` (a new mapping in this process); returns its id. */
export function openSharedRegion(native: Native, path: string, subject: string): number {
  const encoded = pathBytes(path)!;
  const id = native.symbols.hp_shared_pool_open(encoded, encoded.length);
  if (id < 0) throw statusError(id, `${subject} ${path}`, "POOL_EXHAUSTED");
  return id;
}

/** Adds this realm to region `id` of this process; false if it is no longer open here. */
export function attachSharedRegion(native: Native, id: number): boolean {
  return native.symbols.hp_shared_pool_attach(id) === STATUS.ok;
}

/**
 * Claims this realm's cache in region `id` (already attached by this realm) and builds the
 * realm's buffer over the region. On failure the realm's attachment is given back.
 */
export function holdSharedRegion(native: Native, id: number, subject: string): SharedAttachment {
  const token = native.symbols.hp_shared_cache_claim(id);
  if (token < 0) {
    native.symbols.hp_region_close(id);
    if (token === STATUS.limitReached) {
      throw new HotpathError(
        "LIMIT_REACHED",
        `${subject}: every cache of the pool is taken by a running Worker or process (maxWorkers). ` +
          "Close pools you no longer use, or create the pool with a larger maxWorkers.",
      );
    }
    throw statusError(token, subject, "POOL_EXHAUSTED");
  }
  const buffer = native.regionBuffer(id, token);
  if (buffer === undefined) {
    native.symbols.hp_shared_cache_release(id, token);
    native.symbols.hp_region_close(id);
    throw new HotpathError("CLOSED", `${subject}: the region closed while it was being attached.`);
  }
  claimRequest(id, buffer);
  const geometry = readGeometry(native, id);
  return {
    id,
    buffer,
    address: native.symbols.hp_region_address(id),
    geometry,
    cacheToken: token,
    cacheIndex: token & 0xff,
  };
}

function readGeometry(native: Native, id: number): SharedGeometry {
  const out = new Float64Array(SHARED_GEOMETRY.size / 8);
  const status = native.symbols.hp_shared_geometry(id, out, out.byteLength);
  if (status < 0) throw statusError(status, "SharedPool", "POOL_EXHAUSTED");
  return f64Record(SHARED_GEOMETRY, out) as unknown as SharedGeometry;
}

/** The counters of region `id` as numbers, keyed as in SHARED_STATS. */
export function readCounters(
  native: Native,
  id: number,
  subject: string,
): ReturnType<typeof f64Record<typeof SHARED_STATS>> {
  const out = new Float64Array(SHARED_STATS.size / 8);
  const status = native.symbols.hp_shared_stats(id, out, out.byteLength);
  if (status < 0) throw statusError(status, subject, "POOL_EXHAUSTED");
  return f64Record(SHARED_STATS, out);
}

const VERDICTS = ["alive", "dead", "unknown"] as const;

/** Every cache slot in use, with its owner and whether that owner still runs. */
export function readCaches(native: Native, id: number, cachesMax: number, mine: number): SharedCacheStats[] {
  const out = new Float64Array(SHARED_CACHE_INFO.size / 8);
  const caches: SharedCacheStats[] = [];
  for (let index = 0; index < cachesMax; index++) {
    if (native.symbols.hp_shared_cache_info(id, index, out, out.byteLength) < 0) continue;
    if (out[SHARED_CACHE_INFO.state / 8] !== 1) continue; // live caches only
    caches.push({
      pid: out[SHARED_CACHE_INFO.pid / 8],
      tid: out[SHARED_CACHE_INFO.tid / 8],
      cached: out[SHARED_CACHE_INFO.count / 8],
      owner: VERDICTS[out[SHARED_CACHE_INFO.verdict / 8]] ?? "unknown",
      mine: index === mine,
    });
  }
  return caches;
}

function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/**
 * Bytes free on the file system of `path`'s directory (-1 if unknown). Tests set
 * HOTPATH_TEST_FREE_BYTES to stand for a small /dev/shm: this machine's is too large to fill.
 */
function freeBytes(native: Native, path: string): number {
  const pretended = Number(environment("HOTPATH_TEST_FREE_BYTES") ?? Number.NaN);
  if (Number.isSafeInteger(pretended) && pretended >= 0) return pretended;
  const directory = encoder.encode(directoryOf(path));
  return native.symbols.hp_shared_free_bytes(directory, directory.length);
}

function noSpace(native: Native, path: string, needed: number, subject: string): HotpathError {
  const free = freeBytes(native, path);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return new HotpathError(
    "NO_SPACE",
    `${subject} ${path}: needs about ${mib(needed)} at creation but ${directoryOf(path)} has ` +
      `${free < 0 ? "an unknown amount" : mib(free)} free. Containers often mount a small /dev/shm ` +
      "(docker run --shm-size=1g raises it); ask for less, or give a path on another file system.",
  );
}

function checkFreeSpace(native: Native, path: string, needed: number, subject: string): void {
  const free = freeBytes(native, path);
  if (free >= 0 && free < needed) throw noSpace(native, path, needed, subject);
}

/** True when `path` names the file of named region `id` (a descriptor's path is believed only then). */
export function pathMatches(native: Native, id: number, path: string): boolean {
  const encoded = encoder.encode(path);
  return native.symbols.hp_shared_path_matches(id, encoded, encoded.length) === 1;
}

/** Removes the name of a named region; processes that have it open keep using it. */
export function unlinkSharedRegion(native: Native, path: string, subject: string): void {
  const encoded = encoder.encode(path);
  const status = native.symbols.hp_shared_unlink(encoded, encoded.length);
  if (status < 0) throw statusError(status, `${subject} ${path}`, "POOL_EXHAUSTED");
}
