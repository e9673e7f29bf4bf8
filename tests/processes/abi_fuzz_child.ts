/**
 * Child process of tests/abi_fuzz_test.ts: an ABI fuzz that calls every export of libhotpath
 * straight through FFI (no TypeScript wrapper in between) with random and boundary arguments.
 * A crash of this process is the failure it looks for; the parent counts it.
 *
 * Usage: `<runtime> tests/processes/abi_fuzz_child.ts [seed] [calls]`, or the environment
 * variables HOTPATH_FUZZ_SEED and HOTPATH_FUZZ_CALLS. The first line on stdout is always
 * `seed=N`; the last is one JSON line `{ calls, perFunction, seed, ... }`. A run is
 * deterministic for a seed (the library starts empty in every process, no decision reads a
 * clock, an address or a count the collector can change, and every region that has views is
 * held to the end), the same on Deno and Bun, so a failure replays exactly:
 * HOTPATH_FUZZ_TRACE_FROM=K writes every call from number K on to stderr, synchronously,
 * before it is made (and its result after): the last call written before a crash is the one
 * that crashed.
 *
 * The fuzz is generic: it walks whatever entries ffi/symbols.ts has and builds every argument
 * from the parameter's NativeType alone. Function names are used for bookkeeping only, never
 * to choose a value: which results are region ids to reuse (`_create`), which calls end a
 * region's life (`_close`, `_release`, ...), and which calls get the small size range
 * (U32_CREATE_BOUNDARY) that keeps memory bounded.
 *
 * What makes random arguments reach past the first checks:
 * - ids: 30% of calls put a live id (one the fuzz created) in their first integer parameter;
 *   each function learns which live ids it accepted (pool ids vs arena ids, by result), and
 *   half of those calls stay on the id the previous ones used, so states build up;
 * - a corpus: argument lists that got a non-negative result are replayed with mutations (words,
 *   bytes, length or alignment of a buffer; a number), seeded at startup with the argument lists
 *   the library's own TypeScript layer passes for a few ordinary operations (recorded by
 *   wrapping the loaded library's `symbols`, so the fuzz needs no knowledge of a config
 *   struct's layout);
 * - lengths and counts: integers after a buffer are often its length or a count that fits it;
 * - values: results and words the library wrote into buffers are reused, per id (handles);
 * - region memory: a buffer may be a view into the region the call names (REGION_VIEWS_MAX).
 *
 * @module
 */
import process from "node:process";
import { type NativeType, symbols, type SymbolSpec } from "../../ffi/symbols.ts";
import * as library from "../../ffi/library.ts";
import type { FunctionStats } from "./abi_fuzz_report.ts";
import { draws } from "../random.ts";
import { loadWithRetry, parseInteger, write } from "./child_outcome.ts";

/**
 * Exports never called by the fuzz, each with the reason: only functions that are unsafe BY
 * CONTRACT for arbitrary values of their declared types, or that another fuzz covers with the
 * knowledge they need, belong here. A function that crashes because it trusts an argument it
 * could check is a bug to report, not an entry.
 */
const RING_REASON = "fuzzed by tests/processes/ring_abi_fuzz_child.ts (tests/ring_abi_fuzz_test.ts), which " +
  "knows role tokens, park selectors and timeouts: hp_ring_park may sleep 100 ms a call, and Deno's " +
  "hp_ring_park_async is a nonblocking symbol (a Promise, and read-only on the symbols object)";
const SKIP: Readonly<Record<string, string>> = Object.fromEntries(
  Object.keys(symbols).filter((name) => name.startsWith("hp_ring_") || name === "hp_yield").map((name) => [
    name,
    RING_REASON,
  ]),
);

/** Bookkeeping roles, by name: never used to choose an argument's value. */
const CREATES = /_create$/;
const CLOSES = /_(close|destroy|dispose|delete)$/;
const RELEASES = /_release$/;

/** Live ids the fuzz keeps at most; the oldest is closed (and released) past this. */
const LIVE_MAX = 16;
/** Closed ids kept for reuse as arguments; the oldest is released past this. */
const CLOSED_MAX = 32;
const RELEASED_MAX = 64;
const HARVEST_MAX = 128;
const POINTERS_MAX = 32;
const CORPUS_MAX = 48;
/** Share of calls whose first integer argument is a live id (when there is one). */
const LIVE_TARGET_SHARE = 0.3;
const PROGRESS_EVERY = 16_384;
/** The fuzz stops itself (exit 3) above this RSS rather than let the machine swap or OOM. */
const RSS_ABORT_BYTES = 900 * 2 ** 20;
/**
 * Every buffer argument is a view into this one scratch buffer, at a byte offset below 256.
 * A C function taking `(buffer, count)` cannot know the buffer's length: a count larger than
 * the view is the caller's contract to keep, and writing past a 64-byte JS array would corrupt
 * the JS heap and crash for reasons that are not the library's. With 16 MiB behind every view,
 * reads and writes past its end stay inside memory the fuzz owns (the library's batch limit is
 * 2^20 u32 = 4 MiB), so only the library's own memory safety is on trial.
 */
const SCRATCH_BYTES = 16 << 20;
const VIEW_OFFSET_MAX = 256;
const VIEW_BYTES_MAX = 64;
/**
 * Buffers may also be views over a live region's own memory (its header, bitmap or blocks),
 * where the loader can make one that keeps the region mapped (`regionBuffer(id)`): handles
 * stored in a pool's blocks are as legal an argument as handles in a JS array, and the library
 * must not trip over its own writes to that memory. Every such ArrayBuffer is kept to the end
 * of the run, so no mapping depends on when the collector runs (and replays stay exact); this
 * bounds how many regions get one.
 */
const REGION_VIEWS_MAX = 4096;
const REGION_VIEW_SHARE = 0.25;
/**
 * Ids are `generation << 14 | slot` today (zig/src/constants.zig, slot_bits); the generation
 * bump below is a guess that stays harmless if that layout changes: it is just another value.
 */
const GENERATION_STEP = 1 << 14;

// ----------------------------------------------------------------------------------------
// Process plumbing.

const argv = process.argv.slice(2);
const seed = (parseInteger(argv[0]) ?? parseInteger(process.env.HOTPATH_FUZZ_SEED) ??
  crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
// First thing, before the library is even loaded, so any failure can be replayed.
write(1, `seed=${seed}\n`);
const callsTarget = parseInteger(argv[1]) ?? parseInteger(process.env.HOTPATH_FUZZ_CALLS) ?? 1_000_000;
const traceFrom = parseInteger(process.env.HOTPATH_FUZZ_TRACE_FROM) ?? Number.POSITIVE_INFINITY;

/** What the fuzz needs of the loaded library: its runtime and its callable symbols. */
interface LoadedLibrary {
  readonly runtime: "deno" | "bun";
  readonly symbols: unknown;
  /** An ArrayBuffer over all of live region `id` that keeps it mapped while referenced (newer loaders). */
  readonly regionBuffer?: (id: number) => ArrayBuffer | undefined;
}

/** ffi/library.ts's loader, `openNative()` (or `loadLibrary()`, its name before): called once. */
function openLibrary(): LoadedLibrary {
  const loaders = library as unknown as Record<string, unknown>;
  const open = loaders.openNative ?? loaders.loadLibrary;
  if (typeof open !== "function") throw new Error("ffi/library.ts exports neither openNative() nor loadLibrary()");
  return open() as LoadedLibrary;
}

const native = await loadWithRetry(openLibrary, (line) => write(2, line));
type NativeFunction = (...args: unknown[]) => unknown;
const functions = native.symbols as unknown as Record<string, NativeFunction | undefined>;

// ----------------------------------------------------------------------------------------
// Deterministic randomness: mulberry32, 32 bits a step.

const { nextU32, below, chance, pick } = draws(seed);

// ----------------------------------------------------------------------------------------
// What the fuzz remembers between calls.

/** A buffer argument as it can be replayed: its bytes, view kind and misalignment. */
interface BufferRecipe {
  readonly bytes: Uint8Array;
  readonly words: boolean;
  readonly misalign: number;
}

/** One argument as it can be replayed: a number, a buffer, or null (null buffer or pointer). */
type Recipe = number | null | BufferRecipe;

interface Entry {
  readonly name: string;
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
  readonly call: NativeFunction;
  /** Index of the first u32/i32 parameter, or -1: where a region id goes. */
  readonly idParameter: number;
  readonly creates: boolean;
  readonly closes: boolean;
  readonly releases: boolean;
  readonly stats: FunctionStats;
  /** Live ids this function accepted with a result >= 0 (it learns which ids are its kind). */
  readonly acceptedIds: number[];
  /** Argument lists that got a non-negative result: replayed with mutations. */
  readonly corpus: Recipe[][];
}

const live: number[] = [];
const closed: number[] = [];
const released: number[] = [];
/** Non-negative results (handles, offsets, capacities) of calls made on each live id. */
const valuesById = new Map<number, number[]>();
const harvested: number[] = [];
/** Pointers the library returned for a live region: the only non-null pointers the fuzz passes. */
const pointers: { pointer: unknown; id: number }[] = [];
/** ArrayBuffers over regions (see REGION_VIEWS_MAX), by id, held until the process ends. */
const regionViews = new Map<number, ArrayBuffer>();
let regionViewsRefused = 0;
let allowNullBuffer = true;
let maintenanceCalls = 0;
let regionsCreated = 0;
let peakRss = 0;

function pushBounded<T>(list: T[], value: T, max: number): T | undefined {
  list.push(value);
  return list.length > max ? list.shift() : undefined;
}

function remove(list: number[], value: number): boolean {
  const index = list.indexOf(value);
  if (index < 0) return false;
  list.splice(index, 1);
  return true;
}

// ----------------------------------------------------------------------------------------
// Values by type.

const U32_BOUNDARY = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  63,
  64,
  4095,
  4096,
  4097,
  0xffff,
  0x10000,
  1 << 20,
  (1 << 20) + 1,
  1 << 26,
  (1 << 26) + 1,
  0x3fffffff,
  0x40000000,
  0x40000001,
  0x7ffffffe,
  0x7fffffff,
  0x80000000,
  0x80000001,
  0xfffffffe,
  0xffffffff,
];

/**
 * Sizes for functions that create regions. A pool or arena is mapped and pre-faulted whole at
 * creation, so a valid request for 1 GiB costs 1 GiB of RSS and a second of page faults:
 * legal, but a million calls cannot afford it. Values here are small (<= 4097) or so large
 * (>= 2^31) that every size limit rejects them, which keeps each region below ~16 MiB.
 */
const U32_CREATE_BOUNDARY = [0, 1, 2, 3, 4, 7, 8, 63, 64, 4095, 4096, 4097, 0x80000000, 0xfffffffe, 0xffffffff];

/**
 * The live id the last calls worked on: half of the live-targeted calls stay on it, so that
 * sequences of operations build states (a full pool, a grown one) that single calls do not.
 */
let focusId: number | undefined;

/** A live id (live must not be empty), preferring one `entry` accepted before. */
function liveId(entry: Entry | undefined): number {
  let chosen: number | undefined;
  if (entry !== undefined && focusId !== undefined && live.includes(focusId) && chance(0.5)) {
    if (entry.acceptedIds.length === 0 || entry.acceptedIds.includes(focusId)) chosen = focusId;
  }
  if (chosen === undefined && entry !== undefined && entry.acceptedIds.length > 0 && chance(0.6)) {
    const candidate = pick(entry.acceptedIds);
    if (live.includes(candidate)) chosen = candidate;
    else remove(entry.acceptedIds, candidate);
  }
  chosen ??= pick(live);
  if (entry !== undefined) focusId = chosen;
  return chosen;
}

function staleId(): number {
  const base = pick([...closed, ...released, ...live]);
  switch (below(7)) {
    case 0:
      return (base + GENERATION_STEP) >>> 0;
    case 1:
      return (base ^ GENERATION_STEP) >>> 0;
    case 2:
      return (base - GENERATION_STEP) >>> 0;
    case 3:
      return (base + 1) >>> 0;
    case 4:
      return (base - 1) >>> 0;
    case 5:
      return (base | 0x80000000) >>> 0;
    default:
      return (base + 0xffff * GENERATION_STEP) >>> 0;
  }
}

/** Any u32: boundaries, small ids, ids the fuzz knows about, results seen, random bits. */
function anyU32(): number {
  const roll = below(100);
  if (roll < 10 && live.length > 0) return liveId(undefined);
  if (roll < 16 && closed.length > 0) return pick(closed);
  if (roll < 20 && released.length > 0) return pick(released);
  if (roll < 26 && live.length + closed.length + released.length > 0) return staleId();
  if (roll < 36 && harvested.length > 0) return pick(harvested);
  if (roll < 56) return pick(U32_BOUNDARY);
  if (roll < 70) return below(65);
  if (roll < 76) return (2 ** below(32)) >>> 0;
  // Small slot numbers with a small generation: ids that may or may not exist.
  if (roll < 82) return (below(4) * GENERATION_STEP + below(32)) >>> 0;
  return nextU32();
}

/** A u32 for a function that creates regions: see U32_CREATE_BOUNDARY. */
function createU32(): number {
  const roll = below(100);
  if (roll < 25) return 0;
  if (roll < 45) return 1 + below(8);
  if (roll < 60) return 2 ** below(13);
  if (roll < 75) return 1 + below(64);
  if (roll < 83) return below(1025);
  if (roll < 95) return pick(U32_CREATE_BOUNDARY);
  return (0x80000000 + below(0x80000000)) >>> 0;
}

function integerFor(entry: Entry): number {
  return entry.creates ? createU32() : anyU32();
}

const F64_SPECIAL = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  1,
  -1,
  0.5,
  -0.5,
  2 ** 31,
  2 ** 32,
  -(2 ** 31),
  2 ** 53,
  2 ** 64,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
];
const f64Bits = new DataView(new ArrayBuffer(8));

function anyF64(entry: Entry): number {
  const roll = below(100);
  if (roll < 35) return pick(F64_SPECIAL);
  if (roll < 55) return integerFor(entry);
  if (roll < 75) return (nextU32() / 4294967296 - 0.5) * 2 ** below(64);
  // Any bit pattern, signalling NaNs and subnormals included.
  f64Bits.setUint32(0, nextU32(), true);
  f64Bits.setUint32(4, nextU32(), true);
  return f64Bits.getFloat64(0, true);
}

function anyUsize(entry: Entry): number {
  // hotpath's own ABI has no usize (ffi/symbols.ts): numbers below 2^53, which both runtimes take.
  if (below(4) === 0) return pick([0, 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]);
  return integerFor(entry);
}

// ----------------------------------------------------------------------------------------
// Buffers and pointers.

const scratch = new ArrayBuffer(SCRATCH_BYTES);
const scratchView = new DataView(scratch);
const scratchBytes = new Uint8Array(scratch);

interface BufferArgument {
  readonly view: Uint8Array | Uint32Array | null;
  readonly unaligned: boolean;
}

function viewAt(byteOffset: number, byteLength: number, words: boolean): Uint8Array | Uint32Array {
  return words ? new Uint32Array(scratch, byteOffset, byteLength / 4) : new Uint8Array(scratch, byteOffset, byteLength);
}

function viewStart(misalign: number): number {
  return below(VIEW_OFFSET_MAX / 4) * 4 + misalign;
}

function viewLength(): number {
  return chance(0.3) ? pick([0, 1, 4, 8, 16, 32, VIEW_BYTES_MAX]) : below(VIEW_BYTES_MAX + 1);
}

function fill(entry: Entry, start: number, end: number): void {
  let at = start;
  for (; at + 4 <= end; at += 4) scratchView.setUint32(at, chance(0.3) ? 0 : integerFor(entry), true);
  for (; at < end; at++) scratchBytes[at] = below(256);
}

function anyBuffer(entry: Entry): BufferArgument {
  if (allowNullBuffer && chance(0.08)) return { view: null, unaligned: false };
  const roll = below(100);
  // A Uint32Array cannot be unaligned; a Uint8Array at byteOffset 4k+1..3 can, and a function
  // that reads u32s through it must refuse it (or read it byte-wise).
  const words = roll < 45;
  const misalign = roll < 70 ? 0 : 1 + below(3);
  const start = viewStart(misalign);
  const length = viewLength();
  const view = viewAt(start, words ? length & ~3 : length, words);
  // Half the time keep what is there: handles earlier batch calls wrote, for later ones to free.
  if (chance(0.5)) fill(entry, start, start + view.byteLength);
  return { view, unaligned: misalign !== 0 };
}

function replayBuffer(recipe: BufferRecipe): BufferArgument {
  const start = viewStart(recipe.misalign);
  scratchBytes.set(recipe.bytes, start);
  return { view: viewAt(start, recipe.bytes.length, recipe.words), unaligned: recipe.misalign !== 0 };
}

/** The ArrayBuffer over live region `id`, made on first use while the budget lasts. */
function regionBufferOf(id: number): ArrayBuffer | undefined {
  const known = regionViews.get(id);
  if (known !== undefined || native.regionBuffer === undefined || !live.includes(id)) return known;
  if (regionViews.size >= REGION_VIEWS_MAX) return undefined;
  const buffer = native.regionBuffer(id);
  if (buffer === undefined) {
    regionViewsRefused++;
    return undefined;
  }
  regionViews.set(id, buffer);
  if (regionViews.size === REGION_VIEWS_MAX) write(2, `region view budget used up at call ${calls}\n`);
  return buffer;
}

/**
 * A view into region memory, or undefined. `room` is how many u32s the region holds from the
 * view's start to its end: integer arguments after this buffer are kept within it, since a
 * count or length past the end of the mapping is the caller's lie, not the library's bug.
 */
function regionBuffer(id: number): (BufferArgument & { room: number }) | undefined {
  const buffer = regionBufferOf(id);
  if (buffer === undefined || buffer.byteLength < 8) return undefined;
  const span = Math.min(buffer.byteLength, 1 << 16);
  const misalign = chance(0.25) ? 1 + below(3) : 0;
  // Half the time just before a 64-byte boundary, where blocks and headers tend to start: a
  // batch that runs into the next block's first word.
  const aligned = chance(0.5) ? Math.max(0, below(span >> 6) * 64 - 4 * (1 + below(4))) : below(span >> 2) * 4;
  const start = Math.min(aligned + misalign, buffer.byteLength - 8 + misalign);
  const length = Math.min(viewLength(), buffer.byteLength - start);
  const words = misalign === 0 && chance(0.5);
  const view = words ? new Uint32Array(buffer, start, length >> 2) : new Uint8Array(buffer, start, length);
  if (chance(0.6)) {
    // Handles of this very region (or anything): a batch stored inside the blocks it names,
    // as values seen for the id or as a run (handles are handed out in runs).
    const values = valuesById.get(id);
    const data = new DataView(buffer, start, length);
    const run = chance(0.5);
    const first = values !== undefined ? pick(values) : below(64);
    const step = pick([1, -1, 2]);
    for (let at = 0, index = 0; at + 4 <= length; at += 4, index++) {
      const value = run ? first + step * index : values !== undefined && chance(0.7) ? pick(values) : anyU32();
      data.setUint32(at, value >>> 0, true);
    }
  }
  return { view, unaligned: misalign !== 0, room: (buffer.byteLength - start) >> 2 };
}

/** One small change to a buffer: a word, a byte, its length or its alignment. */
function mutateBuffer(entry: Entry, recipe: BufferRecipe): BufferRecipe | null {
  const bytes = recipe.bytes.slice();
  const words = bytes.length >> 2;
  const data = new DataView(bytes.buffer);
  switch (below(7)) {
    case 0:
    case 1:
      if (words > 0) data.setUint32(below(words) * 4, integerFor(entry), true);
      return { ...recipe, bytes };
    case 2:
      if (words > 0) {
        const at = below(words) * 4;
        data.setUint32(at, (data.getUint32(at, true) + (chance(0.5) ? 1 : -1)) >>> 0, true);
      }
      return { ...recipe, bytes };
    case 3:
      // Any byte, except for creation: there only the low byte of a word (little-endian), since
      // a high byte turns a small size into a huge one (see U32_CREATE_BOUNDARY).
      if (entry.creates && words > 0) bytes[below(words) * 4] = below(256);
      else if (!entry.creates && bytes.length > 0) bytes[below(bytes.length)] = below(256);
      return { ...recipe, bytes };
    case 4: {
      const step = recipe.words ? 4 : 1;
      const length = Math.max(0, bytes.length + (below(5) - 2) * step);
      const resized = new Uint8Array(length);
      resized.set(bytes.subarray(0, length));
      return { ...recipe, bytes: resized };
    }
    case 5: {
      const misalign = below(4);
      return { bytes, words: recipe.words && misalign === 0, misalign };
    }
    default:
      return allowNullBuffer && chance(0.5) ? null : recipe;
  }
}

/**
 * A pointer argument is null or a pointer the library itself returned for a live region. Never
 * a random address: a C function given `(void *)0x1234` has no way to tell it from a real
 * pointer, so a crash on it is the caller's bug, and a fuzz that produced one would only
 * measure that.
 */
function anyPointer(): unknown {
  if (pointers.length === 0 || chance(0.4)) return null;
  return pick(pointers).pointer;
}

// ----------------------------------------------------------------------------------------
// Argument lists.

interface Arguments {
  readonly args: unknown[];
  readonly unaligned: boolean;
}

function isView(value: unknown): value is Uint8Array | Uint32Array {
  return value instanceof Uint8Array || value instanceof Uint32Array;
}

function isUnaligned(value: unknown): boolean {
  return isView(value) && value.byteOffset % 4 !== 0;
}

function integerArgument(type: NativeType, value: number): number {
  return type === "i32" ? value | 0 : value >>> 0;
}

/** A length for the integer parameter right after a buffer: its elements, bytes or words. */
function lengthOf(view: Uint8Array | Uint32Array | null): number {
  if (view === null) return pick([0, 1]);
  return pick([view.length, view.byteLength, view.byteLength >> 2]);
}

/** `regionViews`: whether a buffer may be a view over region memory (never in a corpus replay). */
function freshArguments(entry: Entry, regionViews = true): Arguments {
  const parameters = entry.parameters;
  const args: unknown[] = new Array(parameters.length);
  let unaligned = false;
  /** u32s from a region view's start to the region's end: a bound for what follows it. */
  let room = Number.POSITIVE_INFINITY;
  /** The last buffer argument so far (null for a null buffer), undefined before any. */
  let lastBuffer: Uint8Array | Uint32Array | null | undefined;
  // Region creation never gets ids or harvested values as sizes: see U32_CREATE_BOUNDARY.
  const targetLive = !entry.creates && entry.idParameter >= 0 && live.length > 0 && chance(LIVE_TARGET_SHARE);
  if (targetLive) entry.stats.liveTargeted++;
  let id: number | undefined;
  for (let index = 0; index < parameters.length; index++) {
    const type = parameters[index];
    switch (type) {
      case "u32":
      case "i32": {
        let value: number;
        if (index === entry.idParameter && targetLive) {
          value = liveId(entry);
        } else if (index > 0 && parameters[index - 1] === "buffer" && chance(0.5)) {
          value = lengthOf(args[index - 1] as Uint8Array | Uint32Array | null);
        } else if (lastBuffer !== undefined && chance(0.3)) {
          // A count that fits the buffer before it.
          value = below(((lastBuffer?.byteLength ?? 4) >> 2) + 1);
        } else if (id !== undefined && valuesById.has(id) && chance(0.4)) {
          value = pick(valuesById.get(id)!);
        } else {
          value = integerFor(entry);
        }
        if (index === entry.idParameter) id = value >>> 0;
        if (index > entry.idParameter && value >>> 0 > room) value = chance(0.5) ? room : below(room + 1);
        args[index] = integerArgument(type, value);
        break;
      }
      case "f64":
        args[index] = anyF64(entry);
        break;
      case "usize":
        args[index] = anyUsize(entry);
        break;
      case "buffer": {
        const inRegion = regionViews && id !== undefined && chance(REGION_VIEW_SHARE) ? regionBuffer(id) : undefined;
        if (inRegion !== undefined) {
          room = Math.min(room, inRegion.room);
          entry.stats.regionView++;
        }
        const buffer = inRegion ?? anyBuffer(entry);
        unaligned ||= buffer.unaligned;
        args[index] = buffer.view;
        lastBuffer = buffer.view;
        break;
      }
      case "pointer":
        args[index] = anyPointer();
        break;
      default:
        throw new Error(`${entry.name}: no generator for parameter type "${type}"`);
    }
  }
  return { args, unaligned };
}

function mutateNumber(entry: Entry, type: NativeType, value: number, fresh: unknown): number {
  const roll = below(10);
  if (roll < 6) return fresh as number;
  if (type === "f64") return pick([value * 2, -value, value + 1, value - 1]);
  const tweaked = roll < 8 || entry.creates ? value + (chance(0.5) ? 1 : -1) : value ^ (1 << below(32));
  return type === "usize" ? Math.max(0, tweaked) : integerArgument(type, tweaked);
}

/**
 * Fresh arguments or, 60% of the time for functions that create regions and 35% for the
 * others, an argument list from the corpus with one or two arguments mutated and its id
 * replaced by a live one.
 */
function makeArguments(entry: Entry): Arguments {
  if (entry.corpus.length === 0 || !chance(entry.creates ? 0.6 : 0.35)) return freshArguments(entry);
  entry.stats.fromCorpus++;
  const recipes = pick(entry.corpus);
  const fresh = freshArguments(entry, false);
  const mutated = new Set<number>();
  const mutations = chance(0.15) ? 0 : chance(0.75) ? 1 : 2;
  for (let count = 0; count < mutations && recipes.length > 0; count++) mutated.add(below(recipes.length));
  const replaceId = !entry.creates && live.length > 0 && !mutated.has(entry.idParameter);
  let unaligned = false;
  const args = recipes.map((recipe, index) => {
    const type = entry.parameters[index];
    if (index === entry.idParameter && replaceId) return integerArgument(type, liveId(entry));
    if (type === "pointer") return fresh.args[index];
    if (recipe === null || typeof recipe === "number") {
      if (!mutated.has(index)) return recipe;
      if (recipe === null) {
        unaligned ||= isUnaligned(fresh.args[index]);
        return fresh.args[index];
      }
      return mutateNumber(entry, type, recipe, fresh.args[index]);
    }
    // One to four changes to a mutated buffer, so that fields that only work together (a
    // size and an alignment in one config) can move away from the seed's values.
    let changed: BufferRecipe | null = recipe;
    const changes = mutated.has(index) ? 1 + (chance(0.5) ? below(4) : 0) : 0;
    for (let change = 0; change < changes && changed !== null; change++) changed = mutateBuffer(entry, changed);
    if (changed === null) return null;
    const buffer = replayBuffer(changed);
    unaligned ||= buffer.unaligned;
    return buffer.view;
  });
  return { args, unaligned };
}

function recipeOf(arg: unknown): Recipe {
  if (isView(arg)) {
    return {
      bytes: new Uint8Array(arg.buffer, arg.byteOffset, arg.byteLength).slice(),
      words: arg instanceof Uint32Array,
      misalign: arg.byteOffset % 4,
    };
  }
  return typeof arg === "number" ? arg : null;
}

function learn(entry: Entry, args: readonly unknown[]): void {
  if (entry.parameters.length > 0) pushBounded(entry.corpus, args.map(recipeOf), CORPUS_MAX);
}

// ----------------------------------------------------------------------------------------
// Results and region bookkeeping.

function isNullPointer(pointer: unknown): boolean {
  return pointer === null || pointer === undefined || pointer === 0 || pointer === 0n;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (isView(value)) {
    const kind = value instanceof Uint32Array ? "Uint32Array" : "Uint8Array";
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${kind}(length ${value.length}, byteOffset ${value.byteOffset}, bytes 0x${hex})`;
  }
  if (typeof value === "number") {
    if (Object.is(value, -0)) return "-0";
    return Number.isInteger(value) && value > 0xffff ? `0x${value.toString(16)}` : String(value);
  }
  if (typeof value === "object") {
    return `pointer-of-region(${pointers.find((entry) => entry.pointer === value)?.id ?? "?"})`;
  }
  return String(value);
}

function rss(): number {
  return process.memoryUsage().rss;
}

function idOf(entry: Entry, args: readonly unknown[]): number | undefined {
  if (entry.idParameter < 0) return undefined;
  return (args[entry.idParameter] as number) >>> 0;
}

function forgetId(id: number): void {
  remove(live, id);
  valuesById.delete(id);
  for (let index = pointers.length - 1; index >= 0; index--) {
    if (pointers[index].id === id) pointers.splice(index, 1);
  }
}

/** Arguments for a maintenance call on `id`: the id first, zeros and nulls for the rest. */
function maintenanceArguments(entry: Entry, id: number): unknown[] {
  return entry.parameters.map((type, index) => {
    if (index === entry.idParameter) return integerArgument(type, id);
    if (type === "buffer" || type === "pointer") return null;
    return 0;
  });
}

let closers: Entry[] = [];
let releasers: Entry[] = [];

function maintain(list: readonly Entry[], id: number): void {
  for (const entry of list) {
    maintenanceCalls++;
    entry.call(...maintenanceArguments(entry, id));
  }
}

/** Releases (or, without a release export, leaves closed) an id that drops off the closed list. */
function retireClosed(id: number): void {
  maintain(releasers, id);
  pushBounded(released, id, RELEASED_MAX);
}

function noteClosed(id: number): void {
  forgetId(id);
  const dropped = pushBounded(closed, id, CLOSED_MAX);
  if (dropped !== undefined) retireClosed(dropped);
}

function noteCreated(id: number): void {
  regionsCreated++;
  const oldest = pushBounded(live, id, LIVE_MAX);
  if (oldest === undefined) return;
  maintain(closers, oldest);
  noteClosed(oldest);
}

function observe(entry: Entry, args: readonly unknown[], result: unknown, unaligned: boolean): void {
  const stats = entry.stats;
  if (entry.result === "void") return;
  const id = idOf(entry, args);
  if (entry.result === "pointer") {
    if (isNullPointer(result)) return;
    stats.nonNegative++;
    if (chance(0.1)) learn(entry, args);
    if (id !== undefined && live.includes(id) && !pointers.some((known) => known.pointer === result)) {
      pushBounded(pointers, { pointer: result, id }, POINTERS_MAX);
    }
    return;
  }
  const value = Number(result);
  if (!(value >= 0)) {
    const key = String(value);
    stats.negative[key] = (stats.negative[key] ?? 0) + 1;
    return;
  }
  stats.nonNegative++;
  if (unaligned) stats.unalignedAccepted++;
  if (entry.creates) {
    learn(entry, args);
    if (value > 0 && Number.isInteger(value) && value <= 0xffffffff) noteCreated(value);
    return;
  }
  if (chance(0.1)) learn(entry, args);
  if (id !== undefined && value === 0 && (entry.closes || entry.releases)) {
    if (entry.releases) {
      remove(closed, id);
      forgetId(id);
      pushBounded(released, id, RELEASED_MAX);
    } else if (live.includes(id)) {
      noteClosed(id);
    }
    return;
  }
  // Results of parameterless calls (clocks, counts of mapped regions) are snapshots, some
  // timing-dependent: reusing them would make a run depend on more than its seed.
  if (entry.parameters.length > 0 && Number.isInteger(value) && value <= 0xffffffff) {
    pushBounded(harvested, value, HARVEST_MAX);
    if (id !== undefined && live.includes(id)) {
      if (!entry.acceptedIds.includes(id)) pushBounded(entry.acceptedIds, id, LIVE_MAX);
      let values = valuesById.get(id);
      if (values === undefined) valuesById.set(id, values = []);
      pushBounded(values, value, 32);
    }
  }
}

/**
 * Words the library wrote into a buffer argument (handles an alloc-many put in `out`) count as
 * values of the call's id, like its results: later batches and frees reuse them.
 */
function noteWritten(entry: Entry, args: readonly unknown[], before: readonly unknown[], result: unknown): void {
  const id = idOf(entry, args);
  if (id === undefined || !(Number(result) >= 0) || !live.includes(id)) return;
  args.forEach((arg, index) => {
    const old = before[index];
    if (!isView(arg) || !isView(old)) return;
    const now = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    const was = new DataView(old.buffer, old.byteOffset, old.byteLength);
    for (let at = 0; at + 4 <= arg.byteLength; at += 4) {
      const word = now.getUint32(at, true);
      if (word !== was.getUint32(at, true)) {
        let values = valuesById.get(id);
        if (values === undefined) valuesById.set(id, values = []);
        pushBounded(values, word, 32);
      }
    }
  });
}

// ----------------------------------------------------------------------------------------
// The exports.

const table = symbols as unknown as Record<string, SymbolSpec>;
const entries: Entry[] = [];
for (const [name, spec] of Object.entries(table)) {
  if (name in SKIP) continue;
  const call = functions[name];
  if (typeof call !== "function") throw new Error(`${name} is in ffi/symbols.ts but the loaded library lacks it`);
  entries.push({
    name,
    parameters: spec.parameters,
    result: spec.result,
    call,
    idParameter: spec.parameters.findIndex((type) => type === "u32" || type === "i32"),
    creates: CREATES.test(name),
    closes: CLOSES.test(name),
    releases: RELEASES.test(name),
    stats: {
      calls: 0,
      nonNegative: 0,
      negative: {},
      thrown: 0,
      liveTargeted: 0,
      fromCorpus: 0,
      regionView: 0,
      unalignedAccepted: 0,
    },
    acceptedIds: [],
    corpus: [],
  });
}
if (entries.length === 0) throw new Error("ffi/symbols.ts has no function to fuzz");
const creators = entries.filter((entry) => entry.creates);
closers = entries.filter((entry) => entry.closes && entry.idParameter >= 0);
releasers = entries.filter((entry) => entry.releases && entry.idParameter >= 0);
if (creators.length > 0 && closers.length + releasers.length === 0) {
  // Without one the fuzz cannot bound what it creates: extend CLOSES or RELEASES.
  throw new Error(`no export matches ${CLOSES} or ${RELEASES}: the fuzz cannot close the regions it creates`);
}

// ----------------------------------------------------------------------------------------
// Seed corpus: what the library's own TypeScript layer passes for ordinary operations.

/** The little of the public API the seeding uses, typed loosely so an API change fails softly. */
interface SeedApi {
  Pool: new (options: Record<string, unknown>) => {
    allocMany(out: Uint32Array, count: number): number;
    freeMany(handles: Uint32Array, count: number): void;
    reset(): void;
    grow(): number;
    stats(): unknown;
    close(): void;
  };
  Arena: new (options: Record<string, unknown>) => {
    alloc(bytes: number, align?: number): number;
    reset(): void;
    stats(): unknown;
    close(): void;
  };
}

/**
 * The pools and arenas the seeding made, left open and referenced to the end of the run: a
 * closed region stays mapped (and its slot taken) until the collector frees its views, and a
 * slot freed whenever the collector runs would change what later calls see (which ids new
 * regions get, whether an id still names a region), so a replay would diverge.
 */
const seedObjects: unknown[] = [];

function keep<T>(object: T): T {
  seedObjects.push(object);
  return object;
}

/**
 * Wraps every export on the loaded library's `symbols` (the object src/ calls through) while a few
 * ordinary operations run, and keeps each argument list that got a non-negative result. The
 * regions these operations create never enter the fuzz's live list (its calls may still hit
 * them by id) and are never closed: see `seedObjects`. Each step may fail (the public API is
 * allowed to change); failures are reported.
 */
async function seedCorpus(): Promise<{ seeded: number; seedErrors: string[] }> {
  const target = native.symbols as unknown as Record<string, unknown>;
  let seeded = 0;
  const seedErrors: string[] = [];
  for (const entry of entries) {
    const wrapper = (...args: unknown[]) => {
      const result = entry.call(...args);
      const ok = entry.result === "pointer" ? !isNullPointer(result) : Number(result) >= 0;
      if (ok && entry.parameters.length > 0) {
        seeded++;
        pushBounded(entry.corpus, args.map(recipeOf), CORPUS_MAX);
      }
      return result;
    };
    target[entry.name] = wrapper;
  }
  try {
    const api = (await import("../../mod.ts")) as unknown as SeedApi;
    const handles = new Uint32Array(16);
    const steps: [string, () => void][] = [
      ["fixed pool", () => {
        const pool = keep(new api.Pool({ blockSize: 64, capacity: 64 }));
        pool.allocMany(handles, 8);
        pool.freeMany(handles, 8);
        pool.reset();
        pool.stats();
      }],
      ["growing pool", () => {
        const pool = keep(
          new api.Pool({ blockSize: 24, capacity: 16, align: 16, grow: { chunk: 16, maxCapacity: 64 } }),
        );
        pool.allocMany(handles, 16);
        pool.grow();
        pool.freeMany(handles, 4);
      }],
      ["placed pool", () => {
        // Valid non-zero placement words in the corpus: bound, huge-paged and locked configs get mutated.
        const pool = keep(new api.Pool({ blockSize: 64, capacity: 64, placement: { node: 0 }, lock: true }));
        pool.stats();
        keep(new api.Pool({ blockSize: 64, capacity: 64, placement: "Interleaved", hugePages: "explicit" }));
      }],
      ["arena", () => {
        keep(new api.Arena({ capacity: 4096, placement: { node: 0, strict: false }, hugePages: "transparent" }));
        const arena = keep(new api.Arena({ capacity: 4096, align: 8 }));
        arena.alloc(24, 16);
        arena.stats();
        arena.reset();
      }],
    ];
    for (const [name, step] of steps) {
      try {
        step();
      } catch (error) {
        seedErrors.push(`${name}: ${String(error)}`);
      }
    }
  } catch (error) {
    seedErrors.push(`import ../../mod.ts: ${String(error)}`);
  } finally {
    for (const entry of entries) target[entry.name] = entry.call;
  }
  return { seeded, seedErrors };
}

// ----------------------------------------------------------------------------------------
// The run.

const { seeded, seedErrors } = await seedCorpus();
for (const error of seedErrors) write(2, `seed corpus step failed: ${error}\n`);

const started = performance.now();
let calls = 0;
while (calls < callsTarget) {
  // Every export is picked alike, plus extra creations while fewer than half the live slots
  // are filled, so that LIVE_TARGET_SHARE of calls can find a live id.
  const entry = creators.length > 0 && live.length < LIVE_MAX / 2 && chance(0.1)
    ? pick(creators)
    : entries[below(entries.length)];
  const { args, unaligned } = makeArguments(entry);
  if (calls >= traceFrom) write(2, `call #${calls} ${entry.name}(${args.map(describe).join(", ")})\n`);
  calls++;
  entry.stats.calls++;
  const before = args.map((arg) => isView(arg) && arg.byteLength > 0 ? arg.slice() : undefined);
  let result: unknown;
  try {
    result = entry.call(...args);
  } catch (error) {
    entry.stats.thrown++;
    if (entry.stats.thrown <= 3) write(2, `${entry.name} threw: ${String(error)}\n`);
    // A runtime that refuses null for a buffer parameter: stop passing it (the same way at the
    // same call on every run of this runtime, so a replay takes the same path).
    if (args.some((arg, index) => arg === null && entry.parameters[index] === "buffer")) allowNullBuffer = false;
    continue;
  }
  if (calls > traceFrom) write(2, `  -> ${describe(result)}\n`);
  observe(entry, args, result, unaligned);
  noteWritten(entry, args, before, result);
  if (calls % PROGRESS_EVERY === 0) {
    const now = rss();
    peakRss = Math.max(peakRss, now);
    write(2, `progress calls=${calls} live=${live.length} rss=${Math.round(now / 2 ** 20)}MiB\n`);
    if (now > RSS_ABORT_BYTES) {
      write(2, `RSS ${Math.round(now / 2 ** 20)} MiB is over the fuzz's bound: stopping (seed=${seed})\n`);
      process.exit(3);
    }
  }
}

// Leave nothing behind: close and release every region the fuzz still knows about.
for (const id of [...live]) {
  forgetId(id);
  maintain(closers, id);
  maintain(releasers, id);
}
for (const id of closed.splice(0)) maintain(releasers, id);
peakRss = Math.max(peakRss, rss());

const perFunction: Record<string, FunctionStats> = {};
for (const entry of entries) perFunction[entry.name] = entry.stats;
write(
  1,
  JSON.stringify({
    calls,
    seed,
    runtime: native.runtime,
    elapsedMs: Math.round(performance.now() - started),
    regionsCreated,
    maintenanceCalls,
    seeded,
    seedErrors,
    seedObjects: seedObjects.length,
    regionViews: regionViews.size,
    regionViewsRefused,
    peakRssBytes: peakRss,
    nullBuffers: allowNullBuffer,
    skipped: SKIP,
    perFunction,
  }) + "\n",
);
