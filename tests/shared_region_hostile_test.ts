/**
 * Named SharedPool regions as untrusted input: files another process (or a bug, or an attacker
 * with this user's rights) wrote. Every hostile file must be refused at `SharedPool.open` with a
 * clear HotpathError (INCOMPATIBLE for another format, version or kind; CORRUPTED for fields that
 * disagree with each other or with the file; PERMISSION_DENIED, NOT_FOUND, ALREADY_EXISTS or
 * INVALID_ARGUMENT for what the file system says), and shared state corrupted while a pool is
 * open must give CORRUPTED or keep working: never a crash, never a block handed out twice.
 *
 * Files live in a private directory of mode 0700 removed in a `finally`: in /dev/shm where
 * node:fs may reach it (Bun), else in the temporary directory (Deno asks for --allow-all before
 * node:fs touches anything under /dev; the library treats both alike). Bare /dev/shm names are
 * created and removed through the library. Scenarios that corrupt a mapped pool run in a child
 * process (this file with HOTPATH_HOSTILE_CHILD=<scenario>), so a crash is reported, not fatal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { HotpathError, SharedPool } from "../mod.ts";
import { LIMITS, SHARED_CACHE_HEADER, SHARED_GEOMETRY, SHARED_POOL_HEADER } from "../ffi/abi.generated.ts";
import { openNative } from "../ffi/library.ts";
import { runtime, test, type TestBody } from "./harness.ts";
import {
  corruptedVariants,
  expectOpen,
  forge,
  inDirectory,
  patched,
  privateDirectory,
  resized,
} from "./named_region_files.ts";
import { random32 } from "./random.ts";

const CHILD = process.env.HOTPATH_HOSTILE_CHILD;
const CHILD_DIRECTORY = process.env.HOTPATH_HOSTILE_DIRECTORY;

/** Registers a test, unless this module runs as a child scenario. */
function hostile(name: string, body: TestBody): void {
  if (CHILD === undefined) test(name, body);
}

// ---------------------------------------------------------------------------------------------
// Files

/** What `action` did: a HotpathError code, "opened", or the foreign error it threw. */
function outcome(action: () => unknown): string {
  try {
    const value = action();
    if (value instanceof SharedPool) {
      value.close();
      return "opened";
    }
    return `returned ${String(value)}`;
  } catch (error) {
    if (error instanceof HotpathError) return error.code;
    return error instanceof Error ? `${error.constructor.name}: ${error.message}` : `threw ${String(error)}`;
  }
}

/** What `SharedPool.open({ path })` did (the pool, if it opened, is closed again). */
function openOutcome(path: string): string {
  return outcome(() => SharedPool.open({ path }));
}

/** The geometry of the template pool. */
const TEMPLATE_OPTIONS = {
  blockSize: 24,
  capacity: 8,
  grow: { chunk: 8, maxCapacity: 1024 },
  cache: 4,
  maxWorkers: 3,
  retire: 4,
} as const;

/** The bytes of a valid, closed region file (created in `directory`, then removed). */
function templateBytes(directory: string): Uint8Array {
  const path = join(directory, "template");
  const pool = new SharedPool({ ...TEMPLATE_OPTIONS, path });
  try {
    const handles = [pool.alloc(), pool.alloc(), pool.alloc()];
    pool.free(handles[1]);
  } finally {
    pool.close();
  }
  const bytes = new Uint8Array(readFileSync(path));
  rmSync(path);
  return bytes;
}

const H = SHARED_POOL_HEADER;

/** Header fields that describe the geometry (each u32), as the generated mirror names them. */
const GEOMETRY_FIELDS = [
  "headerBytes",
  "blockSize",
  "alignment",
  "capacity",
  "capacityMax",
  "growChunk",
  "cachesMax",
  "cacheCapacity",
  "retireCapacity",
  "blockStride",
  "cacheStride",
  "ownersOffset",
  "cachesOffset",
  "blocksOffset",
  "layoutHash",
].filter((name) => name in H) as (keyof typeof H)[];

/** Gives `path` to user `uid`; false when this process may not (it is not root). */
function tryChown(path: string, uid: number): boolean {
  try {
    chownSync(path, uid, uid);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile files at open

hostile("SharedPool.open of a byte-exact copy of a valid region opens it (the forging is sound)", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const path = forge(directory, template);
    using pool = SharedPool.open({ path });
    assert.equal(pool.blockSize, TEMPLATE_OPTIONS.blockSize);
    assert.equal(pool.maxCapacity, TEMPLATE_OPTIONS.grow.maxCapacity);
    assert.equal(pool.check(), 2, "the copy holds the template's two allocated blocks");
    const handle = pool.alloc();
    pool.free(handle);
    assert.equal(pool.check(), 2);
  });
});

hostile("SharedPool.open refuses truncated and padded files with CORRUPTED", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const size = template.length;
    assert.ok(size > 2 * LIMITS.pageBytes, `the template is ${size} bytes: too small to cut a page from`);
    expectOpen(
      directory,
      [
        ["0 bytes", new Uint8Array(0)],
        ["1 byte", template.subarray(0, 1)],
        ["half the header", template.subarray(0, H.size >> 1)],
        ["the header but one byte", template.subarray(0, H.size - 1)],
        ["the header only", template.subarray(0, H.size)],
        ["one page", template.subarray(0, LIMITS.pageBytes)],
        ["one page short", template.subarray(0, size - LIMITS.pageBytes)],
        ["one byte short", template.subarray(0, size - 1)],
        ["one byte long", resized(template, size + 1)],
        ["one page long", resized(template, size + LIMITS.pageBytes)],
        ["twice the size", resized(template, 2 * size)],
      ],
      "CORRUPTED",
      openOutcome,
    );
  });
});

hostile("SharedPool.open refuses another format, ABI, layout version or kind with INCOMPATIBLE", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const word = (offset: number, value: number) => patched(template, (view) => view.setUint32(offset, value, true));
    expectOpen(
      directory,
      [
        ["zeros of the right size", new Uint8Array(template.length)],
        ["0xff bytes of the right size", new Uint8Array(template.length).fill(0xff)],
        ["magic 0", patched(template, (view) => view.setBigUint64(H.magic, 0n, true))],
        ["magic of a Pool", word(H.magic, LIMITS.poolMagic)],
        ["magic of an Arena", word(H.magic, LIMITS.arenaMagic)],
        ["magic's low half off by one", word(H.magic, LIMITS.sharedMagicLow + 1)],
        ["magic's high half off by one", word(H.magic + 4, LIMITS.sharedMagicHigh + 1)],
        [
          "magic byte-swapped",
          patched(template, (view) => view.setBigUint64(H.magic, view.getBigUint64(H.magic, true))),
        ],
        ...[0, LIMITS.abiVersion - 1, LIMITS.abiVersion + 1, 0xffffffff].map((value) =>
          [`ABI version ${value}`, word(H.abiVersion, value)] as const
        ),
        ...[0, LIMITS.sharedLayoutVersion + 1, 0xffffffff].map((value) =>
          [`layout version ${value}`, word(H.layoutVersion, value)] as const
        ),
        ...[0, 2, 3, 0xffffffff].map((value) => [`kind ${value}`, word(H.kind, value)] as const),
      ],
      "INCOMPATIBLE",
      openOutcome,
    );
  });
});

hostile("SharedPool.open refuses a region that is not ready or whose geometry disagrees with CORRUPTED", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const variants = corruptedVariants(template, H, LIMITS.sharedReady, GEOMETRY_FIELDS, LIMITS.pageBytes);
    expectOpen(directory, variants, "CORRUPTED", openOutcome);
  });
});

hostile("SharedPool.open refuses files others may read or write, or that another user owns", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const misses: string[] = [];
    for (const mode of [0o644, 0o660, 0o640, 0o604, 0o606, 0o620, 0o602, 0o666, 0o777, 0o610]) {
      const path = forge(directory, template, mode);
      const got = openOutcome(path);
      if (got !== "PERMISSION_DENIED") misses.push(`mode ${mode.toString(8)}: ${got}`);
    }
    const ownerOnly = forge(directory, template, 0o700);
    const ownerOnlyGot = openOutcome(ownerOnly);
    if (ownerOnlyGot !== "opened") misses.push(`mode 700 (owner only): ${ownerOnlyGot}`);
    // Root can hand a 0600 file to another user (nobody, 65534): it must not be opened as ours.
    const foreignOwned = forge(directory, template);
    if (tryChown(foreignOwned, 65534)) {
      const got = openOutcome(foreignOwned);
      if (got !== "PERMISSION_DENIED") misses.push(`owned by uid 65534: ${got}`);
    }
    assert.deepEqual(misses, []);
  });
});

hostile("SharedPool.open refuses what is not a regular file of this user, without following links", () => {
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const valid = forge(directory, template);
    const link = join(directory, "link-to-valid");
    symlinkSync(valid, link);
    const dangling = join(directory, "dangling");
    symlinkSync(join(directory, "absent"), dangling);
    const linkToDirectory = join(directory, "link-to-directory");
    symlinkSync(directory, linkToDirectory);
    const subdirectory = join(directory, "subdirectory");
    mkdirSync(subdirectory, { mode: 0o700 });
    const expectations: [string, string, readonly string[]][] = [
      ["a symlink to a valid region", link, ["PERMISSION_DENIED", "INVALID_ARGUMENT"]],
      ["a dangling symlink", dangling, ["PERMISSION_DENIED", "INVALID_ARGUMENT", "NOT_FOUND"]],
      ["a symlink to a directory", linkToDirectory, ["PERMISSION_DENIED", "INVALID_ARGUMENT"]],
      ["a directory", subdirectory, ["INVALID_ARGUMENT"]],
      ["a directory with a trailing slash", `${subdirectory}/`, ["INVALID_ARGUMENT"]],
      ["a path through a regular file", join(valid, "child"), ["INVALID_ARGUMENT", "NOT_FOUND"]],
      ["/dev/null (a device)", "/dev/null", ["INVALID_ARGUMENT", "PERMISSION_DENIED"]],
      ["/proc/self/status (a file of the kernel)", "/proc/self/status", ["INVALID_ARGUMENT", "PERMISSION_DENIED"]],
      ["/ (the root directory)", "/", ["INVALID_ARGUMENT", "PERMISSION_DENIED"]],
      ["an absent file", join(directory, "absent"), ["NOT_FOUND"]],
      ["a file in an absent directory", join(directory, "absent", "pool"), ["NOT_FOUND", "INVALID_ARGUMENT"]],
    ];
    const fifo = join(directory, "fifo");
    if (spawnSync("mkfifo", ["-m", "600", fifo]).status === 0) {
      expectations.push(["a FIFO of mode 0600", fifo, ["INVALID_ARGUMENT"]]);
    }
    const misses = expectations
      .map(([label, path, accepted]) => [label, openOutcome(path), accepted] as const)
      .filter(([, got, accepted]) => !accepted.includes(got))
      .map(([label, got]) => `${label}: ${got}`);
    assert.deepEqual(misses, []);
    assert.deepEqual(new Uint8Array(readFileSync(valid)), template, "opening through a link changed the region");
  });
});

hostile("SharedPool.open and unlink of absent names give NOT_FOUND", () => {
  const name = `hotpath-hostile-absent-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  assert.equal(outcome(() => SharedPool.open({ name })), "NOT_FOUND");
  assert.equal(outcome(() => SharedPool.unlink({ name })), "NOT_FOUND");
  inDirectory("hotpath-hostile-", (directory) => {
    assert.equal(outcome(() => SharedPool.open({ path: join(directory, "absent") })), "NOT_FOUND");
    assert.equal(outcome(() => SharedPool.unlink({ path: join(directory, "absent") })), "NOT_FOUND");
  });
});

hostile("new SharedPool at a name or path that exists gives ALREADY_EXISTS and leaves it as it was", () => {
  const name = `hotpath-hostile-exists-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const first = new SharedPool({ blockSize: 16, capacity: 4, name });
  try {
    const handle = first.alloc();
    first.view(handle).fill(0x42);
    assert.equal(outcome(() => new SharedPool({ blockSize: 16, capacity: 4, name })), "ALREADY_EXISTS");
    assert.equal(outcome(() => new SharedPool({ blockSize: 64, capacity: 64, name })), "ALREADY_EXISTS");
    assert.equal(first.view(handle)[0], 0x42, "a refused creation wrote over the region");
    assert.equal(first.check(), 1);
  } finally {
    first.close();
    SharedPool.unlink({ name });
  }
  inDirectory("hotpath-hostile-", (directory) => {
    const template = templateBytes(directory);
    const existing = forge(directory, template);
    const dangling = join(directory, "dangling");
    const target = join(directory, "target-of-dangling");
    symlinkSync(target, dangling);
    const link = join(directory, "link");
    symlinkSync(existing, link);
    const create = (path: string) => outcome(() => new SharedPool({ blockSize: 16, capacity: 4, path }));
    assert.deepEqual(
      [create(existing), create(dangling), create(link), create(directory)],
      ["ALREADY_EXISTS", "ALREADY_EXISTS", "ALREADY_EXISTS", "ALREADY_EXISTS"],
    );
    assert.ok(!existsSync(target), "creating at a dangling symlink created its target");
    assert.deepEqual(new Uint8Array(readFileSync(existing)), template, "the existing region was written to");
  });
});

hostile("a /dev/shm region whose header is rewritten while open keeps working and refuses new openers", () => {
  const name = `hotpath-hostile-header-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pool = new SharedPool({ blockSize: 16, capacity: 8, name });
  try {
    const mapping = SharedPool.open({ name });
    const header = new DataView(mapping.bytes.buffer, 0, H.size);
    const magic = header.getBigUint64(H.magic, true);
    header.setBigUint64(H.magic, 0n, true);
    assert.equal(outcome(() => SharedPool.open({ name })), "INCOMPATIBLE");
    header.setBigUint64(H.magic, magic, true);
    header.setUint32(H.blockSize, 17, true);
    assert.equal(outcome(() => SharedPool.open({ name })), "CORRUPTED");
    const handle = pool.alloc();
    assert.equal(pool.blockSize, 16, "the open pool keeps the geometry it validated");
    pool.free(handle);
    assert.equal(pool.check(), 0);
    mapping.close();
  } finally {
    pool.close();
    SharedPool.unlink({ name });
  }
});

// ---------------------------------------------------------------------------------------------
// Live shared state corrupted while pools are open: child processes

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

interface ChildReport {
  scenario: string;
  misses: string[];
  notes?: string[];
}

/** Runs this file as a script with HOTPATH_HOSTILE_CHILD=`scenario` in a private directory. */
function runScenario(scenario: string): { report: ChildReport | undefined; failure: string | undefined } {
  const directory = privateDirectory("hotpath-hostile-");
  try {
    const args = runtime === "deno"
      ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "--allow-write", thisFile]
      : [thisFile];
    const result = spawnSync(process.execPath, args, {
      cwd: packageRoot,
      env: { ...process.env, HOTPATH_HOSTILE_CHILD: scenario, HOTPATH_HOSTILE_DIRECTORY: directory },
      encoding: "utf8",
      timeout: 60_000,
    });
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
    const tail = output.trim().split("\n").slice(-8).join("\n");
    const line = (result.stdout ?? "").split("\n").findLast((text) => text.startsWith("{"));
    const failure = result.status === 0 && result.signal === null
      ? undefined
      : `the child ${scenario} ended with status ${result.status}, signal ${result.signal}:\n${tail}`;
    return { report: line === undefined ? undefined : JSON.parse(line) as ChildReport, failure };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const SCENARIOS = [
  ["free-list", "a corrupted free-list head or link gives CORRUPTED or POOL_EXHAUSTED, never a crash"],
  ["counters", "corrupted counters (free count, committed, claimed) leave stats sane and check() CORRUPTED"],
  ["owners", "corrupted owner bytes give DOUBLE_FREE or pass, and check() reports CORRUPTED"],
  ["caches", "corrupted cache counts give CORRUPTED, and forged caches of dead owners are reclaimed safely"],
  ["epochs", "a corrupted retire ring, limbo table or epoch gives CORRUPTED or keeps working"],
  ["garbage", "random words written over live shared state give HotpathErrors only (seeded, 400 operations each)"],
  ["no-double-alloc", "corrupted shared state never makes alloc hand out a block that is allocated"],
  ["truncated", "a region truncated by another process while open makes calls throw, not kill the process"],
] as const;

for (const [scenario, description] of SCENARIOS) {
  hostile(`SharedPool: ${description} (child process)`, () => {
    const { report, failure } = runScenario(scenario);
    if (scenario === "truncated" && failure !== undefined) {
      // The documented limit (README, "Untrusted regions"): the kernel answers a read of a page
      // that a truncation removed from under a shared mapping with SIGBUS, in JavaScript's own
      // typed-array reads as much as in native code. Nothing else may end the child.
      assert.match(failure, /signal SIGBUS/, failure);
      return;
    }
    assert.equal(failure, undefined, failure);
    assert.ok(report !== undefined, `the child ${scenario} printed no report`);
    assert.deepEqual(report.misses, [], `scenario ${scenario}`);
  });
}

// ---------------------------------------------------------------------------------------------
// The child side: fixtures and scenarios

/** A pool in the child's directory, its second mapping, and raw access to the region through it. */
interface Fixture {
  /** The creator: cache slot 0. */
  pool: SharedPool;
  /** A second mapping (SharedPool.open): cache slot 1; `raw` is its view of the whole region. */
  mapping: SharedPool;
  raw: DataView;
  path: string;
  held: number[];
  /** The geometry the library validated (hp_shared_geometry), by SHARED_GEOMETRY's names. */
  geometry: Record<keyof typeof SHARED_GEOMETRY, number>;
  capacityMax: number;
  ownersOffset: number;
  cachesOffset: number;
  cacheStride: number;
  blocksOffset: number;
  blockStride: number;
  close(): void;
}

let fixtures = 0;

function fixture(options: Record<string, unknown> = {}): Fixture {
  const path = join(CHILD_DIRECTORY!, `pool-${fixtures++}`);
  const pool = new SharedPool({ blockSize: 16, capacity: 16, cache: 4, maxWorkers: 6, retire: 4, ...options, path });
  const held = [pool.alloc(), pool.alloc(), pool.alloc()];
  const mapping = SharedPool.open({ path });
  const geometry = geometryOf(mapping.ptr(held[0]));
  return {
    pool,
    mapping,
    raw: new DataView(mapping.bytes.buffer),
    path,
    held,
    geometry,
    capacityMax: geometry.capacityMax,
    ownersOffset: geometry.ownersOffset,
    cachesOffset: geometry.cachesOffset,
    cacheStride: geometry.cacheStride,
    blocksOffset: geometry.blocksOffset,
    blockStride: geometry.blockStride,
    close() {
      mapping.close();
      pool.close();
    },
  };
}

/**
 * The validated geometry of the region that holds native `address`: its id is found through the
 * library's own lookups (hp_region_address of every slot, generations 1 to 64), then asked.
 */
function geometryOf(address: number): Record<keyof typeof SHARED_GEOMETRY, number> {
  const symbols = openNative().symbols;
  for (let generation = 1; generation <= 64; generation++) {
    for (let slot = 0; slot < 2 ** LIMITS.slotBits; slot++) {
      const id = generation * 2 ** LIMITS.slotBits + slot;
      const start = symbols.hp_region_address(id);
      if (!(start > 0 && address >= start && address < start + symbols.hp_region_bytes(id))) continue;
      const out = new Float64Array(SHARED_GEOMETRY.size / 8);
      assert.equal(symbols.hp_shared_geometry(id, out, out.byteLength), 0);
      const geometry = {} as Record<string, number>;
      for (const [name, offset] of Object.entries(SHARED_GEOMETRY)) geometry[name] = out[offset / 8];
      return geometry as Record<keyof typeof SHARED_GEOMETRY, number>;
    }
  }
  throw new Error(`no region holds address ${address}`);
}

/** Offset of word `word` of cache slot `index`. */
function cacheWord(f: Fixture, index: number, byteOffset: number): number {
  return f.cachesOffset + index * f.cacheStride + byteOffset;
}

/** The handle on top of the free list. */
function freeTop(f: Fixture): number {
  return f.raw.getUint32(H.freeHead, true);
}

/** A fresh attachment through its own mapping: an empty cache, so its first alloc refills. */
function opener(f: Fixture): SharedPool {
  return SharedPool.open({ path: f.path });
}

/** Records an action's outcome; a miss unless it is one of `accepted` (codes, or "value" for any return). */
function expectOutcome(misses: string[], label: string, action: () => unknown, accepted: readonly string[]): unknown {
  try {
    const value = action();
    if (!accepted.includes("value")) misses.push(`${label}: returned ${String(value)}`);
    return value;
  } catch (error) {
    if (!(error instanceof HotpathError)) {
      misses.push(`${label}: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : error}`);
    } else if (!accepted.includes(error.code)) misses.push(`${label}: ${error.code}`);
    return undefined;
  }
}

/** Every operation once, for scenarios that only require "no crash, HotpathErrors only". */
function exerciseAll(misses: string[], label: string, pool: SharedPool, handles: readonly number[]): void {
  const any = ["value", "CORRUPTED", "DOUBLE_FREE", "INVALID_HANDLE", "POOL_EXHAUSTED", "LIMIT_REACHED", "CLOSED"];
  expectOutcome(misses, `${label} alloc`, () => pool.alloc(), any);
  for (const handle of handles) expectOutcome(misses, `${label} free(${handle})`, () => pool.free(handle), any);
  expectOutcome(misses, `${label} stats`, () => pool.stats(), any);
  expectOutcome(misses, `${label} check`, () => pool.check(), any);
  expectOutcome(misses, `${label} reclaimAbandoned`, () => pool.reclaimAbandoned(), any);
  expectOutcome(misses, `${label} collect`, () => pool.collect(), any);
  expectOutcome(misses, `${label} grow`, () => pool.grow(), any);
  expectOutcome(misses, `${label} recover`, () => pool.recover(), [...any, "BUSY"]);
}

function freeListScenario(misses: string[]): void {
  const cases: [string, (f: Fixture) => void, readonly string[]][] = [
    ["head beyond capacityMax", (f) => f.raw.setUint32(H.freeHead, f.capacityMax + 3, true), ["CORRUPTED"]],
    ["head 0xfffffffe", (f) => f.raw.setUint32(H.freeHead, 0xfffffffe, true), ["CORRUPTED"]],
    ["head empty while the count says blocks are free", (f) => f.raw.setUint32(H.freeHead, 0xffffffff, true), [
      "POOL_EXHAUSTED",
      "CORRUPTED",
      "value",
    ]],
    ["the top block's link beyond capacityMax", (f) => {
      f.raw.setUint32(f.blocksOffset + freeTop(f) * f.blockStride, f.capacityMax + 1, true);
    }, ["CORRUPTED", "value"]],
  ];
  for (const [label, corrupt, accepted] of cases) {
    const f = fixture();
    try {
      corrupt(f);
      using fresh = opener(f);
      expectOutcome(misses, `${label}: alloc`, () => fresh.alloc(), accepted);
      expectOutcome(misses, `${label}: check`, () => fresh.check(), ["CORRUPTED"]);
      expectOutcome(misses, `${label}: stats`, () => fresh.stats(), ["value"]);
      expectOutcome(misses, `${label}: the creator frees`, () => f.pool.free(f.held[0]), ["value"]);
      expectOutcome(misses, `${label}: the creator's cached alloc`, () => f.pool.alloc(), ["value", "CORRUPTED"]);
    } finally {
      f.close();
    }
  }
}

function countersScenario(misses: string[]): void {
  const cases: [string, (f: Fixture) => void][] = [
    ["free count 0xffffffff", (f) => f.raw.setUint32(H.freeCount, 0xffffffff, true)],
    ["free count 0", (f) => f.raw.setUint32(H.freeCount, 0, true)],
    ["committed 0xffffffff", (f) => f.raw.setUint32(H.committed, 0xffffffff, true)],
    ["committed 0", (f) => f.raw.setUint32(H.committed, 0, true)],
    ["committed beyond capacityMax", (f) => f.raw.setUint32(H.committed, f.capacityMax + 1, true)],
  ];
  for (const [label, corrupt] of cases) {
    const f = fixture();
    try {
      corrupt(f);
      const stats = expectOutcome(misses, `${label}: stats`, () => f.pool.stats(), ["value"]) as
        | { capacity: number; maxCapacity: number; inUse: number }
        | undefined;
      if (stats !== undefined && !(stats.capacity <= stats.maxCapacity && stats.inUse <= stats.capacity)) {
        misses.push(`${label}: stats ${JSON.stringify(stats)}`);
      }
      expectOutcome(misses, `${label}: check`, () => f.pool.check(), ["CORRUPTED"]);
      expectOutcome(misses, `${label}: grow of a fixed pool`, () => f.pool.grow(), ["POOL_EXHAUSTED"]);
    } finally {
      f.close();
    }
  }
  const growing = { capacity: 8, grow: { chunk: 8, maxCapacity: 32 } };
  for (const claimed of [0, 7, 8, 31, 32, 0xffffffff]) {
    const f = fixture(growing);
    try {
      f.raw.setUint32(H.claimed, claimed, true);
      exerciseAll(misses, `claimed ${claimed}:`, f.pool, []);
      for (let round = 0; round < 6; round++) {
        expectOutcome(misses, `claimed ${claimed}: grow ${round}`, () => f.pool.grow(), ["value", "POOL_EXHAUSTED"]);
      }
    } finally {
      f.close();
    }
  }
}

function ownersScenario(misses: string[]): void {
  {
    const f = fixture();
    try {
      const handle = f.held[0];
      f.raw.setUint8(f.ownersOffset + handle, 0);
      expectOutcome(misses, "allocated block's owner cleared: free", () => f.pool.free(handle), ["DOUBLE_FREE"]);
      expectOutcome(misses, "allocated block's owner cleared: retire", () => f.pool.retire(handle), ["DOUBLE_FREE"]);
      if (f.pool.isAllocated(handle)) misses.push("allocated block's owner cleared: still reads allocated");
      expectOutcome(misses, "allocated block's owner cleared: check", () => f.pool.check(), ["CORRUPTED"]);
    } finally {
      f.close();
    }
  }
  {
    const f = fixture();
    try {
      const top = freeTop(f);
      f.raw.setUint8(f.ownersOffset + top, 7);
      expectOutcome(misses, "free block's owner set: free", () => f.pool.free(top), ["value", "DOUBLE_FREE"]);
      expectOutcome(misses, "free block's owner set: check", () => f.pool.check(), ["CORRUPTED"]);
    } finally {
      f.close();
    }
  }
  {
    const f = fixture();
    try {
      new Uint8Array(f.raw.buffer, f.ownersOffset, f.capacityMax).fill(0xff);
      for (const handle of f.held) {
        expectOutcome(misses, `owners all 0xff: free(${handle})`, () => f.pool.free(handle), ["DOUBLE_FREE"]);
      }
      expectOutcome(misses, "owners all 0xff: stats", () => f.pool.stats(), ["value"]);
      expectOutcome(misses, "owners all 0xff: check", () => f.pool.check(), ["CORRUPTED"]);
      exerciseAll(misses, "owners all 0xff:", f.pool, f.held);
    } finally {
      f.close();
    }
  }
}

function cachesScenario(misses: string[]): void {
  const count = SHARED_CACHE_HEADER.count;
  // (A count just past the capacity but inside the slot is in the no-double-alloc scenario.)
  for (const value of [17, 1000, LIMITS.sharedClosedCount - 1, 0xffffffff]) {
    const f = fixture();
    try {
      f.raw.setUint32(cacheWord(f, 0, count), value, true);
      expectOutcome(misses, `own cache count ${value}: alloc`, () => f.pool.alloc(), ["CORRUPTED"]);
      expectOutcome(misses, `own cache count ${value}: free`, () => f.pool.free(f.held[0]), ["CORRUPTED"]);
      expectOutcome(misses, `own cache count ${value}: check`, () => f.pool.check(), ["CORRUPTED"]);
    } finally {
      f.close();
    }
  }
  forgedDeadCaches(misses);
}

/** Cache slot 4 forged as live (any generation), owned by a dead process, holding hostile handles. */
function forgedDeadCaches(misses: string[]): void {
  const c = SHARED_CACHE_HEADER;
  const cases: [string, number, number, (f: Fixture) => number[]][] = [
    ["count beyond the capacity", 1 << 2 | 1, 9999, () => []],
    ["handles beyond capacityMax", 5 << 2 | 1, 2, (f) => [f.capacityMax + 7, 0]],
    ["generation of 30 bits", 0xfffffffc | 1, 1, () => [15]],
    ["closed, generation of 30 bits", 0xfffffffc | 3, 0, () => []],
    ["busy forever", 7 << 2 | 2, 0, () => []],
  ];
  for (const [label, state, count, handles] of cases) {
    const f = fixture();
    try {
      const slot = cacheWord(f, 4, 0);
      f.raw.setUint32(slot + c.state, state, true);
      f.raw.setUint32(slot + c.count, count, true);
      f.raw.setUint32(slot + c.owner, 0, true); // pid 0: dead
      f.raw.setUint32(slot + c.owner + 4, 0, true);
      handles(f).forEach((handle, index) => f.raw.setUint32(slot + c.emptyMark + 4 * (index + 1), handle, true));
      expectOutcome(misses, `dead cache, ${label}: reclaimAbandoned`, () => f.pool.reclaimAbandoned(), [
        "value",
        "CORRUPTED",
      ]);
      exerciseAll(misses, `dead cache, ${label}:`, f.pool, [f.held[0]]);
      expectOutcome(misses, `dead cache, ${label}: a new attachment`, () => opener(f).close(), [
        "value",
        "LIMIT_REACHED",
        "CORRUPTED",
      ]);
    } finally {
      f.close();
    }
  }
}

function epochsScenario(misses: string[]): void {
  const c = SHARED_CACHE_HEADER;
  const any = ["value", "CORRUPTED", "LIMIT_REACHED", "DOUBLE_FREE"];
  const cases: [string, (f: Fixture) => void, readonly string[]][] = [
    ["own retired count beyond the ring", (f) => f.raw.setUint32(cacheWord(f, 0, c.retired), 5, true), ["CORRUPTED"]],
    ["own retired count 0xffffffff", (f) => f.raw.setUint32(cacheWord(f, 0, c.retired), 0xffffffff, true), [
      "CORRUPTED",
    ]],
    ["global epoch 0", (f) => f.raw.setUint32(H.epoch, 0, true), any],
    ["global epoch 0xffffffff", (f) => f.raw.setUint32(H.epoch, 0xffffffff, true), any],
    ["limbo count 0xffffffff, empty table", (f) => f.raw.setUint32(H.limboCount, 0xffffffff, true), any],
    ["another slot inside an old epoch, owner alive", (f) => {
      const mine = cacheWord(f, 0, 0);
      const other = cacheWord(f, 4, 0);
      new Uint8Array(f.raw.buffer).copyWithin(other + c.owner, mine + c.owner, mine + c.ownerTag);
      f.raw.setUint32(other + c.epoch, 0xfffffff0, true); // not 0 (outside) and not the global epoch
    }, any],
  ];
  for (const [label, corrupt, accepted] of cases) {
    const f = fixture();
    try {
      corrupt(f);
      expectOutcome(misses, `${label}: collect`, () => f.pool.collect(), accepted);
      expectOutcome(misses, `${label}: retire`, () => f.pool.retire(f.held[0]), accepted);
      expectOutcome(misses, `${label}: enter/exit`, () => f.pool.enter()[Symbol.dispose](), ["value"]);
      exerciseAll(misses, `${label}:`, f.pool, [f.held[1]]);
    } finally {
      f.close();
    }
  }
  forgedRingEntries(misses);
}

/** The creator's retire ring holds entries it never wrote: out of range, already free, ancient. */
function forgedRingEntries(misses: string[]): void {
  const c = SHARED_CACHE_HEADER;
  const f = fixture();
  try {
    const ring = cacheWord(f, 0, f.geometry.retireOffset);
    const entries = [[f.capacityMax + 9, 0], [freeTop(f), 0], [0xffffffff, 0xfffffff0]];
    entries.forEach(([handle, epoch], index) => {
      f.raw.setUint32(ring + 8 * index, handle, true);
      f.raw.setUint32(ring + 8 * index + 4, epoch, true);
    });
    f.raw.setUint32(cacheWord(f, 0, c.retired), entries.length, true);
    for (let round = 0; round < 3; round++) {
      expectOutcome(misses, `forged ring: collect ${round}`, () => f.pool.collect(), ["value", "CORRUPTED"]);
    }
    exerciseAll(misses, "forged ring:", f.pool, f.held);
  } finally {
    f.close();
  }
}

/** Outcomes of the garbage scenario's calls, by "method code": printed, to show what it reached. */
const tally: Record<string, number> = {};

/** Seeds of the garbage scenario: HOTPATH_HOSTILE_SEEDS overrides the default 8 (a longer hunt). */
const GARBAGE_SEEDS = Number(process.env.HOTPATH_HOSTILE_SEEDS ?? "") || 8;

/**
 * Seeded rounds of "write one hostile word into the live state, then call one method". Odd seeds
 * use two attachments (through two mappings); even seeds one attachment alone, writing through
 * its own buffer, so that `recover` (which needs the pool to itself) runs over the damage too.
 */
function garbageScenario(misses: string[]): void {
  for (let seed = 1; seed <= GARBAGE_SEEDS; seed++) {
    const next = random32(seed * 7919);
    const f = fixture(seed % 4 < 2 ? { capacity: 8, grow: { chunk: 8, maxCapacity: 32 } } : {});
    const alone = seed % 2 === 0;
    if (alone) f.mapping.close();
    const raw = alone ? new DataView(f.pool.bytes.buffer) : f.raw;
    const pools = alone ? [f.pool] : [f.pool, f.mapping];
    try {
      const live = f.blocksOffset + 4 * f.blockStride; // header counters, owners, caches, limbo, first blocks
      for (let step = 0; step < 400; step++) {
        const offset = H.freeHead + (next() % (live - H.freeHead)) & ~3;
        const values = [0, 1, 0xffffffff, f.capacityMax, f.capacityMax - 1, next() & 0xff, next()];
        raw.setUint32(offset, values[next() % values.length], true);
        const pool = pools[next() % pools.length];
        garbageStep(misses, `seed ${seed} step ${step}`, pool, next, f);
      }
    } finally {
      f.close();
    }
  }
}

function garbageStep(misses: string[], label: string, pool: SharedPool, next: () => number, f: Fixture): void {
  const handle = next() % (f.capacityMax + 2);
  const any = [
    "value",
    "CORRUPTED",
    "DOUBLE_FREE",
    "INVALID_HANDLE",
    "POOL_EXHAUSTED",
    "LIMIT_REACHED",
    "CLOSED",
    "BUSY",
  ];
  const actions: [string, () => unknown][] = [
    ["alloc", () => pool.alloc()],
    ["tryAlloc", () => pool.tryAlloc()],
    ["free", () => pool.free(handle)],
    ["retire", () => pool.retire(handle)],
    ["collect", () => pool.collect()],
    ["enter/exit", () => pool.enter()[Symbol.dispose]()],
    ["stats", () => pool.stats()],
    ["check", () => pool.check()],
    ["reclaimAbandoned", () => pool.reclaimAbandoned()],
    ["grow", () => pool.grow()],
    ["recover", () => pool.recover()],
    ["isAllocated", () => pool.isAllocated(handle)],
    ["open and close", () => SharedPool.open({ path: f.path }).close()],
  ];
  const [name, action] = actions[next() % actions.length];
  const before = misses.length;
  let code = "value";
  expectOutcome(misses, `${label} ${name}`, () => {
    try {
      return action();
    } catch (error) {
      code = error instanceof HotpathError ? error.code : "foreign";
      throw error;
    }
  }, [...any, "INCOMPATIBLE"]);
  if (misses.length === before) tally[`${name} ${code}`] = (tally[`${name} ${code}`] ?? 0) + 1;
}

/** Corruptions after which an alloc that returns must return a block nobody holds. */
function noDoubleAllocationScenario(misses: string[]): void {
  const c = SHARED_CACHE_HEADER;
  const cases: [string, Record<string, unknown>, (f: Fixture) => void][] = [
    ["free-list head at an allocated block", {}, (f) => f.raw.setUint32(H.freeHead, f.held[0], true)],
    ["a free block linked to itself", {}, (f) => {
      const top = freeTop(f);
      f.raw.setUint32(f.blocksOffset + top * f.blockStride, top, true);
    }],
    ["own cache count one past its capacity (cache 4)", {}, (f) => {
      f.raw.setUint32(cacheWord(f, 0, c.count), 5, true);
    }],
    ["own cache count past its capacity (cache 2)", { cache: 2 }, (f) => {
      f.raw.setUint32(cacheWord(f, 0, c.count), 4, true);
    }],
    ["own cache emptied with its empty mark zeroed", {}, (f) => {
      f.raw.setUint32(cacheWord(f, 0, c.count), 0, true);
      f.raw.setUint32(cacheWord(f, 0, c.emptyMark), 0, true);
    }],
  ];
  for (const [label, options, corrupt] of cases) {
    const f = fixture(options);
    try {
      const allocated = new Set(f.held);
      corrupt(f);
      using fresh = opener(f);
      for (let round = 0; round < 6; round++) {
        for (const pool of [f.pool, fresh]) {
          let handle: number;
          try {
            handle = pool.tryAlloc();
          } catch (error) {
            if (!(error instanceof HotpathError)) misses.push(`${label}: ${String(error)}`);
            continue;
          }
          if (handle < 0) continue;
          if (allocated.has(handle)) {
            misses.push(`${label}: alloc handed out block ${handle}, which is allocated`);
            break;
          }
          allocated.add(handle);
        }
      }
    } finally {
      f.close();
    }
  }
}

/** Another process truncates the file while this one has it mapped (ftruncate: SIGBUS on touch). */
function truncatedScenario(misses: string[]): void {
  const f = fixture();
  truncateSync(f.path, 0);
  exerciseAll(misses, "truncated to 0 bytes:", f.pool, [f.held[0]]);
  expectOutcome(misses, "truncated: open", () => SharedPool.open({ path: f.path }).close(), ["CORRUPTED"]);
  f.close();
}

function runChildScenario(scenario: string): string[] {
  const misses: string[] = [];
  const scenarios: Record<string, (misses: string[]) => void> = {
    "free-list": freeListScenario,
    counters: countersScenario,
    owners: ownersScenario,
    caches: cachesScenario,
    epochs: epochsScenario,
    garbage: garbageScenario,
    "no-double-alloc": noDoubleAllocationScenario,
    truncated: truncatedScenario,
  };
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
  run(misses);
  return misses;
}

// ---------------------------------------------------------------------------------------------
// Child entry point: run one scenario at top level and exit, registering no test.

if (CHILD !== undefined) {
  const misses = runChildScenario(CHILD);
  console.log(JSON.stringify({ scenario: CHILD, misses: misses.slice(0, 40), total: misses.length, tally }));
  process.exit(0);
}
