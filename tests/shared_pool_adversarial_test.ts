/**
 * Adversarial inputs for every public function, option and getter of SharedPool: each bad value
 * must give a HotpathError with its stable code (never a plain TypeError or RangeError, never a
 * crash, never a silent wrong answer), on Deno and on Bun.
 *
 * Each test runs a table of [label, action] rows and reports every row that missed at once.
 * Scenarios that rely on the collector freeing a transferred buffer run in a child: this same
 * file, run as a script with HOTPATH_SHARED_ADVERSARIAL_CHILD=<scenario> (see the end).
 *
 * Every file a test creates is removed in a `finally`, whatever the outcome: files of named pools
 * live in a private directory (in /dev/shm where node:fs may reach it, else in the temporary
 * directory: Deno asks for --allow-all before node:fs touches anything under /dev), and the few
 * bare /dev/shm names are created and removed through the library itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Arena, HotpathError, Pool, SharedPool, type SharedPoolDescriptor, struct, StructLayout } from "../mod.ts";
import { openNative } from "../ffi/library.ts";
import { collectGarbage, nextTurn, runtime, test, type TestBody } from "./harness.ts";
import {
  expectAll as expectAllOf,
  foreign,
  lying,
  NOT_INTEGERS,
  NOT_INTEGERS_OR_UNDEFINED,
  outcome as outcomeOf,
  type Row,
  rows,
  show,
  withShifting,
} from "./hostile_values.ts";

const CHILD = process.env.HOTPATH_SHARED_ADVERSARIAL_CHILD;

/** Registers a test, unless this module runs as a child scenario. */
function adversarial(name: string, body: TestBody): void {
  if (CHILD === undefined) test(name, body);
}

// ---------------------------------------------------------------------------------------------
// Outcomes and tables

/** What an action did; a SharedPool it made is closed (and unlinked). */
function outcome(action: () => unknown): string {
  return outcomeOf(action, dispose);
}

/** Asserts that every row gives one of `expected`, closing any SharedPool a row made. */
function expectAll(table: readonly Row[], expected: string | readonly string[]): void {
  expectAllOf(table, expected, dispose);
}

/** Closes (and, if named, unlinks) a SharedPool a row was not supposed to create. */
function dispose(value: unknown): void {
  if (!(value instanceof SharedPool) || value.closed) return;
  if (value.name !== "") {
    try {
      value.unlink();
    } catch {
      // Gone already.
    }
  }
  value.close();
}

/** Values that are not handles of a pool of `capacity` blocks. */
function badHandles(capacity: number): (readonly [string, unknown])[] {
  return [
    ...NOT_INTEGERS_OR_UNDEFINED,
    ["lying valueOf 0", lying(0)],
    ["-1", -1],
    ["-2**31", -(2 ** 31)],
    ["2**31", 2 ** 31],
    ["2**32", 2 ** 32],
    ["2**32 + 1 (1 mod 2**32)", 2 ** 32 + 1],
    ["2**53", 2 ** 53],
    ["capacity", capacity],
    ["capacity + 1", capacity + 1],
  ];
}

/** A Proxy over `target` that counts the reads of every key. */
function counting<T extends object>(target: T): { proxy: T; reads: Map<PropertyKey, number> } {
  const reads = new Map<PropertyKey, number>();
  const proxy = new Proxy(target, {
    get(object, key, receiver) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(object, key, receiver);
    },
  });
  return { proxy, reads };
}

/** A /dev/shm name no other test run uses. */
function uniqueName(label: string): string {
  return `hotpath-adv-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Runs `body` with fresh paths in a private directory, removed afterwards whatever happens. The
 * directory is in /dev/shm where this runtime lets node:fs reach it (Bun), else in the temporary
 * directory: Deno asks for --allow-all before node:fs may touch anything under /dev.
 */
function withPaths(count: number, body: (...paths: string[]) => void): void {
  const directory = privateDirectory("hotpath-adv-");
  const paths = Array.from({ length: count }, (_, index) => `${directory}/p${index}`);
  try {
    body(...paths);
  } finally {
    rmSync(directory, { force: true, recursive: true });
  }
}

/** A new directory of mode 0700 under /dev/shm if reachable, else under the temporary directory. */
function privateDirectory(prefix: string): string {
  try {
    return mkdtempSync(`/dev/shm/${prefix}`);
  } catch {
    return mkdtempSync(join(tmpdir(), prefix));
  }
}

/** Removes a /dev/shm name through the library (Deno's node:fs may not touch /dev). */
function unlinkQuietly(name: string): void {
  try {
    SharedPool.unlink({ name });
  } catch (error) {
    if (!(error instanceof HotpathError) || error.code !== "NOT_FOUND") throw error;
  }
}

const Quote = struct({ price: "f64", size: "u32", side: "u8" });

/** Asserts that `action` gives exactly `code` (a pool it returns instead is closed first). */
function expectCode(action: () => unknown, code: string, label: string): void {
  const got = outcome(action);
  assert.equal(got, code, label);
}

// ---------------------------------------------------------------------------------------------
// Constructor options

const BAD_NAMES: readonly (readonly [string, unknown])[] = [
  ['""', ""],
  ['"."', "."],
  ['".."', ".."],
  ['"../escape"', "../escape"],
  ['"a/b"', "a/b"],
  ['"/absolute"', "/absolute"],
  ['"a\\0b" (NUL)', "a\0b"],
  ['"a\\n"', "a\n"],
  ['"a b"', "a b"],
  ['".hidden"', ".hidden"],
  ['"-dash"', "-dash"],
  ['"_underscore"', "_underscore"],
  ['"é" (non-ASCII)', "\u00e9"],
  ["201 characters", "x".repeat(201)],
  ["1000 characters", "x".repeat(1000)],
  ["5", 5],
  ["null", null],
  ["Symbol()", Symbol("name")],
  ["1n", 1n],
  ["{}", {}],
  ['["a"]', ["a"]],
  ['new String("ok")', new String("ok")],
];

const BAD_PATHS: readonly (readonly [string, unknown])[] = [
  ['""', ""],
  ['"relative"', "relative"],
  ['"./x"', "./x"],
  ['"dev/shm/x" (no leading slash)', "dev/shm/x"],
  ['"/dev/shm/a\\0b" (NUL)', "/dev/shm/a\0b"],
  ["256 bytes", "/" + "x".repeat(255)],
  ["1000 bytes", "/" + "x".repeat(999)],
  ["257 bytes of 129 characters", "/" + "\u00e9".repeat(128)],
  ["5", 5],
  ["null", null],
  ["Symbol()", Symbol("path")],
  ["{}", {}],
  ['new String("/dev/shm/x")', new String("/dev/shm/x")],
];

adversarial("new SharedPool rejects every bad option with INVALID_ARGUMENT and creates nothing", () => {
  const base = { blockSize: 16, capacity: 4 };
  const option = (key: string) => (value: unknown) => new SharedPool({ ...base, [key]: value } as never);
  const grow = option("grow");
  expectAll([
    ...rows([["null", null], ["5", 5], ['"options"', "options"], ["undefined", undefined]], (o) => new SharedPool(o)),
    ...rows(
      [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-8", -8], ["2**20+1", 2 ** 20 + 1], ["2**53", 2 ** 53]],
      option("blockSize"),
      "blockSize ",
    ),
    ...rows(
      [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], ["2**26+1", 2 ** 26 + 1]],
      option("capacity"),
      "capacity ",
    ),
    ...rows([...NOT_INTEGERS, ["0", 0], ["-0", -0], ["3", 3], ["-8", -8], ["8192", 8192]], option("align"), "align "),
    ...rows(
      [...NOT_INTEGERS, ["0", 0], ["1", 1], ["-2", -2], ["4097", 4097], ["2**32", 2 ** 32]],
      option("cache"),
      "cache ",
    ),
    ...rows(
      [...NOT_INTEGERS, ["0", 0], ["-1", -1], ["255", 255], ["2**31", 2 ** 31]],
      option("maxWorkers"),
      "maxWorkers ",
    ),
    ...rows(BAD_NAMES, option("name"), "name "),
    ...rows(BAD_PATHS, option("path"), "path "),
    ...rows([["null", null], ["5", 5], ['"yes"', "yes"], ["1n", 1n]], option("debug"), "debug "),
    ...rows(
      [
        ["null", null],
        ["5", 5],
        ["{}", {}],
        ...NOT_INTEGERS.map(([label, value]) => [`chunk ${label}`, { chunk: value, maxCapacity: 64 }] as const),
        ...NOT_INTEGERS.map(([label, value]) => [`maxCapacity ${label}`, { chunk: 8, maxCapacity: value }] as const),
        ["chunk 0", { chunk: 0, maxCapacity: 64 }],
        ["chunk -0", { chunk: -0, maxCapacity: 64 }],
        ["chunk above maxCapacity", { chunk: 65, maxCapacity: 64 }],
        ["maxCapacity below capacity", { chunk: 1, maxCapacity: 2 }],
        ["maxCapacity 2**26+1", { chunk: 1, maxCapacity: 2 ** 26 + 1 }],
      ],
      grow,
      "grow ",
    ),
    ["name and path together", () => new SharedPool({ ...base, name: uniqueName("both"), path: "/dev/shm/x" })],
    [
      "2**26 blocks of 1 MiB (past the 4 GiB region limit)",
      () => new SharedPool({ blockSize: 2 ** 20, capacity: 1, grow: { chunk: 1, maxCapacity: 2 ** 26 } }),
    ],
    [
      "4096 blocks of 1 MiB (exactly 4 GiB of blocks, plus metadata)",
      () => new SharedPool({ blockSize: 2 ** 20, capacity: 1, grow: { chunk: 1, maxCapacity: 4096 } }),
    ],
  ], "INVALID_ARGUMENT");
});

adversarial("new SharedPool refuses paths the file system cannot take, and leaves what exists alone", () => {
  const missingDirectory = `/nonexistent-hotpath-${process.pid}/pool`;
  const table: Row[] = [
    ["a directory that does not exist", () => new SharedPool({ blockSize: 8, capacity: 4, path: missingDirectory })],
    [
      '"/dev/shm/" (a directory, trailing slash)',
      () => new SharedPool({ blockSize: 8, capacity: 4, path: "/dev/shm/" }),
    ],
  ];
  expectAll(table, "INVALID_ARGUMENT");
  withPaths(1, (existing) => {
    writeFileSync(existing, "a file of another program", { mode: 0o600 });
    expectAll([
      ['"/dev/shm" (a directory)', () => new SharedPool({ blockSize: 8, capacity: 4, path: "/dev/shm" })],
      ['"/dev/null" (a device)', () => new SharedPool({ blockSize: 8, capacity: 4, path: "/dev/null" })],
      ["an existing file", () => new SharedPool({ blockSize: 8, capacity: 4, path: existing })],
    ], ["ALREADY_EXISTS", "PERMISSION_DENIED"]);
    assert.equal(readFileSync(existing, "utf8"), "a file of another program", "the existing file was changed");
  });
  assert.ok(!existsSync(missingDirectory));
});

adversarial("new SharedPool accepts the boundary values and nothing past them", () => {
  withPaths(2, (longPath, multibytePath) => {
    // 255 bytes is the longest path the library takes (shared_path_bytes_max - 1).
    const padded = longPath + "x".repeat(255 - longPath.length);
    const multibyte = multibytePath + "\u00e9".repeat((255 - multibytePath.length) >> 1);
    for (const path of [padded, multibyte]) {
      assert.equal(new TextEncoder().encode(path).length <= 255, true);
      const pool = new SharedPool({ blockSize: 8, capacity: 4, path });
      try {
        assert.equal(pool.name, path);
        assert.ok(existsSync(path), `${show(path)} was not created`);
        assert.equal(pool.alloc() >= 0, true);
      } finally {
        pool.close();
        rmSync(path, { force: true });
      }
    }
  });
  const name = uniqueName("n").padEnd(200, "n");
  try {
    using pool = new SharedPool({ blockSize: 1, capacity: 1, name, cache: 2, maxWorkers: 1, align: 1 });
    assert.equal(pool.name, `/dev/shm/${name}`);
    assert.equal(pool.align, 4, "align 1 is raised to the library's minimum of 4");
    assert.equal(pool.blockSize, 1);
  } finally {
    unlinkQuietly(name);
  }
  using wide = new SharedPool({ blockSize: 2 ** 20, capacity: 1, cache: 4096, maxWorkers: 254, align: 4096 });
  assert.equal(wide.stride, 2 ** 20);
  assert.equal(wide.alloc(), 0);
});

adversarial("new SharedPool uses the first read of an option whose getter changes", () => {
  const cases: [string, Record<string, unknown>, (pool: SharedPool) => boolean][] = [
    ["capacity 16 then 1e9", withShifting({ blockSize: 8 }, "capacity", [16, 1e9]), (p) => p.maxCapacity === 16],
    ["blockSize 16 then 2**21", withShifting({ capacity: 4 }, "blockSize", [16, 2 ** 21]), (p) => p.blockSize === 16],
    ["align 64 then 3", withShifting({ blockSize: 8, capacity: 4 }, "align", [64, 3]), (p) => p.align === 64],
    ["maxWorkers 2 then 0", withShifting({ blockSize: 8, capacity: 4 }, "maxWorkers", [2, 0]), (p) => p.check() === 0],
    ["debug true then 5", withShifting({ blockSize: 8, capacity: 4 }, "debug", [true, 5]), (p) => p.debug === true],
    [
      "grow.maxCapacity 64 then 2**27",
      { blockSize: 8, capacity: 4, grow: withShifting({ chunk: 4 }, "maxCapacity", [64, 2 ** 27]) },
      (p) => p.maxCapacity === 64,
    ],
  ];
  const misses: string[] = [];
  for (const [label, options, sane] of cases) {
    try {
      using pool = new SharedPool(options as never);
      if (!sane(pool)) misses.push(`${label}: the pool does not have the first value`);
    } catch (error) {
      misses.push(`${label}: ${error instanceof HotpathError ? error.code : foreign(error)}`);
    }
  }
  withPaths(1, (path) => {
    const options = withShifting({ blockSize: 8, capacity: 4 }, "path", [path, "/dev/shm/../../tmp/escape"]);
    try {
      using pool = new SharedPool(options as never);
      if (pool.name !== path || !existsSync(path)) misses.push(`path: the pool is at ${show(pool.name)}`);
    } catch (error) {
      misses.push(`path: ${error instanceof HotpathError ? error.code : foreign(error)}`);
    }
  });
  assert.deepEqual(misses, []);
});

adversarial("new SharedPool, SharedPool.of, attach, open and unlink read each option at most once", () => {
  const misses: string[] = [];
  const check = (label: string, reads: Map<PropertyKey, number>) => {
    for (const [key, count] of reads) if (count > 1) misses.push(`${label}: ${String(key)} read ${count} times`);
  };
  const created = counting({ blockSize: 8, capacity: 4, cache: 4, maxWorkers: 2, align: 8, debug: false });
  const grow = counting({ chunk: 4, maxCapacity: 16 });
  using pool = new SharedPool({ ...created.proxy, grow: grow.proxy });
  check("new SharedPool", created.reads);
  check("new SharedPool grow", grow.reads);
  const structOptions = counting({ capacity: 4, cache: 4 });
  SharedPool.of(Quote, structOptions.proxy).close();
  check("SharedPool.of", structOptions.reads);
  const descriptor = counting({ ...pool.share() });
  const attachOptions = counting({ debug: false });
  SharedPool.attach(descriptor.proxy, attachOptions.proxy).close();
  check("SharedPool.attach descriptor", descriptor.reads);
  check("SharedPool.attach options", attachOptions.reads);
  const missing = counting({ name: uniqueName("absent"), debug: false });
  expectCode(() => SharedPool.open(missing.proxy), "NOT_FOUND", "open of an absent name");
  check("SharedPool.open", missing.reads);
  const unlinkOptions = counting({ name: uniqueName("absent") });
  expectCode(() => SharedPool.unlink(unlinkOptions.proxy), "NOT_FOUND", "unlink of an absent name");
  check("SharedPool.unlink", unlinkOptions.reads);
  assert.deepEqual(misses, []);
});

adversarial("SharedPool entry points let a throwing getter propagate without a crash or a leak", () => {
  const boom = new Error("getter boom");
  const throwing = new Proxy({}, {
    get() {
      throw boom;
    },
  });
  using pool = new SharedPool({ blockSize: 8, capacity: 4 });
  const cases: Row[] = [
    ["new SharedPool", () => new SharedPool(throwing as never)],
    ["new SharedPool grow", () => new SharedPool({ blockSize: 8, capacity: 4, grow: throwing } as never)],
    ["SharedPool.of options", () => SharedPool.of(Quote, throwing as never)],
    ["SharedPool.attach descriptor", () => SharedPool.attach(throwing as never)],
    ["SharedPool.attach options", () => SharedPool.attach(pool.share(), throwing as never)],
    ["SharedPool.open", () => SharedPool.open(throwing as never)],
    ["SharedPool.unlink", () => SharedPool.unlink(throwing as never)],
  ];
  const misses: string[] = [];
  for (const [label, action] of cases) {
    try {
      dispose(action());
      misses.push(`${label}: returned without reading its options`);
    } catch (error) {
      if (error !== boom && !(error instanceof HotpathError)) misses.push(`${label}: ${foreign(error)}`);
    }
  }
  assert.deepEqual(misses, []);
  assert.equal(pool.stats().caches.length, 1, "a failed attach left a cache claimed");
});

// ---------------------------------------------------------------------------------------------
// Layouts

/** A StructLayout subclass whose `size` reads `first` once, then the real size. */
class ShrinkingLayout extends StructLayout<{ a: "f64"; b: "f64"; c: "u32" }> {
  constructor(first: number) {
    super({ a: "f64", b: "f64", c: "u32" });
    const real = this.size;
    let reads = 0;
    Object.defineProperty(this, "size", { get: () => reads++ === 0 ? first : real });
  }
}

/** A StructLayout subclass that says it is 8 bytes (its fields take 24). */
class SmallLayout extends StructLayout<{ a: "f64"; b: "f64"; c: "u32" }> {
  constructor() {
    super({ a: "f64", b: "f64", c: "u32" });
    Object.defineProperty(this, "size", { value: 8 });
  }
}

adversarial("SharedPool.of rejects anything but a StructLayout with INVALID_ARGUMENT", () => {
  const layout = (value: unknown) => SharedPool.of(value as never, { capacity: 4 });
  expectAll(
    rows(
      [
        ["null", null],
        ["undefined", undefined],
        ["{}", {}],
        ["{ size: 8, align: 8 }", { size: 8, align: 8 }],
        ["{ size: 8, align: 8, cursor }", { size: 8, align: 8, cursor: () => ({}) }],
        ["Object.create(StructLayout.prototype)", Object.create(StructLayout.prototype)],
        ['"Quote"', "Quote"],
        ["the StructLayout class itself", StructLayout],
      ],
      layout,
      "layout ",
    ),
    "INVALID_ARGUMENT",
  );
  const options = (value: unknown) => SharedPool.of(Quote, value as never);
  expectAll(
    rows(
      [
        ["null", null],
        ["5", 5],
        ["undefined", undefined],
        ...NOT_INTEGERS.map(([label, value]) => [`capacity ${label}`, { capacity: value }] as const),
        ...BAD_NAMES.map(([label, value]) => [`name ${label}`, { capacity: 4, name: value }] as const),
        ...NOT_INTEGERS.map(([label, value]) => [`cache ${label}`, { capacity: 4, cache: value }] as const),
      ],
      options,
      "options ",
    ),
    "INVALID_ARGUMENT",
  );
});

adversarial("SharedPool.of over a Proxy of a StructLayout gives a HotpathError and leaks no cache", () => {
  using keeper = SharedPool.of(Quote, { capacity: 4, maxWorkers: 2 });
  const proxied = new Proxy(Quote, {});
  expectAll([
    ["SharedPool.of(Proxy)", () => SharedPool.of(proxied, { capacity: 4 })],
    ["SharedPool.attach with a Proxy layout", () => SharedPool.attach(keeper.share(), { layout: proxied })],
  ], ["INVALID_ARGUMENT", "returned a SharedPool"]);
  assert.equal(keeper.stats().caches.length, 1, "a failed attach kept a cache (maxWorkers 2 would be used up)");
});

adversarial("SharedPool.of with a StructLayout subclass that lies about its size never overlaps records", () => {
  const misses: string[] = [];
  for (
    const [label, make] of [["size 8 then 24", () => new ShrinkingLayout(8)], [
      "size 8",
      () => new SmallLayout(),
    ]] as const
  ) {
    let layout: StructLayout<never>;
    try {
      layout = make() as unknown as StructLayout<never>;
    } catch (error) {
      // StructLayout fixes size and align as non-writable, non-configurable own properties:
      // the lying subclass fails in its own constructor, before hotpath sees it.
      if (!(error instanceof TypeError)) misses.push(`${label}: the subclass failed with ${foreign(error)}`);
      continue;
    }
    let pool: SharedPool | undefined;
    try {
      pool = SharedPool.of(layout, { capacity: 4 });
    } catch (error) {
      if (!(error instanceof HotpathError)) misses.push(`${label}: ${foreign(error)}`);
      continue;
    }
    try {
      const records = pool as unknown as { at(handle: number): { a: number; b: number; c: number } };
      // Highest first: a lower record written later lands on the higher one if they overlap.
      const handles = [pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()].sort((x, y) => y - x);
      for (const handle of handles) {
        try {
          const record = records.at(handle);
          record.a = handle + 0.5;
          record.b = -1;
          record.c = 0xdead;
        } catch (error) {
          if (!(error instanceof HotpathError)) misses.push(`${label}: write ${handle}: ${foreign(error)}`);
        }
      }
      for (const handle of handles) {
        const value = outcome(() => records.at(handle).a);
        if (value !== `returned ${handle + 0.5}` && !/^[A-Z_]+$/.test(value)) {
          misses.push(`${label}: record ${handle}.a reads ${value}: another record's write landed in it`);
        }
      }
    } finally {
      pool.close();
    }
  }
  assert.deepEqual(misses, []);
});

adversarial("SharedPool.of honours or refuses the align option its type accepts", () => {
  const options = { capacity: 4, align: 64 } as const;
  const got = outcome(() => {
    using pool = SharedPool.of(Quote, options);
    return pool.align;
  });
  assert.ok(got === "returned 64" || got === "INVALID_ARGUMENT", `SharedPool.of(Quote, { align: 64 }): ${got}`);
  const below = outcome(() => {
    using pool = SharedPool.of(struct({ x: "f64" }), { capacity: 4, align: 4 });
    return pool.align;
  });
  assert.ok(below === "returned 8" || below === "INVALID_ARGUMENT", `align 4 below the layout's 8: ${below}`);
});

// ---------------------------------------------------------------------------------------------
// Descriptors

/** Descriptor fields that checkDescriptor must refuse with INVALID_ARGUMENT. */
function badDescriptors(good: SharedPoolDescriptor): (readonly [string, unknown])[] {
  const field = (key: string, values: readonly (readonly [string, unknown])[]) =>
    values.map(([label, value]) => [`${key} ${label}`, { ...good, [key]: value }] as const);
  return [
    ["null", null],
    ["5", 5],
    ['"descriptor"', "descriptor"],
    ["{}", {}],
    ["a Pool's descriptor shape", { kind: "hotpath.Pool", version: 1, id: good.id }],
    ...field("kind", [["undefined", undefined], ['"hotpath.Pool"', "hotpath.Pool"], [
      '"HOTPATH.SHAREDPOOL"',
      "HOTPATH.SHAREDPOOL",
    ]]),
    ...field("version", [["2", 2], ["0", 0], ['"1"', "1"], ["1n", 1n], ["1.5", 1.5], ["undefined", undefined]]),
    ...field("pid", [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-1", -1], ["2**31", 2 ** 31]]),
    ...field("id", [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], ["2**31", 2 ** 31], [
      "2**32",
      2 ** 32,
    ]]),
    ...field("path", BAD_PATHS.filter(([, value]) => value !== null)),
    ...field("blockSize", [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["2**20+1", 2 ** 20 + 1]]),
    ...field("align", [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["3", 3], ["8192", 8192]]),
  ];
}

adversarial("SharedPool.attach rejects every malformed descriptor and option with INVALID_ARGUMENT", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 4, maxWorkers: 2 });
  const good = pool.share();
  expectAll([
    ...rows(badDescriptors(good), (descriptor) => SharedPool.attach(descriptor), "descriptor "),
    ...rows(
      [["null", null], ["5", 5], ['"options"', "options"], ["{ debug: 1 }", { debug: 1 }], ["{ layout: {} }", {
        layout: {},
      }]],
      (options) => SharedPool.attach(good, options),
      "options ",
    ),
  ], "INVALID_ARGUMENT");
  assert.equal(pool.stats().caches.length, 1, "a refused attach claimed a cache");
});

adversarial("SharedPool.attach of ids that name no SharedPool of this process gives CLOSED", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 4 });
  const good = pool.share();
  const closed = new SharedPool({ blockSize: 16, capacity: 4 });
  const closedDescriptor = closed.share();
  closed.close();
  // Ids are generation << 14 | slot: the same slot under other generations never names a live pool.
  const stale = [good.id + (1 << 14), good.id - (1 << 14), good.id + (1 << 29), good.id & ((1 << 14) - 1), 2 ** 31 - 1];
  expectAll([
    ["a closed pool's descriptor", () => SharedPool.attach(closedDescriptor)],
    ...stale.filter((id) => id > 0).map((id) => [`stale id ${id}`, () => SharedPool.attach({ ...good, id })] as const),
    ["the pid of another process (anonymous memory)", () => SharedPool.attach({ ...good, pid: process.pid + 1 })],
  ], ["CLOSED", "INVALID_ARGUMENT"]);
  assert.equal(pool.check(), 0);
});

/** The id of the live region that holds native `address` (found through the library's own lookups). */
function regionIdOf(address: number): number | undefined {
  const symbols = openNative().symbols;
  for (let generation = 1; generation <= 1024; generation++) {
    for (let slot = 0; slot < 1 << 14; slot++) {
      const id = generation * (1 << 14) + slot;
      const start = symbols.hp_region_address(id);
      if (start > 0 && address >= start && address < start + symbols.hp_region_bytes(id)) return id;
    }
  }
  return undefined;
}

adversarial("SharedPool.attach of a Pool's or an Arena's id never attaches to it", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 4 });
  using plain = new Pool({ blockSize: 16, capacity: 4 });
  using arena = new Arena({ capacity: 4096 });
  const plainId = regionIdOf(plain.ptr(plain.alloc()));
  const arenaId = regionIdOf(arena.ptr(arena.alloc(8)));
  assert.ok(plainId !== undefined && arenaId !== undefined, "the Pool's and the Arena's ids were not found");
  expectAll([
    [`a Pool's id (${plainId})`, () => SharedPool.attach({ ...pool.share(), id: plainId })],
    [`an Arena's id (${arenaId})`, () => SharedPool.attach({ ...pool.share(), id: arenaId })],
  ], ["CLOSED", "INVALID_ARGUMENT"]);
  assert.equal(plain.alloc() >= 0 && arena.alloc(8) >= 0, true, "the Pool and the Arena still work");
  assert.equal(plain.stats().inUse, 2);
});

adversarial("SharedPool.attach with a forged path adopts the library's path, never the descriptor's", () => {
  withPaths(1, (canary) => {
    writeFileSync(canary, "not a pool", { mode: 0o600 });
    using pool = new SharedPool({ blockSize: 16, capacity: 4 });
    const forged = { ...pool.share(), path: canary };
    let attached: SharedPool | undefined;
    try {
      attached = SharedPool.attach(forged);
    } catch (error) {
      assert.ok(error instanceof HotpathError, foreign(error));
      return;
    }
    const misses: string[] = [];
    try {
      if (attached.name !== "") misses.push(`name() is the forged ${show(attached.name)}`);
      if (attached.share().path !== null) {
        misses.push(`share() passes the forged path ${show(attached.share().path)} on`);
      }
      const unlinked = outcome(() => attached.unlink());
      if (unlinked !== "INVALID_ARGUMENT") misses.push(`unlink() of an anonymous pool: ${unlinked}`);
      if (!existsSync(canary)) misses.push("unlink() removed the file at the forged path, which is not the pool's");
    } finally {
      attached.close();
    }
    assert.deepEqual(misses, []);
  });
});

adversarial("SharedPool.attach with forged sizes keeps the pool's real geometry", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 4, align: 16 });
  using attached = SharedPool.attach({ ...pool.share(), blockSize: 2 ** 20, align: 4096 });
  assert.equal(attached.blockSize, 16);
  assert.equal(attached.align, 16);
  assert.equal(attached.stride, pool.stride);
  expectCode(
    () => SharedPool.attach({ ...pool.share(), blockSize: 2 ** 20 }, { layout: struct({ x: ["u8", 64] }) }),
    "INCOMPATIBLE",
    "a layout larger than the real blocks, with a descriptor that claims they are large",
  );
});

adversarial("SharedPool.attach of another process's descriptor with a traversing path touches nothing", () => {
  withPaths(2, (target, poolPath) => {
    const garbage = new Uint8Array(8192).fill(0x5a);
    writeFileSync(target, garbage, { mode: 0o600 });
    const pool = new SharedPool({ blockSize: 16, capacity: 4, path: poolPath });
    const descriptor = { ...pool.share(), pid: 1 };
    pool.close();
    const passwd = readFileSync("/etc/passwd");
    const traversal = (file: string) => `/dev/shm/../../${file.replace(/^\//, "")}`;
    expectAll([
      [
        "/etc/passwd through /dev/shm/../..",
        () => SharedPool.attach({ ...descriptor, path: traversal("/etc/passwd") }),
      ],
      ["/etc through /dev/shm/../..", () => SharedPool.attach({ ...descriptor, path: traversal("/etc") })],
      ["/dev/null through /dev/shm/../..", () => SharedPool.attach({ ...descriptor, path: traversal("/dev/null") })],
      ["a 0600 file of garbage through ..", () => SharedPool.attach({ ...descriptor, path: traversal(target) })],
      ["an absent file", () => SharedPool.attach({ ...descriptor, path: `${target}-absent` })],
    ], ["PERMISSION_DENIED", "INCOMPATIBLE", "CORRUPTED", "INVALID_ARGUMENT", "NOT_FOUND"]);
    assert.deepEqual(readFileSync("/etc/passwd"), passwd);
    assert.deepEqual(new Uint8Array(readFileSync(target)), garbage, "the garbage file was written to");
    using reopened = SharedPool.attach({ ...descriptor, path: traversal(poolPath) });
    assert.equal(reopened.alloc() >= 0, true, "a traversing path to a real pool opens it, as a path option would");
  });
});

// ---------------------------------------------------------------------------------------------
// open and unlink

adversarial("SharedPool.open and SharedPool.unlink reject bad names and paths with INVALID_ARGUMENT", () => {
  const open = (options: unknown) => SharedPool.open(options as never);
  const unlink = (options: unknown) => SharedPool.unlink(options as never);
  const both = { name: uniqueName("both"), path: "/dev/shm/x" };
  expectAll([
    ...rows([["null", null], ["5", 5], ['"name"', "name"], ["{}", {}], ["undefined", undefined]], open, "open "),
    ...rows([["null", null], ["5", 5], ['"name"', "name"], ["{}", {}], ["undefined", undefined]], unlink, "unlink "),
    ...rows(BAD_NAMES.map(([label, name]) => [label, { name }] as const), open, "open name "),
    ...rows(BAD_NAMES.map(([label, name]) => [label, { name }] as const), unlink, "unlink name "),
    ...rows(BAD_PATHS.map(([label, path]) => [label, { path }] as const), open, "open path "),
    ...rows(BAD_PATHS.map(([label, path]) => [label, { path }] as const), unlink, "unlink path "),
    ["open name and path", () => open(both)],
    ["unlink name and path", () => unlink(both)],
    ["open debug 1", () => open({ name: uniqueName("absent"), debug: 1 })],
  ], "INVALID_ARGUMENT");
  expectAll([
    ["open an absent name", () => open({ name: uniqueName("absent") })],
    ["open an absent path", () => open({ path: `/dev/shm/${uniqueName("absent")}` })],
    ["open in an absent directory", () => open({ path: `/nonexistent-hotpath-${process.pid}/x` })],
    ["unlink an absent name", () => unlink({ name: uniqueName("absent") })],
  ], "NOT_FOUND");
});

adversarial(
  "SharedPool.open refusing a layout gives INVALID_ARGUMENT each time: the refused open frees its cache",
  () => {
    withPaths(1, (path) => {
      using pool = new SharedPool({ blockSize: 16, capacity: 4, path, maxWorkers: 2 });
      expectAll([
        ["layout {}", () => SharedPool.open({ path, layout: {} as never })],
        [
          "layout Object.create(StructLayout.prototype)",
          () => SharedPool.open({ path, layout: Object.create(StructLayout.prototype) }),
        ],
        ["layout 5", () => SharedPool.open({ path, layout: 5 as never })],
      ], "INVALID_ARGUMENT");
      expectCode(
        () => SharedPool.open({ path, layout: struct({ x: ["f64", 3] }) }),
        "INCOMPATIBLE",
        "layout too large",
      );
      expectCode(() => SharedPool.open({ path, layout: new Proxy(Quote, {}) }), "INVALID_ARGUMENT", "a Proxy layout");
      assert.equal(pool.stats().caches.length, 1, "a refused open kept a cache");
      using second = SharedPool.open({ path });
      assert.equal(second.alloc() >= 0, true, "the second cache slot is still free");
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Handles

adversarial("SharedPool.free, offset, ptr and view reject every non-handle with INVALID_HANDLE", () => {
  for (const debug of [false, true]) {
    using pool = new SharedPool({ blockSize: 8, capacity: 4, debug });
    const held = [pool.alloc(), pool.alloc()];
    const bad = badHandles(4);
    expectAll([
      ...rows(bad, (handle) => pool.free(handle), `debug ${debug} free `),
      ...rows(bad, (handle) => pool.offset(handle), `debug ${debug} offset `),
      ...rows(bad, (handle) => pool.ptr(handle), `debug ${debug} ptr `),
      ...rows(bad, (handle) => pool.view(handle), `debug ${debug} view `),
    ], "INVALID_HANDLE");
    assert.equal(pool.check(), 2, "a refused free changed the pool");
    for (const handle of held) assert.equal(pool.isAllocated(handle), true);
  }
});

adversarial("SharedPool.isAllocated returns false for every non-handle", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 4 });
  pool.alloc();
  pool.alloc();
  expectAll(rows(badHandles(4), (handle) => pool.isAllocated(handle)), "returned false");
});

adversarial("SharedPool.at rejects every non-handle with INVALID_HANDLE, and a pool without layout refuses it", () => {
  using pool = SharedPool.of(Quote, { capacity: 4 });
  pool.alloc();
  expectAll(rows(badHandles(4), (handle) => pool.at(handle)), "INVALID_HANDLE");
  using plain = new SharedPool({ blockSize: 8, capacity: 4 });
  const handle = plain.alloc();
  expectAll([
    ...rows(badHandles(4), (value) => (plain as unknown as { at(h: unknown): unknown }).at(value)),
    ["allocated handle", () => (plain as unknown as { at(h: number): unknown }).at(handle)],
  ], ["INVALID_ARGUMENT", "INVALID_HANDLE"]);
});

adversarial("SharedPool handles that are not allocated are refused: DOUBLE_FREE and INVALID_HANDLE", () => {
  using pool = SharedPool.of(Quote, { capacity: 8, cache: 4, grow: { chunk: 8, maxCapacity: 32 } });
  const handle = pool.alloc();
  const cached = pool.alloc();
  pool.free(cached); // free, and sitting in this realm's cache
  expectAll([
    ["free of a never-allocated handle", () => pool.free(7)],
    ["free of a cached (free) handle", () => pool.free(cached)],
    ["free of a handle beyond the committed capacity", () => pool.free(31)],
  ], ["DOUBLE_FREE", "INVALID_HANDLE"]);
  expectAll([
    ["offset of a free handle", () => pool.offset(cached)],
    ["view of a free handle", () => pool.view(7)],
    ["ptr of a free handle", () => pool.ptr(31)],
    ["at of a free handle", () => pool.at(cached)],
  ], "INVALID_HANDLE");
  assert.equal(pool.isAllocated(cached), false);
  assert.equal(pool.isAllocated(31), false);
  pool.free(handle);
  expectCode(() => pool.free(handle), "DOUBLE_FREE", "second free");
  assert.equal(pool.check(), 0);
  const stats = pool.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(
    stats.freeListed + stats.cached + stats.homed,
    stats.capacity,
    "a refused free lost or duplicated a block",
  );
});

adversarial("SharedPool handle -0 is handle 0", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 4, cache: 2 });
  let zero = pool.alloc();
  const others: number[] = [];
  while (zero !== 0) {
    others.push(zero);
    zero = pool.alloc();
  }
  assert.equal(pool.isAllocated(-0), true);
  assert.ok(pool.offset(-0) === 0);
  assert.equal(pool.ptr(-0), pool.ptr(0));
  assert.equal(pool.view(-0).byteOffset, pool.view(0).byteOffset);
  pool.free(-0);
  assert.equal(pool.isAllocated(0), false);
  expectCode(() => pool.free(0), "DOUBLE_FREE", "free(0) after free(-0)");
  for (const handle of others) pool.free(handle);
  assert.equal(pool.check(), 0);
});

// ---------------------------------------------------------------------------------------------
// Attachments

adversarial("SharedPool frees across attachments are legal; a double free is caught whichever frees second", () => {
  for (const debug of [false, true]) {
    using first = new SharedPool({ blockSize: 16, capacity: 32, cache: 4, debug });
    using second = SharedPool.attach(first.share());
    const a = first.alloc();
    const b = second.alloc();
    second.free(a); // legal: allocated by `first`
    first.free(b);
    assert.equal(first.isAllocated(a) || second.isAllocated(b), false, `debug ${debug}`);
    expectAll([
      ["first frees what second freed", () => first.free(a)],
      ["second frees it again", () => second.free(a)],
      ["second frees what first freed", () => second.free(b)],
      ["first frees it again", () => first.free(b)],
    ], "DOUBLE_FREE");
    assert.equal(first.check(), 0, `debug ${debug}`);
    const stats = second.stats();
    assert.equal(
      stats.freeListed + stats.cached + stats.homed,
      stats.capacity,
      `debug ${debug}: a block was lost or duplicated`,
    );
  }
});

adversarial("SharedPool.open of the same file twice gives two attachments of one pool", () => {
  withPaths(1, (path) => {
    using created = new SharedPool({ blockSize: 16, capacity: 16, path, cache: 4 });
    using first = SharedPool.open({ path });
    using second = SharedPool.open({ path });
    const handle = first.alloc();
    assert.equal(second.isAllocated(handle), true);
    created.free(handle);
    expectCode(() => second.free(handle), "DOUBLE_FREE", "a double free through a second mapping");
    assert.equal(second.check(), 0);
  });
});

adversarial("SharedPool maxWorkers bounds attachments with LIMIT_REACHED; the others keep working", () => {
  using pool = new SharedPool({ blockSize: 16, capacity: 8, maxWorkers: 2, cache: 2 });
  using other = SharedPool.attach(pool.share());
  expectCode(() => SharedPool.attach(pool.share()), "LIMIT_REACHED", "a third attachment of maxWorkers 2");
  expectCode(() => SharedPool.attach(pool.share()), "LIMIT_REACHED", "and again");
  const handle = other.alloc();
  pool.free(handle);
  assert.equal(pool.check(), 0);
});

adversarial("SharedPool.grow and alloc report POOL_EXHAUSTED at the maximum and -1 from tryAlloc", () => {
  using fixed = new SharedPool({ blockSize: 8, capacity: 2, cache: 2 });
  expectCode(() => fixed.grow(), "POOL_EXHAUSTED", "grow of a fixed pool");
  fixed.alloc();
  fixed.alloc();
  expectCode(() => fixed.alloc(), "POOL_EXHAUSTED", "alloc of an exhausted pool");
  assert.equal(fixed.tryAlloc(), -1);
  using growing = new SharedPool({ blockSize: 8, capacity: 2, grow: { chunk: 3, maxCapacity: 7 } });
  assert.equal(growing.grow(), 5);
  assert.equal(growing.grow(), 7);
  expectCode(() => growing.grow(), "POOL_EXHAUSTED", "grow at the maximum");
  assert.equal(growing.check(), 0);
});

// ---------------------------------------------------------------------------------------------
// Epochs: enter, exit, retire, tryRetire, collect

adversarial("SharedPool.retire and tryRetire reject non-handles and blocks that are not allocated", () => {
  for (const debug of [false, true]) {
    using pool = new SharedPool({ blockSize: 8, capacity: 8, cache: 2, debug });
    using other = SharedPool.attach(pool.share());
    const held = pool.alloc();
    const retired = pool.alloc();
    const foreignBlock = other.alloc();
    expectAll([
      ...rows(badHandles(8), (handle) => pool.retire(handle), `debug ${debug} retire `),
      ...rows(badHandles(8), (handle) => pool.tryRetire(handle), `debug ${debug} tryRetire `),
    ], "INVALID_HANDLE");
    pool.retire(retired);
    pool.retire(foreignBlock); // legal: allocated by another attachment
    expectAll([
      ["retire of a never-allocated block", () => pool.retire(7)],
      ["tryRetire of a never-allocated block", () => pool.tryRetire(7)],
      ["retire of a retired block", () => pool.retire(retired)],
      ["other retires it again", () => other.retire(retired)],
      ["free of a retired block", () => pool.free(retired)],
      ["other frees a retired block", () => other.free(foreignBlock)],
    ], "DOUBLE_FREE");
    assert.equal(pool.isAllocated(retired), false, `debug ${debug}: a retired block reads allocated`);
    assert.equal(pool.isAllocated(held), true);
    pool.free(held);
    let remaining = pool.collect();
    for (let round = 0; round < 4 && remaining > 0; round++) remaining = pool.collect();
    assert.equal(remaining, 0, `debug ${debug}: nobody is inside an epoch, yet retired blocks stay`);
    assert.equal(pool.check(), 0, `debug ${debug}`);
  }
});

adversarial("SharedPool.exit without enter is INVALID_ARGUMENT and leaves the epoch state alone", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 8 });
  expectCode(() => pool.exit(), "INVALID_ARGUMENT", "exit without enter");
  const outer = pool.enter();
  const inner = pool.enter();
  assert.equal(outer, inner, "enter returns one guard");
  pool.exit();
  pool.exit();
  expectCode(() => pool.exit(), "INVALID_ARGUMENT", "one exit too many");
  assert.equal(pool.stats().stuckReaders, 0);
});

adversarial("SharedPool.retire gives LIMIT_REACHED and tryRetire false while a reader holds the epoch", () => {
  using reader = new SharedPool({ blockSize: 8, capacity: 64, retire: 4, cache: 4 });
  using writer = SharedPool.attach(reader.share());
  const handles = Array.from({ length: 12 }, () => writer.alloc());
  reader.enter();
  let refused: number | undefined;
  try {
    for (const handle of handles) {
      const got = outcome(() => writer.retire(handle));
      if (got === "LIMIT_REACHED") {
        refused = handle;
        break;
      }
      assert.equal(got, "returned undefined", `retire(${handle})`);
    }
    assert.ok(refused !== undefined, "the ring of 4 never filled while a reader stayed inside");
    assert.equal(writer.isAllocated(refused), true, "a refused retire changed the block");
    assert.equal(writer.tryRetire(refused), false);
    assert.equal(writer.isAllocated(refused), true, "a refused tryRetire changed the block");
  } finally {
    reader.exit();
  }
  writer.retire(refused);
  let remaining = writer.collect();
  for (let round = 0; round < 4 && remaining > 0; round++) remaining = writer.collect();
  assert.equal(remaining, 0, "the reader left, yet retired blocks stay");
});

adversarial("SharedPool after close: exit and an enter() guard do not throw INVALID_ARGUMENT", () => {
  const pool = new SharedPool({ blockSize: 8, capacity: 8 });
  const got = outcome(() => {
    using _guard = pool.enter();
    pool.close();
  });
  assert.ok(got === "returned undefined" || got === "CLOSED", `a guard disposed after close: ${got}`);
  const exited = outcome(() => pool.exit());
  assert.ok(exited === "returned undefined" || exited === "CLOSED", `exit after close: ${exited}`);
});

adversarial("SharedPool.retire after close neither succeeds nor leaves the block retired for others", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 8, cache: 2 });
  const closing = SharedPool.attach(pool.share());
  const handle = closing.alloc();
  closing.close();
  expectAll([
    ["retire", () => closing.retire(handle)],
    ["tryRetire", () => closing.tryRetire(handle)],
  ], "CLOSED");
  assert.equal(pool.isAllocated(handle), true, "a closed attachment's retire took the block from its owner");
  pool.free(handle);
  assert.equal(pool.stats().retired, 0);
  assert.equal(pool.check(), 0, "a block was lost");
});

adversarial("SharedPool.recover is BUSY while another attachment lives, and loses or duplicates nothing", () => {
  using pool = new SharedPool({ blockSize: 8, capacity: 16, cache: 4 });
  const held = [pool.alloc(), pool.alloc()];
  const other = SharedPool.attach(pool.share());
  held.push(other.alloc()); // stays allocated when `other` closes
  expectCode(() => pool.recover(), "BUSY", "recover with a live second attachment");
  other.close();
  const strays = outcome(() => pool.recover());
  assert.equal(strays, "returned 0", "recover found strays although no batch was ever interrupted");
  assert.equal(pool.check(), 3, "recover changed what is allocated");
  for (const handle of held) pool.free(handle);
  assert.equal(pool.check(), 0);
});

// ---------------------------------------------------------------------------------------------
// After close

adversarial("SharedPool throws CLOSED from every method after close; close is idempotent", () => {
  withPaths(1, (path) => {
    const pools = [
      ["anonymous", new SharedPool({ blockSize: 8, capacity: 4 })],
      ["debug", new SharedPool({ blockSize: 8, capacity: 4, debug: true })],
      ["growing", new SharedPool({ blockSize: 8, capacity: 4, grow: { chunk: 4, maxCapacity: 16 } })],
      ["named", new SharedPool({ blockSize: 8, capacity: 4, path })],
      ["struct", SharedPool.of(Quote, { capacity: 4 })],
    ] as const;
    const keeper = SharedPool.attach(pools[0][1].share()); // keeps one region live behind a closed attachment
    const table: Row[] = [];
    for (const [label, pool] of pools) {
      const handle = pool.alloc();
      pool.close();
      pool.close();
      pool[Symbol.dispose]();
      assert.equal(pool.closed, true, label);
      table.push(
        [`${label} alloc`, () => pool.alloc()],
        [`${label} tryAlloc`, () => pool.tryAlloc()],
        [`${label} free`, () => pool.free(handle)],
        [`${label} free(-1)`, () => pool.free(-1)],
        [`${label} offset`, () => pool.offset(handle)],
        [`${label} ptr`, () => pool.ptr(handle)],
        [`${label} view`, () => pool.view(handle)],
        [`${label} isAllocated`, () => pool.isAllocated(handle)],
        [`${label} bytes`, () => pool.bytes],
        [`${label} share`, () => pool.share()],
        [`${label} stats`, () => pool.stats()],
        [`${label} reclaimAbandoned`, () => pool.reclaimAbandoned()],
        [`${label} grow`, () => pool.grow()],
        [`${label} check`, () => pool.check()],
        [`${label} unlink`, () => pool.unlink()],
        [`${label} enter`, () => pool.enter()],
        [`${label} retire`, () => pool.retire(handle)],
        [`${label} tryRetire`, () => pool.tryRetire(handle)],
        [`${label} collect`, () => pool.collect()],
        [`${label} recover`, () => pool.recover()],
      );
      if (pool.layout !== undefined) table.push([`${label} at`, () => (pool as unknown as StructAt).at(handle)]);
    }
    try {
      expectAll(table, "CLOSED");
      assert.equal(keeper.alloc() >= 0, true, "another attachment of a closed one keeps working");
      assert.ok(existsSync(path), "closing a named pool removed its file");
    } finally {
      keeper.close();
    }
  });
});

/** A struct pool's `at`, for the CLOSED table. */
type StructAt = { at(handle: number): unknown };

// ---------------------------------------------------------------------------------------------
// Transferred memory

/** Moves `buffer`'s memory to a new ArrayBuffer, or reports that the runtime refused. */
function move(buffer: ArrayBufferLike, how: "transfer" | "structuredClone"): ArrayBuffer | string {
  try {
    return how === "transfer"
      ? (buffer as ArrayBuffer).transfer()
      : structuredClone(buffer as ArrayBuffer, { transfer: [buffer as ArrayBuffer] });
  } catch (error) {
    return `the runtime refused: ${foreign(error)}`;
  }
}

/** What a moved-away pool may throw: it cannot reach its memory, which is neither corruption nor a bad handle. */
const MOVED_CODES = ["DETACHED", "CLOSED"];

for (const how of ["transfer", "structuredClone"] as const) {
  adversarial(`SharedPool after its buffer is moved by ${how} works or throws DETACHED, never fails silently`, () => {
    using pool = new SharedPool({ blockSize: 16, capacity: 8, cache: 4 });
    using witness = SharedPool.attach(pool.share());
    const held = pool.alloc();
    const kept = pool.alloc();
    const moved = move(pool.bytes.buffer, how);
    if (typeof moved === "string") {
      // Bun refuses to transfer an external buffer: then nothing moved, and the pool must be whole.
      assert.match(moved, /DataCloneError|DOMException|TypeError/, moved);
      assert.equal(pool.bytes.length, 8 * pool.stride, "a refused transfer detached the buffer");
      pool.free(held);
      assert.equal(witness.check(), 1);
      return;
    }
    const misses: string[] = [];
    const expectSane = (
      label: string,
      action: () => unknown,
      sane: (value: unknown) => boolean,
      codes = MOVED_CODES,
    ) => {
      try {
        const value = action();
        if (!sane(value)) misses.push(`${label}: returned ${show(value)}`);
      } catch (error) {
        if (!(error instanceof HotpathError)) misses.push(`${label}: ${foreign(error)}`);
        else if (!codes.includes(error.code)) misses.push(`${label}: ${error.code} (${error.message})`);
      }
    };
    expectSane("bytes", () => pool.bytes, (value) => (value as Uint8Array).length === 8 * pool.stride);
    expectSane("isAllocated(kept)", () => pool.isAllocated(kept), (value) => value === true);
    expectSane("view(kept)", () => pool.view(kept), (value) => value instanceof Uint8Array && value.length === 16);
    expectSane("offset(kept)", () => pool.offset(kept), (value) => value === kept * pool.stride);
    expectSane("ptr(kept)", () => pool.ptr(kept), (value) => typeof value === "number" && value > 0);
    expectSane("stats", () => pool.stats(), (value) => (value as { inUse: number }).inUse === 2);
    expectSane("tryAlloc", () => pool.tryAlloc(), (value) => value === -1 || witness.isAllocated(value as number));
    expectSane("free(held)", () => pool.free(held), () => !witness.isAllocated(held));
    expectSane("free(held) again", () => pool.free(held), () => false, [...MOVED_CODES, "DOUBLE_FREE"]);
    expectSane("check", () => pool.check(), (value) => typeof value === "number");
    assert.deepEqual(misses, [], `after ${how}`);
    assert.equal(new Uint8Array(moved).length > 0, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Crash-prone scenarios, each in a child process

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

/** Runs this file as a script with HOTPATH_SHARED_ADVERSARIAL_CHILD=`scenario`. */
function runChildProcess(scenario: string): { status: number | null; signal: string | null; output: string } {
  const args = runtime === "deno"
    ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "--allow-write", "--v8-flags=--expose-gc", thisFile]
    : [thisFile];
  const result = spawnSync(process.execPath, args, {
    cwd: packageRoot,
    env: { ...process.env, HOTPATH_SHARED_ADVERSARIAL_CHILD: scenario },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, signal: result.signal, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

const CHILD_SCENARIOS = [
  ["moved-close", "SharedPool buffer moved away survives close, collection and a touch of the moved memory"],
  ["moved-drop", "SharedPool buffer moved away and collected leaves the pool object throwing HotpathError only"],
  ["moved-reuse", "SharedPool buffer moved away and collected never lets the old object touch a reused cache"],
] as const;

for (const [scenario, name] of CHILD_SCENARIOS) {
  adversarial(`${name} (child process)`, () => {
    const { status, signal, output } = runChildProcess(scenario);
    const tail = output.trim().split("\n").slice(-8).join("\n");
    assert.ok(status === 0 && signal === null, `child ${scenario}: status ${status}, signal ${signal}\n${tail}`);
    const report = JSON.parse(output.split("\n").findLast((line) => line.startsWith("{")) ?? "{}") as {
      misses?: string[];
    };
    assert.deepEqual(report.misses, [], tail);
  });
}

async function settle(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    collectGarbage();
    await nextTurn();
  }
}

/** A moved copy of a fresh pool's buffer (the pool allocated one block), or undefined if refused. */
function movedOut(pool: SharedPool): ArrayBuffer | undefined {
  pool.view(pool.alloc()).fill(7);
  const moved = move(pool.bytes.buffer, "transfer");
  return typeof moved === "string" ? undefined : moved;
}

/** Calls every method; anything but a HotpathError or a sane value is a miss. */
function exercise(pool: SharedPool, misses: string[], label: string): void {
  const actions: Row[] = [
    ["alloc", () => pool.alloc()],
    ["tryAlloc", () => pool.tryAlloc()],
    ["free(0)", () => pool.free(0)],
    ["isAllocated(0)", () => pool.isAllocated(0)],
    ["view(0)", () => pool.view(0)],
    ["ptr(0)", () => pool.ptr(0)],
    ["stats", () => pool.stats()],
    ["check", () => pool.check()],
    ["reclaimAbandoned", () => pool.reclaimAbandoned()],
    ["share", () => pool.share()],
    ["close", () => pool.close()],
  ];
  for (const [name, action] of actions) {
    const got = outcome(action);
    if (!/^[A-Z_]+$/.test(got) && !got.startsWith("returned")) misses.push(`${label} ${name}: ${got}`);
  }
}

async function movedChild(scenario: string): Promise<string[]> {
  const misses: string[] = [];
  if (scenario === "moved-close") {
    const pool = new SharedPool({ blockSize: 64, capacity: 64 });
    let moved = movedOut(pool);
    pool.close();
    await settle();
    if (moved !== undefined) new Uint8Array(moved).fill(1);
    moved = undefined;
    await settle();
  } else if (scenario === "moved-drop") {
    const pool = new SharedPool({ blockSize: 64, capacity: 64 });
    movedOut(pool); // dropped at once: the collector frees the moved memory while the pool lives
    await settle();
    exercise(pool, misses, "after the moved buffer was collected:");
  } else {
    misses.push(...await reusedCacheChild());
  }
  using fresh = new SharedPool({ blockSize: 64, capacity: 64 });
  fresh.view(fresh.alloc()).fill(3);
  return misses;
}

/** The old object of a collected buffer must not refill or flush the cache its slot now gives another. */
async function reusedCacheChild(): Promise<string[]> {
  const misses: string[] = [];
  const keeper = new SharedPool({ blockSize: 16, capacity: 64, cache: 8, maxWorkers: 2 });
  const old = SharedPool.attach(keeper.share());
  let moved = movedOut(old);
  if (moved === undefined) return misses;
  moved = undefined;
  let newcomer: SharedPool | undefined;
  for (let attempt = 0; attempt < 50 && newcomer === undefined; attempt++) {
    await settle();
    try {
      newcomer = SharedPool.attach(keeper.share());
    } catch (error) {
      if (!(error instanceof HotpathError) || error.code !== "LIMIT_REACHED") throw error;
    }
  }
  if (newcomer === undefined) return misses; // the collector never freed the moved buffer: nothing to check
  const held = newcomer.alloc();
  const cachedBefore = newcomer.stats().caches.find((cache) => cache.mine)?.cached;
  exercise(old, misses, "old attachment:");
  const cachedAfter = newcomer.stats().caches.find((cache) => cache.mine)?.cached;
  if (cachedAfter !== cachedBefore) {
    misses.push(`the old attachment changed the newcomer's cache from ${cachedBefore} to ${cachedAfter} handles`);
  }
  if (!newcomer.isAllocated(held)) misses.push("the newcomer's block was freed by the old attachment");
  newcomer.free(held);
  newcomer.close();
  keeper.close();
  return misses;
}

// ---------------------------------------------------------------------------------------------
// Child entry point: run one scenario at top level and exit, registering no test.

if (CHILD !== undefined) {
  const misses = await movedChild(CHILD);
  console.log(JSON.stringify({ scenario: CHILD, misses }));
  process.exit(0);
}
