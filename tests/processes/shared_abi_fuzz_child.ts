/**
 * Child process of tests/shared_abi_fuzz_test.ts: a fuzz of every `hp_shared_*` export of
 * libhotpath (and `hp_region_close`, which detaches a shared pool), called straight through FFI
 * with random and hostile arguments. A crash of this process is the failure it looks for; the
 * parent counts it and replays the seed with a trace.
 *
 * Unlike tests/processes/abi_fuzz_child.ts, which builds every argument from its type alone, this
 * fuzz knows what each shared export takes, so that arguments reach past the first checks:
 * - ids: live shared pools it created or opened (anonymous, named, from hostile-but-valid files),
 *   ids it closed, ids of a Pool and an Arena, live ids with another generation, boundaries;
 * - cache tokens it claimed (for cache_close, refill, flush, collect, recover), the same with
 *   another generation, an index past `caches_max`, a generation past 22 bits; cache indexes
 *   around `caches_max` (cache_info);
 * - out buffers of the exact size and alignment, unaligned, short, long, empty, null;
 * - paths: fresh names in a private directory (created), names that exist (regions, hostile
 *   files, a FIFO, a symlink, a directory), files of the system (opened only), and malformed
 *   ones (no leading slash, a NUL inside, 256 and 1000 bytes, empty). Files are only ever
 *   created or unlinked inside the private directory, whose path the parent gives and removes.
 * - configs: ones the TypeScript layer wrote (recorded), with fields set to boundary values.
 *
 * Beside "no crash", it checks contracts whose breach would be silent (`violations`): an id that
 * is closed, stale or of another kind must give invalid_id; an out buffer of the wrong size or
 * alignment, or a cache index past caches_max, must be refused; a malformed path must give
 * invalid_path.
 *
 * Usage: `<runtime> tests/processes/shared_abi_fuzz_child.ts <seed> <calls> <directory>`. The
 * first stdout line is `seed=N`, the last a JSON SharedFuzzReport. HOTPATH_SHARED_FUZZ_TRACE_FROM=K
 * writes every call from number K on to stderr before it is made: the last one before a crash
 * is the crashing call. A run is deterministic for a seed.
 *
 * @module
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { type NativeType, symbols } from "../../ffi/symbols.ts";
import { openNative } from "../../ffi/library.ts";
import {
  LIMITS,
  SHARED_CACHE_INFO,
  SHARED_GEOMETRY,
  SHARED_POOL_CONFIG,
  SHARED_POOL_HEADER,
  SHARED_STATS,
  STATUS,
} from "../../ffi/abi.generated.ts";
import { draws } from "../random.ts";
import { loadWithRetry, parseInteger, write } from "./child_outcome.ts";
import { type Call, type FunctionStats, runCalls, Scratch, Violations } from "./fuzz_kit.ts";

/** Counts of one export's calls. */
export type SharedFunctionStats = FunctionStats;

/** The child's final JSON line. */
export interface SharedFuzzReport {
  seed: number;
  runtime: string;
  calls: number;
  elapsedMs: number;
  regionsCreated: number;
  namedCreated: number;
  opened: number;
  claims: number;
  fixtures: string[];
  peakRssBytes: number;
  /** Contract breaches, first few (see the module documentation). */
  violations: string[];
  violationCount: number;
  perFunction: Record<string, SharedFunctionStats>;
}

// ---------------------------------------------------------------------------------------------
// Process plumbing

const argv = process.argv.slice(2);
const seed = (parseInteger(argv[0]) ?? crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
write(1, `seed=${seed}\n`);
const callsTarget = parseInteger(argv[1]) ?? 200_000;
const directory = argv[2];
if (directory === undefined || !directory.startsWith("/") || !existsSync(directory)) {
  throw new Error(`give an existing private directory as the third argument, got ${directory}`);
}
const traceFrom = parseInteger(process.env.HOTPATH_SHARED_FUZZ_TRACE_FROM) ?? Number.POSITIVE_INFINITY;

const LIVE_MAX = 12;
const CLOSED_MAX = 64;
const PROGRESS_EVERY = 8192;
const RSS_ABORT_BYTES = 900 * 2 ** 20;
const GENERATION_STEP = 2 ** LIMITS.slotBits;
const S = STATUS;

const native = await loadWithRetry(openNative, (line) => write(2, line));
type NativeFunction = (...args: unknown[]) => unknown;
const calls = native.symbols as unknown as Record<string, NativeFunction>;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: mulberry32

const { nextU32, below, chance, pick } = draws(seed);

// ---------------------------------------------------------------------------------------------
// What the fuzz knows

interface Region {
  id: number;
  /** Realms attached: create/open give 1, each accepted attach adds one, each close removes one. */
  attaches: number;
  /** The file, for named regions (inside the private directory). */
  path: string | undefined;
  cachesMax: number;
  tokens: number[];
}

const live: Region[] = [];
const closedIds: number[] = [];
/** Ids of a live Pool and Arena (other kinds): every shared export must refuse them. */
const otherKindIds: number[] = [];
/** Every id known to name a live region of any kind (the seeding's too): never "dead". */
const knownLive = new Set<number>();
let focus: Region | undefined;
let regionsCreated = 0;
let namedCreated = 0;
let opened = 0;
let claims = 0;
const violations = new Violations();
const violation = (text: string) => violations.add(text);

// ---------------------------------------------------------------------------------------------
// Scratch memory: every buffer argument is a view into it, so a length the caller lies about
// reads memory the fuzz owns (see tests/processes/abi_fuzz_child.ts, SCRATCH_BYTES).

const scratch = new Scratch(1 << 20);
const scratchView = (length: number, misalign = 0) => scratch.view(length, misalign);

// ---------------------------------------------------------------------------------------------
// Configs, recorded from the TypeScript layer

const recordedConfigs: Uint8Array[] = [];
const seedObjects: { close(): void }[] = [];

/**
 * Creates a few pools through the public API while `hp_shared_pool_create` is wrapped, keeping
 * the config bytes it was given (so the fuzz needs no knowledge of the config's fields), and
 * finds the ids of a Pool and an Arena by their addresses.
 */
async function seedFromApi(): Promise<void> {
  const target = native.symbols as unknown as Record<string, NativeFunction>;
  const original = target.hp_shared_pool_create;
  target.hp_shared_pool_create = (...args: unknown[]) => {
    const config = args[0] as Uint8Array;
    recordedConfigs.push(new Uint8Array(config.buffer, config.byteOffset, config.byteLength).slice());
    return original(...args);
  };
  try {
    const api = await import("../../mod.ts");
    seedObjects.push(new api.SharedPool({ blockSize: 16, capacity: 8, cache: 4, maxWorkers: 4 }));
    seedObjects.push(new api.SharedPool({ blockSize: 40, capacity: 4, grow: { chunk: 4, maxCapacity: 64 }, cache: 2 }));
    seedObjects.push(new api.SharedPool({ blockSize: 8, capacity: 2, maxWorkers: 1, cache: 2, align: 64 }));
    // Valid non-zero placement words, for the mutations to start from.
    seedObjects.push(new api.SharedPool({ blockSize: 16, capacity: 8, placement: { node: 0 }, lock: true }));
    seedObjects.push(
      new api.SharedPool({ blockSize: 16, capacity: 8, placement: "Interleaved", hugePages: "explicit" }),
    );
    const pool = new api.Pool({ blockSize: 16, capacity: 4 });
    const arena = new api.Arena({ capacity: 4096 });
    seedObjects.push(pool, arena);
    for (const address of [pool.ptr(pool.alloc()), arena.ptr(arena.alloc(8))]) {
      const id = regionIdOf(address);
      if (id !== undefined) otherKindIds.push(id);
    }
  } finally {
    target.hp_shared_pool_create = original;
  }
  if (recordedConfigs.length === 0) {
    throw new Error("the TypeScript layer created no shared pool to learn a config from");
  }
}

/** The id of the live region holding `address`, through the library's own lookups. */
function regionIdOf(address: number): number | undefined {
  for (let generation = 1; generation <= 64; generation++) {
    for (let slot = 0; slot < GENERATION_STEP; slot++) {
      const id = generation * GENERATION_STEP + slot;
      const start = calls.hp_region_address(id) as number;
      if (start > 0 && address >= start && address < start + (calls.hp_region_bytes(id) as number)) {
        knownLive.add(id);
        return id;
      }
    }
  }
  return undefined;
}

/** Fields of the config that size a region: kept small (or invalid) so memory stays bounded. */
const SIZE_FIELDS = ["blockSize", "capacity", "capacityMax", "growChunk", "cachesMax", "cacheCapacity"];
const SMALL = [0, 1, 2, 3, 4, 5, 7, 8, 16, 63, 64, 65, 254, 255, 256, 1024, 4095, 4096, 4097];
const HUGE = [2 ** 20, 2 ** 20 + 1, 2 ** 26, 2 ** 26 + 1, 2 ** 31, 0x7fffffff, 0xfffffffe, 0xffffffff];

/** A config: a recorded one, often with one to three fields (or raw words) changed. */
function configArgument(): [Uint8Array | null, number] {
  if (chance(0.03)) return [null, pick([0, SHARED_POOL_CONFIG.size])];
  const base = pick(recordedConfigs);
  const misalign = chance(0.2) ? 1 + below(7) : 0;
  const view = scratchView(base.length, misalign);
  view.set(base);
  const words = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const changes = chance(0.4) ? 0 : 1 + below(3);
  const fields = Object.entries(SHARED_POOL_CONFIG).filter(([name]) => name !== "size");
  for (let change = 0; change < changes; change++) {
    const [name, offset] = pick(fields);
    if (offset + 4 > view.length) continue;
    const small = SIZE_FIELDS.includes(name) && chance(0.85);
    words.setUint32(offset, small ? pick(SMALL) : pick([...SMALL, ...HUGE, nextU32()]), true);
  }
  boundCommitted(words);
  const length = chance(0.9) ? view.length : pick([0, 4, view.length - 1, view.length + 1, 128]);
  return [view, length];
}

/**
 * Keeps a valid config modest, so that a created region commits little memory: a field between
 * its modest bound and the library's limit is brought down to the bound; values past the limit
 * (which the library must refuse) stay as they are.
 */
function boundCommitted(words: DataView): void {
  const clamp = (name: string, modest: number, limit: number) => {
    const offset = (SHARED_POOL_CONFIG as Record<string, number>)[name];
    if (offset === undefined || offset + 4 > words.byteLength) return;
    const value = words.getUint32(offset, true);
    if (value > modest && value <= limit) words.setUint32(offset, modest, true);
  };
  clamp("blockSize", 4096, LIMITS.blockSizeMax);
  clamp("capacity", 4096, LIMITS.poolCapacityMax);
  clamp("capacityMax", 1 << 16, LIMITS.poolCapacityMax);
  clamp("growChunk", 1 << 16, LIMITS.poolCapacityMax);
  clamp("cachesMax", 64, LIMITS.sharedCachesMax);
  clamp("cacheCapacity", 512, LIMITS.sharedCacheCapacityMax);
  clamp("retireCapacity", 512, 1 << 20);
}

// ---------------------------------------------------------------------------------------------
// Paths

const encoder = new TextEncoder();
let pathCounter = 0;

/** Hostile files and other things that are not regions, made once in the private directory. */
const fixtures: string[] = [];
/** Paths in the directory that hold a valid region file nobody created through the fuzz. */
const validFiles: string[] = [];

function freshPath(): string {
  return join(directory, `r${pathCounter++}`);
}

/** A path of exactly `bytes` bytes inside the directory (a fresh name). */
function paddedPath(bytes: number): string {
  const base = `${directory}/p${pathCounter++}-`;
  return base + "x".repeat(Math.max(0, bytes - base.length));
}

type PathUse = "create" | "open" | "unlink" | "statfs";

interface PathArgument {
  bytes: Uint8Array | null;
  length: number;
  /** True when the path is malformed: the export must answer invalid_path (or -1). */
  malformed: boolean;
  /** The fresh or known file a successful create/open made a region of. */
  path: string | undefined;
}

function encodedArgument(text: string, malformed = false, path?: string): PathArgument {
  const encoded = encoder.encode(text);
  const view = scratchView(encoded.length, below(8));
  view.set(encoded);
  return { bytes: view, length: encoded.length, malformed, path };
}

function malformedPath(): PathArgument {
  switch (below(8)) {
    case 0:
      return encodedArgument("relative/name", true);
    case 1:
      return encodedArgument(`${directory}/with\0nul`, true);
    case 2:
      return encodedArgument(paddedPath(256), true);
    case 3:
      return encodedArgument(paddedPath(1000), true);
    case 4:
      return { bytes: null, length: pick([1, 8, 255]), malformed: true, path: undefined };
    case 5:
      return { ...encodedArgument(`${directory}/x`), length: 0, malformed: true };
    case 6:
      return encodedArgument("", true);
    default:
      return encodedArgument(`\0${directory}/x`, true);
  }
}

function pathArgument(use: PathUse): PathArgument {
  if (chance(0.25)) return malformedPath();
  const regions = live.filter((region) => region.path !== undefined).map((region) => region.path!);
  const inside = [...fixtures, ...validFiles, ...regions, directory, `${directory}/absent`, `${directory}/absent/x`];
  if (use === "create") {
    if (chance(0.5)) {
      const path = chance(0.1) ? paddedPath(255) : freshPath();
      return encodedArgument(path, false, path);
    }
    return encodedArgument(pick(inside));
  }
  if (use === "unlink") return encodedArgument(pick(inside));
  const system = ["/dev/null", "/proc/self/status", "/", "/dev/shm", "/nonexistent-hotpath/x"];
  const path = chance(0.8) ? pick(inside) : pick(system);
  const argument = encodedArgument(path, false, path);
  // Only free_bytes (a statfs) gets a length that lies: a shorter or longer read of the scratch.
  if (use === "statfs" && chance(0.2)) argument.length = below(260);
  return argument;
}

// ---------------------------------------------------------------------------------------------
// Ids, tokens, indexes, out buffers

interface IdChoice {
  id: number;
  region: Region | undefined;
  /** True when the id is known to name no live shared pool: invalid_id is the only answer. */
  dead: boolean;
}

function choose(region: Region): IdChoice {
  focus = region;
  return { id: region.id, region, dead: false };
}

function anyId(): IdChoice {
  const roll = below(100);
  if (roll < 50 && live.length > 0) {
    return choose(focus !== undefined && live.includes(focus) && chance(0.5) ? focus : pick(live));
  }
  if (roll < 62 && closedIds.length > 0) {
    const id = pick(closedIds);
    return { id, region: undefined, dead: !knownLive.has(id) };
  }
  if (roll < 70 && otherKindIds.length > 0) return { id: pick(otherKindIds), region: undefined, dead: true };
  if (roll < 78 && live.length > 0) {
    const id = (pick(live).id + pick([GENERATION_STEP, -GENERATION_STEP, 1000 * GENERATION_STEP])) >>> 0;
    return { id, region: undefined, dead: !knownLive.has(id) && !live.some((region) => region.id === id) };
  }
  if (roll < 88) {
    const id = pick([0, 1, GENERATION_STEP - 1, GENERATION_STEP, 0x7fffffff, 0x80000000, 0xffffffff]);
    return { id, region: undefined, dead: id < GENERATION_STEP };
  }
  return { id: nextU32(), region: undefined, dead: false };
}

function anyIndex(region: Region | undefined): { index: number; beyond: boolean } {
  const max = region?.cachesMax ?? LIMITS.sharedCachesMax;
  const tokens = region?.tokens ?? [];
  const roll = below(100);
  const index = roll < 40 && tokens.length > 0
    ? pick(tokens) & 0xff // a cache this thread claimed: live, so the call gets past its checks
    : roll < 80
    ? below(max + 3)
    : pick([max, max - 1, 254, 255, 256, 0x7fffffff, 0xffffffff, nextU32()]) >>> 0;
  return { index, beyond: region !== undefined && index >= region.cachesMax };
}

function anyToken(region: Region | undefined): number {
  const tokens = region?.tokens ?? [];
  const roll = below(100);
  if (roll < 50 && tokens.length > 0) return pick(tokens);
  if (roll < 60 && tokens.length > 0) return (pick(tokens) + 256) >>> 0; // the next generation
  if (roll < 70) return ((below(4) << 8) | pick([254, 255])) >>> 0; // an index past any pool
  if (roll < 80) return ((0xffffff - below(4)) << 8 | below(4)) >>> 0; // a generation past 22 bits
  return pick([0, 1, 0x100, 0xffffffff, nextU32()]);
}

interface OutArgument {
  view: Uint8Array | Float64Array | null;
  length: number;
  /** True when size and alignment are what the export asks: only then may it write. */
  exact: boolean;
}

function outArgument(size: number): OutArgument {
  switch (below(8)) {
    case 0:
      return { view: null, length: pick([0, size]), exact: false };
    case 1: {
      const view = scratchView(size + 8, 1 + below(7));
      return { view, length: size, exact: false }; // unaligned
    }
    case 2:
      return { view: scratchView(size), length: size - 8, exact: false };
    case 3:
      return { view: scratchView(size + 8), length: size + 8, exact: false };
    case 4:
      return { view: scratchView(8), length: 0, exact: false };
    default: {
      const bytes = scratchView(size);
      return { view: new Float64Array(bytes.buffer, bytes.byteOffset, size / 8), length: size, exact: true };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Calls: each export's arguments, and what its result teaches or breaches

function expectDead(name: string, choice: IdChoice, result: number, invalid: number = S.invalidId): void {
  if (choice.dead && result !== invalid) {
    violation(`${name}(${choice.id}) on a dead or foreign id gave ${result}, not invalid_id`);
  }
}

function expectMalformed(name: string, path: PathArgument, result: number, refused: number): void {
  if (path.malformed && result !== refused) {
    violation(`${name} of a malformed path (length ${path.length}) gave ${result}, not ${refused}`);
  }
}

function createCall(): Call {
  const [config, configLength] = configArgument();
  let path = chance(0.5) ? { bytes: null, length: 0, malformed: false, path: undefined } : pathArgument("create");
  // A path_bytes of 0 means shared anonymous memory, whatever the pointer: not a malformed path.
  if (path.length === 0) path = { ...path, malformed: false, path: undefined };
  const anonymous = path.length === 0;
  return {
    name: "hp_shared_pool_create",
    args: [config, configLength, path.bytes, path.length],
    after(result) {
      // The config is read first: a malformed path may also meet invalid_argument, never success.
      if (!anonymous && path.malformed && result !== S.invalidPath && result !== S.invalidArgument) {
        violation(`hp_shared_pool_create with a malformed path (length ${path.length}) gave ${result}`);
      }
      if (result < 0) return;
      regionsCreated++;
      if (!anonymous) namedCreated++;
      adopt(result, anonymous ? undefined : path.path);
    },
  };
}

function openCall(): Call {
  const path = pathArgument("open");
  return {
    name: "hp_shared_pool_open",
    args: [path.bytes, path.length],
    after(result) {
      expectMalformed("hp_shared_pool_open", path, result, S.invalidPath);
      if (result < 0) return;
      opened++;
      // The opened file is one the fuzz may unlink only if it lies inside the private directory.
      adopt(result, path.path !== undefined && path.path.startsWith(`${directory}/`) ? path.path : undefined);
    },
  };
}

function idCall(name: string): Call {
  const choice = anyId();
  return {
    name,
    args: [choice.id],
    after(result) {
      expectDead(name, choice, result);
      const region = choice.region;
      if (region === undefined || result < 0) return;
      if (name === "hp_shared_pool_attach") region.attaches++;
      if (name === "hp_shared_cache_claim") {
        claims++;
        if (region.tokens.length < 64) region.tokens.push(result);
      }
    },
  };
}

/** refill, flush, collect and recover take a cache token: one structurally impossible (an index
 * past caches_max, a generation past 22 bits) must be refused with invalid_argument. */
function tokenCall(name: string): Call {
  const choice = anyId();
  const token = anyToken(choice.region);
  const impossible = token >>> 8 > 0x3fffff ||
    (choice.region !== undefined && (token & 0xff) >= choice.region.cachesMax);
  return {
    name,
    args: [choice.id, token],
    after(result) {
      expectDead(name, choice, result);
      if (impossible && choice.region !== undefined && result !== S.invalidArgument) {
        violation(`${name}(${choice.id}, ${token}) with an impossible token gave ${result}`);
      }
    },
  };
}

function cacheCloseCall(): Call {
  const choice = anyId();
  const token = anyToken(choice.region);
  return {
    name: "hp_shared_cache_close",
    args: [choice.id, token],
    after(result) {
      expectDead("hp_shared_cache_close", choice, result);
      if (result === 0 && choice.region !== undefined) {
        choice.region.tokens.splice(choice.region.tokens.indexOf(token), 1);
      }
    },
  };
}

function outCall(name: string, size: number, withIndex: boolean): Call {
  const choice = anyId();
  const { index, beyond } = anyIndex(choice.region);
  const out = outArgument(size);
  return {
    name,
    args: withIndex ? [choice.id, index, out.view, out.length] : [choice.id, out.view, out.length],
    after(result) {
      expectDead(name, choice, result);
      if (result === 0 && !out.exact) {
        violation(`${name} wrote into an out buffer of ${out.length} bytes, unaligned or short`);
      }
      if (result === 0 && withIndex && beyond) violation(`${name} accepted cache index ${index} past caches_max`);
      if (choice.region !== undefined && out.exact && !(withIndex && beyond) && result !== 0) {
        violation(`${name} refused an exact out buffer for live id ${choice.id}: ${result}`);
      }
    },
  };
}

function pathCall(name: string, use: PathUse, refused: number): Call {
  const path = pathArgument(use);
  return {
    name,
    args: [path.bytes, path.length],
    after(result) {
      expectMalformed(name, path, result, refused);
    },
  };
}

/** path_matches: a live id (often a named one with its own path) against any path. */
function pathMatchesCall(): Call {
  const choice = anyId();
  const own = choice.region?.path;
  const path = own !== undefined && chance(0.4) ? encodedArgument(own, false, own) : pathArgument("open");
  return {
    name: "hp_shared_path_matches",
    args: [choice.id, path.bytes, path.length],
    after(result) {
      expectDead("hp_shared_path_matches", choice, result);
      if (choice.region !== undefined) expectMalformed("hp_shared_path_matches", path, result, S.invalidPath);
      // Its own path may have been unlinked or made again (another inode) by earlier calls: 0 or 1.
    },
  };
}

/** cache_release: a token of a region; a released token of ours is forgotten. */
function cacheReleaseCall(): Call {
  const choice = anyId();
  const token = anyToken(choice.region);
  return {
    name: "hp_shared_cache_release",
    args: [choice.id, token],
    after(result) {
      expectDead("hp_shared_cache_release", choice, result);
      if (result === 0 && choice.region !== undefined) {
        choice.region.tokens.splice(choice.region.tokens.indexOf(token), 1);
      }
    },
  };
}

function closeCall(): Call {
  // Only ids the fuzz owns or closed: closing the seeding's Pool or Arena would test the test.
  const roll = below(100);
  const region = roll < 70 && live.length > 0 ? pick(live) : undefined;
  const id = region?.id ??
    (roll < 90 && closedIds.length > 0 ? pick(closedIds) : pick([0, 1, GENERATION_STEP - 1, 0xffffffff]));
  const dead = region === undefined && !knownLive.has(id);
  return {
    name: "hp_region_close",
    args: [id],
    after(result) {
      if (dead && result !== S.invalidId) violation(`hp_region_close(${id}) of a closed id gave ${result}`);
      if (region !== undefined && result === 0) detach(region);
    },
  };
}

const GEOMETRY_BYTES = SHARED_GEOMETRY.size;
const BUILDERS: Record<string, () => Call> = {
  hp_shared_pool_create: createCall,
  hp_shared_pool_open: openCall,
  hp_shared_pool_attach: () => idCall("hp_shared_pool_attach"),
  hp_shared_cache_claim: () => idCall("hp_shared_cache_claim"),
  hp_shared_cache_close: cacheCloseCall,
  hp_shared_refill: () => tokenCall("hp_shared_refill"),
  hp_shared_flush: () => tokenCall("hp_shared_flush"),
  hp_shared_collect: () => tokenCall("hp_shared_collect"),
  hp_shared_recover: () => tokenCall("hp_shared_recover"),
  hp_shared_reclaim: () => idCall("hp_shared_reclaim"),
  hp_shared_grow: () => idCall("hp_shared_grow"),
  hp_shared_verify: () => idCall("hp_shared_verify"),
  hp_shared_stats: () => outCall("hp_shared_stats", SHARED_STATS.size, false),
  hp_shared_geometry: () => outCall("hp_shared_geometry", GEOMETRY_BYTES, false),
  hp_shared_cache_info: () => outCall("hp_shared_cache_info", SHARED_CACHE_INFO.size, true),
  hp_shared_unlink: () => pathCall("hp_shared_unlink", "unlink", S.invalidPath),
  hp_shared_free_bytes: () => pathCall("hp_shared_free_bytes", "statfs", -1),
  hp_shared_path_matches: pathMatchesCall,
  hp_shared_cache_release: cacheReleaseCall,
  hp_region_close: closeCall,
};

/** An export this fuzz has no builder for (added later): arguments from its types alone. */
function genericCall(name: string, parameters: readonly NativeType[]): Call {
  const choice = anyId();
  const args = parameters.map((type, index) => {
    if (type === "buffer") return chance(0.2) ? null : scratchView(below(256), below(8));
    if (index === 0) return choice.id;
    return chance(0.5) ? anyIndex(choice.region).index : nextU32();
  });
  return { name, args, after: (result) => expectDead(name, choice, result) };
}

// ---------------------------------------------------------------------------------------------
// Region bookkeeping

function geometryOf(id: number): { cachesMax: number } {
  const out = new Float64Array(SHARED_GEOMETRY.size / 8);
  const status = calls.hp_shared_geometry(id, out, out.byteLength) as number;
  if (status !== 0) violation(`hp_shared_geometry(${id}) of a region just made gave ${status}`);
  return { cachesMax: out[SHARED_GEOMETRY.cachesMax / 8] };
}

function adopt(id: number, path: string | undefined): void {
  const existing = live.find((region) => region.id === id);
  if (existing !== undefined) {
    violation(`id ${id} was handed out twice while live`);
    return;
  }
  knownLive.add(id);
  live.push({ id, attaches: 1, path, cachesMax: geometryOf(id).cachesMax, tokens: [] });
  if (live.length > LIVE_MAX) retire(live[0]);
}

/** One realm detached (hp_region_close returned ok); the last one closes the region. */
function detach(region: Region): void {
  region.attaches--;
  if (region.attaches > 0) return;
  forget(region);
}

function forget(region: Region): void {
  live.splice(live.indexOf(region), 1);
  knownLive.delete(region.id);
  closedIds.push(region.id);
  if (closedIds.length > CLOSED_MAX) closedIds.shift();
  if (region.path !== undefined && !validFiles.includes(region.path) && !fixtures.includes(region.path)) {
    const encoded = encoder.encode(region.path);
    calls.hp_shared_unlink(encoded, encoded.length);
  }
}

/** Closes every attachment of a region the fuzz no longer wants (bounded by its count + 1). */
function retire(region: Region): void {
  for (let round = 0; round <= region.attaches + 1; round++) {
    if (calls.hp_region_close(region.id) !== 0) break;
  }
  region.attaches = 0;
  forget(region);
}

// ---------------------------------------------------------------------------------------------
// Fixtures: hostile files in the private directory

/** A valid region file made by the library, then copied and spoiled in every way that matters. */
function makeFixtures(): void {
  const source = join(directory, "fixture-source");
  const encoded = encoder.encode(source);
  const id = calls.hp_shared_pool_create(recordedConfigs[0], recordedConfigs[0].length, encoded, encoded.length);
  if (typeof id !== "number" || id < 0) throw new Error(`the fixture region could not be created: ${id}`);
  calls.hp_region_close(id);
  const bytes = new Uint8Array(readFileSync(source));
  const H = SHARED_POOL_HEADER;
  const spoiled = (label: string, change: (view: DataView) => void, length = bytes.length, mode = 0o600) => {
    const copy = new Uint8Array(length);
    copy.set(bytes.subarray(0, Math.min(length, bytes.length)));
    change(new DataView(copy.buffer));
    const path = join(directory, `fixture-${label}`);
    writeFileSync(path, copy, { mode });
    (label === "valid" || label === "valid-2" ? validFiles : fixtures).push(path);
  };
  spoiled("valid", () => {});
  spoiled("valid-2", () => {});
  spoiled("empty", () => {}, 0);
  spoiled("half-header", () => {}, H.size >> 1);
  spoiled("short", () => {}, Math.max(H.size, bytes.length - LIMITS.pageBytes));
  spoiled("long", () => {}, bytes.length + LIMITS.pageBytes);
  spoiled("magic", (view) => view.setUint32(H.magic, 0, true));
  spoiled("abi", (view) => view.setUint32(H.abiVersion, LIMITS.abiVersion + 1, true));
  spoiled("kind", (view) => view.setUint32(H.kind, 2, true));
  spoiled("not-ready", (view) => view.setUint32(H.ready, 0, true));
  spoiled("block-size", (view) => view.setUint32(H.blockSize, view.getUint32(H.blockSize, true) + 1, true));
  spoiled("alignment-0", (view) => view.setUint32(H.alignment, 0, true));
  spoiled("caches-max", (view) => view.setUint32(H.cachesMax, 255, true));
  spoiled("hash", (view) => view.setUint32(H.layoutHash, view.getUint32(H.layoutHash, true) ^ 1, true));
  spoiled("free-head", (view) => view.setUint32(H.freeHead, 0xfffffff0, true));
  spoiled("mode-644", () => {}, bytes.length, 0o644);
  const link = join(directory, "fixture-symlink");
  symlinkSync(validFiles[0], link);
  fixtures.push(link, source);
  const fifo = join(directory, "fixture-fifo");
  if (spawnSync("mkfifo", ["-m", "600", fifo]).status === 0) fixtures.push(fifo);
}

// ---------------------------------------------------------------------------------------------
// The run

const perFunction: Record<string, SharedFunctionStats> = {};
const exported = Object.keys(symbols).filter((name) => name.startsWith("hp_shared_") || name === "hp_region_close");
for (const name of exported) perFunction[name] = { calls: 0, nonNegative: 0, negative: {}, thrown: 0 };

function nextCall(): Call {
  if (live.length < LIVE_MAX / 2 && chance(0.15)) return chance(0.7) ? createCall() : openCall();
  const name = pick(exported);
  const builder = BUILDERS[name];
  if (builder !== undefined) return builder();
  const spec = (symbols as Record<string, { parameters: readonly NativeType[] }>)[name];
  return genericCall(name, spec.parameters);
}

await seedFromApi();
makeFixtures();
const started = performance.now();
const run = await runCalls({
  seed,
  callsTarget,
  traceFrom,
  progressEvery: PROGRESS_EVERY,
  rssAbortBytes: RSS_ABORT_BYTES,
  calls,
  perFunction,
  nextCall,
  live: () => live.length,
});
const count = run.count;
for (const region of [...live]) retire(region);
const peakRss = Math.max(run.peakRss, process.memoryUsage().rss);
const report: SharedFuzzReport = {
  seed,
  runtime: native.runtime,
  calls: count,
  elapsedMs: Math.round(performance.now() - started),
  regionsCreated,
  namedCreated,
  opened,
  claims,
  fixtures: fixtures.map((path) => path.slice(directory.length + 1)),
  peakRssBytes: peakRss,
  violations: violations.list,
  violationCount: violations.count,
  perFunction,
};
write(1, JSON.stringify(report) + "\n");
