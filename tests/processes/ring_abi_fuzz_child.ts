/**
 * Child process of tests/ring_abi_fuzz_test.ts: a fuzz of every `hp_ring_*` export of libhotpath,
 * `hp_yield`, and `hp_region_close` on ring ids, called straight through FFI with random and
 * hostile arguments. A crash of this process is the failure it looks for; the parent counts it
 * and replays the seed with a trace.
 *
 * It knows what each export takes, so that arguments reach past the first checks:
 * - ids: live rings it created (anonymous or named) or opened (its own files, valid copies),
 *   ids it closed, ids of a SharedPool and of rings the TypeScript layer made, boundaries;
 * - role tokens it claimed, the same after release, with another generation, an index past
 *   `roles_max`; kinds, gating flags and attachment numbers around their limits;
 * - park selectors (head, tail, a role's cursor, past the roles) with expected values that
 *   match the word or not, and timeouts 0, tiny, NaN, negative, -0, Infinity, huge: a park
 *   sleeps at most 100 ms, so a long timeout is only given with an expected value the word
 *   never holds (an immediate return);
 * - out buffers of the exact size and alignment, unaligned, short, long, empty, null;
 * - configs: ones the TypeScript layer wrote (recorded), with fields set to boundary values;
 * - paths: fresh names in a private directory, hostile files (truncated, another format, not
 *   ready, mode 0644, a symlink, a FIFO, a directory), system files, malformed paths.
 *
 * Beyond "no crash" it checks contracts whose breach would be silent (`violations`): a closed or
 * foreign id gives invalid_id; an out buffer of the wrong size or alignment is refused; a config
 * is accepted exactly when its fields describe a valid ring; each hostile file gets its status;
 * a role beyond the ring's limits is refused; a released token is refused; a park with a bad
 * timeout or selector is refused, and otherwise answers 0 or 1; a malformed path gives
 * invalid_path; nothing this process owns is reaped.
 *
 * Usage: `<runtime> tests/processes/ring_abi_fuzz_child.ts <seed> <calls> <directory>`. The first
 * stdout line is `seed=N`, the last a JSON RingFuzzReport. HOTPATH_RING_FUZZ_TRACE_FROM=K writes
 * every call from number K on to stderr before it is made: the last one before a crash is the
 * crashing call. A run is deterministic for a seed (no decision reads a clock).
 *
 * @module
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { symbols } from "../../ffi/symbols.ts";
import { openNative } from "../../ffi/library.ts";
import {
  LIMITS,
  RING_CONFIG,
  RING_GEOMETRY,
  RING_HEADER,
  RING_ROLE_INFO,
  RING_STATS,
  STATUS,
} from "../../ffi/abi.generated.ts";
import { draws } from "../random.ts";
import { loadWithRetry, parseInteger, write } from "./child_outcome.ts";
import { type Call, type FunctionStats, placementValid, runCalls, Scratch, Violations } from "./fuzz_kit.ts";

/** Counts of one export's calls. */
export type RingFunctionStats = FunctionStats;

/** The child's final JSON line. */
export interface RingFuzzReport {
  seed: number;
  runtime: string;
  calls: number;
  elapsedMs: number;
  ringsCreated: number;
  namedCreated: number;
  opened: number;
  roles: number;
  parks: number;
  fixtures: string[];
  peakRssBytes: number;
  violations: string[];
  violationCount: number;
  perFunction: Record<string, RingFunctionStats>;
}

// ---------------------------------------------------------------------------------------------
// Process plumbing

const argv = process.argv.slice(2);
const seed = (parseInteger(argv[0]) ?? crypto.getRandomValues(new Uint32Array(1))[0]) >>> 0;
write(1, `seed=${seed}\n`);
const callsTarget = parseInteger(argv[1]) ?? 100_000;
const directory = argv[2];
if (directory === undefined || !directory.startsWith("/") || !existsSync(directory)) {
  throw new Error(`give an existing private directory as the third argument, got ${directory}`);
}
const traceFrom = parseInteger(process.env.HOTPATH_RING_FUZZ_TRACE_FROM) ?? Number.POSITIVE_INFINITY;

const LIVE_MAX = 12;
const CLOSED_MAX = 64;
const PROGRESS_EVERY = 8192;
const RSS_ABORT_BYTES = 900 * 2 ** 20;
const GENERATION_STEP = 2 ** LIMITS.slotBits;
/** A word value no fuzzed ring holds: a park expecting it returns at once, whatever its timeout. */
const NEVER = 0x7eadbeef;
const S = STATUS;

const native = await loadWithRetry(openNative, (line) => write(2, line));
type NativeFunction = (...args: unknown[]) => unknown;
const calls = native.symbols as unknown as Record<string, NativeFunction>;
const { nextU32, below, chance, pick } = draws(seed);

// ---------------------------------------------------------------------------------------------
// What the fuzz knows

interface Ring {
  id: number;
  /** Realms attached: create/open give 1, each accepted attach adds one, each close removes one. */
  attaches: number;
  /** The ring's file (named rings). */
  path: string | undefined;
  /** True when this id is the only mapping of the ring (its roles are all this fuzz's). */
  alone: boolean;
  kind: number;
  rolesMax: number;
  attachments: number[];
  /** Live role tokens, and their kinds (1 producer, 2 consumer). */
  tokens: number[];
  kinds: number[];
  released: number[];
}

const live: Ring[] = [];
const closedIds: number[] = [];
/** Ids of live regions that are not this fuzz's rings: a SharedPool (foreign kind), API rings. */
const foreignIds: number[] = [];
const apiRingIds: number[] = [];
let ringsCreated = 0;
let namedCreated = 0;
let opened = 0;
let roles = 0;
let parks = 0;
const violations = new Violations();
const violation = (text: string) => violations.add(text);

// ---------------------------------------------------------------------------------------------
// Scratch memory: every buffer argument is a view into it, so a length that lies reads memory
// the fuzz owns.

const scratch = new Scratch(1 << 20);
const scratchView = (length: number, misalign = 0) => scratch.view(length, misalign);

// ---------------------------------------------------------------------------------------------
// Configs, recorded from the TypeScript layer

const recordedConfigs: Uint8Array[] = [];
const seedObjects: { close(): void }[] = [];

async function seedFromApi(): Promise<void> {
  const target = native.symbols as unknown as Record<string, NativeFunction>;
  const original = target.hp_ring_create;
  target.hp_ring_create = (...args: unknown[]) => {
    const config = args[0] as Uint8Array;
    recordedConfigs.push(new Uint8Array(config.buffer, config.byteOffset, config.byteLength).slice());
    return original(...args);
  };
  try {
    const api = await import("../../mod.ts");
    const rings = [
      api.Ring.spsc({ slot: 16, capacity: 8 }),
      api.Ring.spsc({ slot: 16, capacity: 8, placement: { node: 0 }, hugePages: "transparent", lock: true }),
      api.Ring.mpmc({ slot: 24, capacity: 4, maxRoles: 4, unblockTimeoutMs: 10 }),
      api.Ring.broadcast({ slot: 8, capacity: 16, maxRoles: 3, onSlowConsumer: "drop" }),
      api.Ring.broadcast({ slot: api.struct({ a: "u8" }), capacity: 2 }),
    ];
    for (const ring of rings) apiRingIds.push(ring.share().id);
    const pool = new api.SharedPool({ blockSize: 16, capacity: 4 });
    foreignIds.push(pool.share().id);
    seedObjects.push(...rings, pool);
  } finally {
    target.hp_ring_create = original;
  }
  if (recordedConfigs.length === 0) throw new Error("the TypeScript layer created no ring to learn a config from");
}

const C = RING_CONFIG;
const FIELDS = ["kind", "slotBytes", "slotAlign", "capacity", "rolesMax", "policy", "unblockTimeoutMs"] as const;
const BOUNDARIES: Record<(typeof FIELDS)[number], number[]> = {
  kind: [0, 1, 2, 3, 4, 0xffffffff],
  slotBytes: [0, 1, 7, 8, 64, LIMITS.ringSlotBytesMax, LIMITS.ringSlotBytesMax + 1, 0xffffffff],
  slotAlign: [0, 1, 2, 3, 4, 8, 16, 0x80000000],
  capacity: [0, 1, 2, 3, 4, 64, 1024, LIMITS.ringCapacityMax, LIMITS.ringCapacityMax * 2, 0x80000000],
  rolesMax: [0, 1, 2, 3, 16, LIMITS.ringRolesMax, LIMITS.ringRolesMax + 1, 0xffffffff],
  policy: [0, 1, 2, 0xffffffff],
  unblockTimeoutMs: [0, 1, 5000, LIMITS.ringUnblockTimeoutMsMax, LIMITS.ringUnblockTimeoutMsMax + 1],
};

const isPowerOfTwo = (value: number) => value > 0 && (value & (value - 1)) === 0;

/** The geometry rules of ring_layout.zig `Geometry.compute`, restated: a config is valid exactly then. */
function validConfig(words: DataView, length: number): boolean {
  if (length !== C.size || words.getUint32(C.configBytes, true) !== C.size) return false;
  for (let offset = C.reserved; offset < C.size; offset += 4) if (words.getUint32(offset, true) !== 0) return false;
  if (!placementValid(words, C.placement)) return false;
  const field = (name: (typeof FIELDS)[number]) => words.getUint32(C[name], true);
  const kind = field("kind");
  const [slotBytes, align, capacity, roles] = [
    field("slotBytes"),
    field("slotAlign"),
    field("capacity"),
    field("rolesMax"),
  ];
  const payload = kind === 1 ? 0 : 8;
  const stride = Math.ceil((payload + slotBytes) / Math.max(align, 4)) * Math.max(align, 4);
  return kind >= 1 && kind <= 3 && field("policy") <= 1 && (kind === 3 || field("policy") === 0) &&
    slotBytes >= 1 && slotBytes <= LIMITS.ringSlotBytesMax && isPowerOfTwo(align) && align <= 8 &&
    isPowerOfTwo(capacity) && capacity >= 2 && capacity <= LIMITS.ringCapacityMax &&
    roles >= 2 && roles <= LIMITS.ringRolesMax && (kind !== 1 || roles === 2) &&
    field("unblockTimeoutMs") >= 1 && field("unblockTimeoutMs") <= LIMITS.ringUnblockTimeoutMsMax &&
    RING_HEADER.size + 128 * roles + stride * capacity <= LIMITS.regionBytesMax;
}

/** A config: a recorded one, often with fields changed; valid ones are kept below 1 MiB of slots. */
function configArgument(): { bytes: Uint8Array | null; length: number; valid: boolean } {
  if (chance(0.03)) return { bytes: null, length: pick([0, C.size]), valid: false };
  const base = pick(recordedConfigs);
  const view = scratchView(base.length, chance(0.2) ? 1 + below(7) : 0);
  view.set(base);
  const words = new DataView(view.buffer, view.byteOffset, view.byteLength);
  for (let change = chance(0.4) ? 0 : 1 + below(3); change > 0; change--) {
    if (chance(0.1)) words.setUint32(4 * below(C.size / 4), pick([0, 1, nextU32()]), true);
    else words.setUint32(C[pick(FIELDS)], pick(BOUNDARIES[pick(FIELDS)]), true);
  }
  const length = chance(0.92) ? view.length : pick([0, 4, view.length - 1, view.length + 1, 128]);
  let valid = validConfig(words, length);
  if (valid && words.getUint32(C.capacity, true) * (words.getUint32(C.slotBytes, true) + 16) > 1 << 20) {
    words.setUint32(C.capacity, 4, true); // still valid; memory stays bounded
    valid = validConfig(words, length);
  }
  return { bytes: view, length, valid };
}

// ---------------------------------------------------------------------------------------------
// Paths and hostile files

const encoder = new TextEncoder();
let pathCounter = 0;

/** A path nothing is ever created at: hp_ring_open of it must say not_found. */
const ABSENT = join(directory, "absent");
/** Hostile files and what hp_ring_open must answer for each (0: an id). */
const fixtures = new Map<string, number>();
/** Files that hold a valid ring nobody created through the fuzz (opened, never created over). */
const validFiles: string[] = [];

interface PathArgument {
  bytes: Uint8Array | null;
  length: number;
  malformed: boolean;
  path: string | undefined;
}

function encodedArgument(text: string, malformed = false, path?: string): PathArgument {
  const encoded = encoder.encode(text);
  const view = scratchView(encoded.length, below(8));
  view.set(encoded);
  return { bytes: view, length: encoded.length, malformed, path };
}

function malformedPath(): PathArgument {
  switch (below(7)) {
    case 0:
      return encodedArgument("relative/ring", true);
    case 1:
      return encodedArgument(`${directory}/with\0nul`, true);
    case 2:
      return encodedArgument(`${directory}/${"x".repeat(300)}`, true);
    case 3:
      return { bytes: null, length: pick([1, 8, 255]), malformed: true, path: undefined };
    case 4:
      return encodedArgument("", true);
    case 5:
      return encodedArgument(`\0${directory}/x`, true);
    default:
      return { ...encodedArgument(`${directory}/${"y".repeat(LIMITS.sharedPathBytesMax)}`), malformed: true };
  }
}

/** A path for create (mostly fresh), or for open and path_matches (mostly known files). */
function pathArgument(create: boolean): PathArgument {
  if (chance(0.2)) return malformedPath();
  if (create && chance(0.6)) {
    const path = join(directory, `r${pathCounter++}`);
    return encodedArgument(path, false, path);
  }
  const named = live.filter((ring) => ring.path !== undefined).map((ring) => ring.path!);
  const known = [...fixtures.keys(), ...validFiles, ...named, ...(create ? [] : [ABSENT])];
  const path = chance(0.9) ? pick(known) : pick(["/dev/null", "/proc/self/status", "/", "/nonexistent-hotpath/x"]);
  return encodedArgument(path, false, path);
}

/** A valid ring file made by the library, copied and spoiled in every way that matters. */
function makeFixtures(): void {
  const source = join(directory, "fixture-source");
  const encoded = encoder.encode(source);
  const config = recordedConfigs[2]; // the broadcast ring: every header field means something
  const id = calls.hp_ring_create(config, config.length, encoded, encoded.length) as number;
  if (id < 0) throw new Error(`the fixture ring could not be created: ${id}`);
  calls.hp_region_close(id);
  const bytes = new Uint8Array(readFileSync(source));
  const H = RING_HEADER;
  const spoiled = (
    label: string,
    status: number,
    change: (view: DataView) => void,
    length = bytes.length,
    mode = 0o600,
  ) => {
    const copy = new Uint8Array(length);
    copy.set(bytes.subarray(0, Math.min(length, bytes.length)));
    change(new DataView(copy.buffer));
    const path = join(directory, `fixture-${label}`);
    writeFileSync(path, copy, { mode });
    if (label.startsWith("valid")) validFiles.push(path);
    else fixtures.set(path, status);
  };
  spoiled("valid", 0, () => {});
  spoiled("valid-2", 0, () => {});
  spoiled("empty", S.corrupted, () => {}, 0);
  spoiled("half-header", S.corrupted, () => {}, H.size >> 1);
  spoiled("short", S.corrupted, () => {}, bytes.length - LIMITS.pageBytes);
  spoiled("long", S.corrupted, () => {}, bytes.length + LIMITS.pageBytes);
  spoiled("magic", S.incompatible, (view) => view.setUint32(H.magic, 0, true));
  spoiled("abi", S.incompatible, (view) => view.setUint32(H.abiVersion, LIMITS.abiVersion + 1, true));
  spoiled("not-ready", S.corrupted, (view) => view.setUint32(H.ready, 0, true));
  spoiled("capacity", S.corrupted, (view) => view.setUint32(H.capacity, 32, true));
  spoiled("roles", S.corrupted, (view) => view.setUint32(H.rolesMax, 65, true));
  spoiled("hash", S.corrupted, (view) => view.setUint32(H.layoutHash, view.getUint32(H.layoutHash, true) ^ 1, true));
  spoiled("mode-644", S.permissionDenied, () => {}, bytes.length, 0o644);
  const link = join(directory, "fixture-symlink");
  symlinkSync(validFiles[0], link);
  fixtures.set(link, S.permissionDenied);
  fixtures.set(source, 0); // the source itself: a valid ring file too
  fixtures.set(directory, S.invalidPath);
  const fifo = join(directory, "fixture-fifo");
  if (spawnSync("mkfifo", ["-m", "600", fifo]).status === 0) fixtures.set(fifo, S.invalidPath);
}

// ---------------------------------------------------------------------------------------------
// Ids, tokens, selectors, out buffers

interface IdChoice {
  id: number;
  ring: Ring | undefined;
  /** True when the id names no live ring: invalid_id is the only answer. */
  dead: boolean;
}

let focus: Ring | undefined;

function anyId(): IdChoice {
  const roll = below(100);
  if (roll < 55 && live.length > 0) {
    focus = focus !== undefined && live.includes(focus) && chance(0.6) ? focus : pick(live);
    return { id: focus.id, ring: focus, dead: false };
  }
  if (roll < 67 && closedIds.length > 0) return { id: pick(closedIds), ring: undefined, dead: true };
  if (roll < 74) return { id: pick(foreignIds), ring: undefined, dead: true };
  if (roll < 78) return { id: pick(apiRingIds), ring: undefined, dead: false };
  if (roll < 85 && live.length > 0) {
    const id = (pick(live).id + pick([GENERATION_STEP, -GENERATION_STEP, 1000 * GENERATION_STEP])) >>> 0;
    return { id, ring: undefined, dead: !isKnownLive(id) };
  }
  if (roll < 93) {
    const id = pick([0, 1, GENERATION_STEP - 1, 0x7fffffff, 0x80000000, 0xffffffff]);
    return { id, ring: undefined, dead: id < GENERATION_STEP };
  }
  return { id: nextU32(), ring: undefined, dead: false };
}

/** True for an id that names a live ring (this fuzz's or the API's). */
function isKnownLive(id: number): boolean {
  return live.some((ring) => ring.id === id) || apiRingIds.includes(id);
}

/** A role token: one held, one released, another generation, an index past the roles, noise. */
function anyToken(ring: Ring | undefined): { token: number; held: boolean; impossible: boolean } {
  const roll = below(100);
  const max = ring?.rolesMax ?? LIMITS.ringRolesMax;
  if (roll < 55 && ring !== undefined && ring.tokens.length > 0) {
    return { token: pick(ring.tokens), held: true, impossible: false };
  }
  if (roll < 65 && ring !== undefined && ring.released.length > 0) {
    return { token: pick(ring.released), held: false, impossible: false };
  }
  if (roll < 75 && ring !== undefined && ring.tokens.length > 0) {
    return { token: (pick(ring.tokens) + 256) >>> 0, held: false, impossible: false };
  }
  if (roll < 85) return { token: ((below(4) << 8) | (max + below(200 - max))) >>> 0, held: false, impossible: true };
  return { token: pick([0, 1, 0x100, 0xffffffff, nextU32()]), held: false, impossible: false };
}

/** A park or wake selector: 0 head, 1 tail, 2 + i role i's cursor (live or not), or past them. */
function anySelector(ring: Ring | undefined): { selector: number; beyond: boolean } {
  const max = ring?.rolesMax ?? LIMITS.ringRolesMax;
  const roll = below(100);
  const selector = roll < 30
    ? below(2)
    : roll < 60 && ring !== undefined && ring.tokens.length > 0
    ? 2 + (pick(ring.tokens) & 0xff)
    : roll < 85
    ? below(max + 4)
    : pick([max + 2, 0x7fffffff, 0xffffffff, nextU32()]) >>> 0;
  return { selector, beyond: selector >= max + 2 };
}

interface OutArgument {
  view: Uint8Array | Float64Array | null;
  length: number;
  exact: boolean;
}

function outArgument(size: number): OutArgument {
  switch (below(8)) {
    case 0:
      return { view: null, length: pick([0, size]), exact: false };
    case 1:
      return { view: scratchView(size + 8, 1 + below(7)), length: size, exact: false };
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

function expectDead(name: string, choice: IdChoice, result: number): void {
  if (choice.dead && result !== S.invalidId) violation(`${name}(${choice.id}) on a dead or foreign id gave ${result}`);
}

function expectMalformed(name: string, path: PathArgument, result: number): void {
  if (path.malformed && result !== S.invalidPath) {
    violation(`${name} of a malformed path (length ${path.length}) gave ${result}, not invalid_path`);
  }
}

function createCall(): Call {
  const config = configArgument();
  let path: PathArgument = chance(0.5)
    ? { bytes: chance(0.5) ? null : scratchView(8), length: 0, malformed: false, path: undefined }
    : pathArgument(true);
  // A path_bytes of 0 means shared anonymous memory, whatever the pointer: not a malformed path.
  if (path.length === 0) path = { ...path, malformed: false, path: undefined };
  const anonymous = path.length === 0;
  const exists = path.path !== undefined && (fixtures.has(path.path) || validFiles.includes(path.path) ||
    live.some((ring) => ring.path === path.path));
  return {
    name: "hp_ring_create",
    args: [config.bytes, config.length, path.bytes, path.length],
    after(result) {
      if (!config.valid && result !== S.invalidArgument) violation(`hp_ring_create took an invalid config: ${result}`);
      if (config.valid && result === S.invalidArgument) violation("hp_ring_create refused a valid config");
      if (config.valid && !anonymous && path.malformed && result !== S.invalidPath) {
        violation(`hp_ring_create at a malformed path gave ${result}`);
      }
      if (config.valid && exists && path.path!.startsWith(directory) && result !== S.alreadyExists) {
        violation(`hp_ring_create over the existing ${path.path} gave ${result}, not already_exists`);
      }
      if (result < 0) return;
      ringsCreated++;
      if (!anonymous) namedCreated++;
      adopt(result, anonymous ? undefined : path.path, true);
    },
  };
}

function openCall(): Call {
  const path = pathArgument(false);
  return {
    name: "hp_ring_open",
    args: [path.bytes, path.length],
    after(result) {
      expectMalformed("hp_ring_open", path, result);
      const expected = path.path === ABSENT
        ? S.notFound
        : path.path === undefined
        ? undefined
        : fixtures.get(path.path);
      if (expected !== undefined && (expected === 0 ? result < 0 : result !== expected)) {
        violation(`hp_ring_open(${path.path}) gave ${result}, expected ${expected === 0 ? "an id" : expected}`);
      }
      if (result < 0) return;
      opened++;
      adopt(result, path.path, false);
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
      const ring = choice.ring;
      if (ring === undefined || result < 0) {
        if (ring !== undefined) violation(`${name}(${ring.id}) of a live ring gave ${result}`);
        return;
      }
      if (name === "hp_ring_attach") ring.attaches++;
      if (name === "hp_ring_attachment" && ring.attachments.length < 16) ring.attachments.push(result);
      if (name === "hp_ring_reap" && ring.alone && result !== 0) violation(`hp_ring_reap took ${result} live roles`);
    },
  };
}

/** Live producers and consumers of `ring`, and how many of `kind` it allows. */
function roomFor(ring: Ring, kind: number): boolean {
  const count = ring.kinds.filter((held) => held === kind).length;
  const limit = ring.kind === 1
    ? 1
    : ring.kind === 3 && kind === 1
    ? 1
    : ring.kind === 3
    ? ring.rolesMax - 1
    : ring.rolesMax;
  return count < limit && ring.tokens.length < ring.rolesMax;
}

function claimCall(): Call {
  const choice = anyId();
  const ring = choice.ring;
  const kind = chance(0.9) ? 1 + below(2) : pick([0, 3, 0xffffffff]);
  const gating = chance(0.9) ? below(2) : pick([2, 0xffffffff]);
  const attachment = ring !== undefined && ring.attachments.length > 0 && chance(0.85)
    ? pick(ring.attachments)
    : pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, nextU32()]);
  const invalid = kind < 1 || kind > 2 || gating > 1 || attachment === 0 || attachment > 0x7fffffff;
  return {
    name: "hp_ring_role_claim",
    args: [choice.id, kind, gating, attachment],
    after(result) {
      expectDead("hp_ring_role_claim", choice, result);
      if (ring === undefined) return;
      if (invalid && result !== S.invalidArgument) {
        violation(`hp_ring_role_claim(${kind}, ${gating}, ${attachment}): ${result}`);
      }
      if (invalid) return;
      const room = roomFor(ring, kind);
      if (ring.alone && room && result < 0) {
        violation(`hp_ring_role_claim of kind ${kind} refused with room: ${result}`);
      }
      if (ring.alone && !room && result !== S.limitReached) {
        violation(`hp_ring_role_claim of kind ${kind} on a full ring of kind ${ring.kind} gave ${result}`);
      }
      if (result < 0) return;
      roles++;
      if (ring.tokens.includes(result)) violation(`hp_ring_role_claim handed out token ${result} twice`);
      ring.tokens.push(result);
      ring.kinds.push(kind);
    },
  };
}

function releaseCall(): Call {
  const choice = anyId();
  const ring = choice.ring;
  const { token, held, impossible } = anyToken(ring);
  return {
    name: "hp_ring_role_release",
    args: [choice.id, token],
    after(result) {
      expectDead("hp_ring_role_release", choice, result);
      if (ring === undefined) return;
      if (impossible && result !== S.invalidArgument) {
        violation(`hp_ring_role_release of impossible ${token}: ${result}`);
      }
      if (ring.alone && held && result !== 0) violation(`hp_ring_role_release of held ${token} gave ${result}`);
      if (ring.alone && !held && !ring.tokens.includes(token) && result === 0) {
        violation(`hp_ring_role_release accepted ${token}, which is not held`);
      }
      const index = ring.tokens.indexOf(token);
      if (result !== 0 || index < 0) return;
      ring.tokens.splice(index, 1);
      ring.kinds.splice(index, 1);
      if (ring.released.length < 16) ring.released.push(token);
    },
  };
}

const TINY = [0, -0, 1e-9, 0.0005, 0.002, 5e-324];
const BAD = [Number.NaN, -1, -0.001, -Infinity, -1e308];
const LONG = [Infinity, 1e308, 100, 2 ** 53, 1e6];

/** park and park_async: a long timeout only with an expected value the word never holds. */
function parkCall(name: string): Call {
  const choice = anyId();
  const ring = choice.ring;
  const { token, held, impossible } = anyToken(ring);
  const { selector, beyond } = anySelector(ring);
  const roll = below(100);
  const timeout = roll < 70 ? pick(TINY) : roll < 85 ? pick(BAD) : pick(LONG);
  const expected = LONG.includes(timeout) || chance(0.3) ? NEVER : pick([0, 1, -1, nextU32() | 0]);
  const selectorOk = !beyond &&
    (selector < 2 || (ring?.tokens.some((held) => (held & 0xff) === selector - 2) ?? false));
  return {
    name,
    args: [choice.id, token, selector, expected, timeout],
    after(result) {
      expectDead(name, choice, result);
      if (ring === undefined) return;
      parks++;
      if ((impossible || beyond) && result !== S.invalidArgument) {
        violation(`${name} token ${token} selector ${selector}: ${result}`);
      }
      if (ring.alone && held && selectorOk && BAD.includes(timeout) && result !== S.invalidArgument) {
        violation(`${name} with timeout ${timeout} gave ${result}, not invalid_argument`);
      }
      if (ring.alone && held && selectorOk && !BAD.includes(timeout) && result !== 0 && result !== 1) {
        violation(`${name} of a held role on ${selector} gave ${result}, not 0 or 1`);
      }
      if (expected === NEVER && result === 0) violation(`${name} timed out although the word never holds ${NEVER}`);
    },
  };
}

function wakeCall(): Call {
  const choice = anyId();
  const { selector, beyond } = anySelector(choice.ring);
  return {
    name: "hp_ring_wake",
    args: [choice.id, selector],
    after(result) {
      expectDead("hp_ring_wake", choice, result);
      if (choice.ring !== undefined && beyond && result !== S.invalidArgument) {
        violation(`hp_ring_wake(${selector}): ${result}`);
      }
      if (result > 0) violation(`hp_ring_wake woke ${result} threads; this process parks none at once`);
    },
  };
}

function outCall(name: string, size: number, withIndex: boolean): Call {
  const choice = anyId();
  const max = choice.ring?.rolesMax ?? LIMITS.ringRolesMax;
  const index = chance(0.8) ? below(max + 2) : pick([0x7fffffff, 0xffffffff, nextU32()]) >>> 0;
  const out = outArgument(size);
  return {
    name,
    args: withIndex ? [choice.id, index, out.view, out.length] : [choice.id, out.view, out.length],
    after(result) {
      expectDead(name, choice, result);
      if (result === 0 && !out.exact) {
        violation(`${name} wrote into an out buffer of ${out.length} bytes, unaligned or short`);
      }
      if (withIndex && index >= max && choice.ring !== undefined && result !== S.invalidArgument) {
        violation(`${name} accepted role index ${index} past roles_max ${max}`);
      }
      if (choice.ring !== undefined && out.exact && !(withIndex && index >= max) && result !== 0) {
        violation(`${name} refused an exact out buffer for live id ${choice.id}: ${result}`);
      }
    },
  };
}

function pathMatchesCall(): Call {
  const choice = anyId();
  const own = choice.ring?.path;
  const path = own !== undefined && chance(0.4) ? encodedArgument(own, false, own) : pathArgument(false);
  return {
    name: "hp_ring_path_matches",
    args: [choice.id, path.bytes, path.length],
    after(result) {
      expectDead("hp_ring_path_matches", choice, result);
      if (choice.ring === undefined) return;
      expectMalformed("hp_ring_path_matches", path, result);
      if (!path.malformed && result !== 0 && result !== 1) violation(`hp_ring_path_matches gave ${result}`);
      if (own !== undefined && path.path === own && result !== 1) {
        violation(`hp_ring_path_matches(own path) gave ${result}`);
      }
      if (choice.ring.path === undefined && result === 1) violation("an anonymous ring matched a path");
    },
  };
}

function closeCall(): Call {
  const ring = chance(0.75) && live.length > 0 ? pick(live) : undefined;
  const id = ring?.id ?? (closedIds.length > 0 && chance(0.8) ? pick(closedIds) : pick([0, 1, 0xffffffff]));
  return {
    name: "hp_region_close",
    args: [id],
    after(result) {
      if (ring === undefined && result !== S.invalidId) {
        violation(`hp_region_close(${id}) of a closed id gave ${result}`);
      }
      if (ring !== undefined && result !== 0) violation(`hp_region_close(${id}) of a live ring gave ${result}`);
      if (ring !== undefined && result === 0) detach(ring);
    },
  };
}

const BUILDERS: Record<string, () => Call> = {
  hp_ring_create: createCall,
  hp_ring_open: openCall,
  hp_ring_attach: () => idCall("hp_ring_attach"),
  hp_ring_attachment: () => idCall("hp_ring_attachment"),
  hp_ring_reap: () => idCall("hp_ring_reap"),
  hp_ring_geometry: () => outCall("hp_ring_geometry", RING_GEOMETRY.size, false),
  hp_ring_stats: () => outCall("hp_ring_stats", RING_STATS.size, false),
  hp_ring_role_info: () => outCall("hp_ring_role_info", RING_ROLE_INFO.size, true),
  hp_ring_role_claim: claimCall,
  hp_ring_role_release: releaseCall,
  hp_ring_park: () => parkCall("hp_ring_park"),
  hp_ring_park_async: () => parkCall("hp_ring_park_async"),
  hp_ring_wake: wakeCall,
  hp_ring_path_matches: pathMatchesCall,
  hp_yield: () => ({ name: "hp_yield", args: [], after: () => {} }),
  hp_region_close: closeCall,
};

// ---------------------------------------------------------------------------------------------
// Ring bookkeeping

function geometryOf(id: number): { kind: number; rolesMax: number } {
  const out = new Float64Array(RING_GEOMETRY.size / 8);
  const status = calls.hp_ring_geometry(id, out, out.byteLength) as number;
  if (status !== 0) violation(`hp_ring_geometry(${id}) of a ring just made gave ${status}`);
  return { kind: out[RING_GEOMETRY.kind / 8], rolesMax: out[RING_GEOMETRY.rolesMax / 8] };
}

/** A ring created (`alone`: its only mapping) or opened (its file may be mapped by others). */
function adopt(id: number, path: string | undefined, alone: boolean): void {
  if (isKnownLive(id) || foreignIds.includes(id)) {
    violation(`id ${id} was handed out twice while live`);
    return;
  }
  const { kind, rolesMax } = geometryOf(id);
  for (const ring of live) if (path !== undefined && ring.path === path) ring.alone = false;
  live.push({ id, attaches: 1, path, alone, kind, rolesMax, attachments: [], tokens: [], kinds: [], released: [] });
  if (live.length > LIVE_MAX) retire(live[0]);
}

/** One realm detached (hp_region_close returned ok); the last one closes the ring. */
function detach(ring: Ring): void {
  ring.attaches--;
  if (ring.attaches === 0) forget(ring);
}

function forget(ring: Ring): void {
  live.splice(live.indexOf(ring), 1);
  closedIds.push(ring.id);
  if (closedIds.length > CLOSED_MAX) closedIds.shift();
  const path = ring.path;
  const fuzzMade = path !== undefined && path.startsWith(`${directory}/r`);
  if (fuzzMade && !live.some((other) => other.path === path)) {
    const encoded = encoder.encode(path);
    calls.hp_shared_unlink(encoded, encoded.length); // the name goes with its last mapping here
  }
}

/** Closes every attachment of a ring the fuzz no longer wants (bounded by its count + 1). */
function retire(ring: Ring): void {
  for (let round = 0; round <= ring.attaches + 1; round++) {
    if (calls.hp_region_close(ring.id) !== 0) break;
  }
  ring.attaches = 0;
  forget(ring);
}

// ---------------------------------------------------------------------------------------------
// The run

const exported = Object.keys(BUILDERS);
const missing = Object.keys(symbols).filter((name) =>
  (name.startsWith("hp_ring_") || name === "hp_yield") && !(name in BUILDERS)
);
if (missing.length > 0) throw new Error(`the ring fuzz has no builder for ${missing.join(", ")}: add one`);
const perFunction: Record<string, RingFunctionStats> = {};
for (const name of exported) perFunction[name] = { calls: 0, nonNegative: 0, negative: {}, thrown: 0 };

function nextCall(): Call {
  if (live.length < LIVE_MAX / 2 && chance(0.15)) return chance(0.7) ? createCall() : openCall();
  return BUILDERS[pick(exported)]();
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
for (const ring of [...live]) retire(ring);
const peakRss = Math.max(run.peakRss, process.memoryUsage().rss);
const report: RingFuzzReport = {
  seed,
  runtime: native.runtime,
  calls: count,
  elapsedMs: Math.round(performance.now() - started),
  ringsCreated,
  namedCreated,
  opened,
  roles,
  parks,
  fixtures: [...fixtures.keys()].map((path) => path.slice(directory.length + 1)),
  peakRssBytes: peakRss,
  violations: violations.list,
  violationCount: violations.count,
  perFunction,
};
write(1, JSON.stringify(report) + "\n");
