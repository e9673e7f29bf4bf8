/**
 * Adversarial inputs for every public function and constructor: each bad value must give a
 * HotpathError with its stable code (never a plain TypeError or RangeError, never a crash,
 * never a silent wrong answer), on Deno and on Bun.
 *
 * Each test runs a table of [label, action] rows and reports every row that missed at once.
 * Scenarios that can crash the process run in a child: this same file, run as a script with
 * HOTPATH_ADVERSARIAL_CHILD=<scenario> (see the end of the file).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  Arena,
  ArrayCursor,
  HotpathError,
  libraryInfo,
  loadLibrary,
  nowNs,
  Pool,
  type Schema,
  SizeClassPool,
  struct,
  StructLayout,
  type StructPool,
} from "../mod.ts";
import { collectGarbage, nextTurn, runtime, test, type TestBody } from "./harness.ts";
import {
  expectAll,
  foreign,
  lying,
  NOT_INTEGERS,
  NOT_INTEGERS_OR_UNDEFINED,
  outcome,
  type Row,
  rows,
  shifting,
  show,
  withShifting,
} from "./hostile_values.ts";

const CHILD = process.env.HOTPATH_ADVERSARIAL_CHILD;

/** Registers a test, unless this module runs as a child scenario. */
function adversarial(name: string, body: TestBody): void {
  if (CHILD === undefined) test(name, body);
}

// ---------------------------------------------------------------------------------------------
// Outcomes and tables

/** Asserts that every row either throws a HotpathError or returns a value `sane` accepts. */
function expectSaneOrHotpath(rows: readonly (readonly [string, () => unknown, (value: unknown) => boolean])[]): void {
  const misses: string[] = [];
  for (const [label, action, sane] of rows) {
    try {
      const value = action();
      if (!sane(value)) misses.push(`${label}: silently returned ${show(value)}`);
    } catch (error) {
      if (!(error instanceof HotpathError)) misses.push(`${label}: ${foreign(error)}`);
    }
  }
  assert.deepEqual(misses, []);
}

/** Values that are not handles of a pool of `capacity` blocks (release mode). */
function badHandles(capacity: number): (readonly [string, unknown])[] {
  return [
    ...NOT_INTEGERS_OR_UNDEFINED,
    ["lying valueOf 0", lying(0)],
    ["-1", -1],
    ["-2**31", -(2 ** 31)],
    ["2**31", 2 ** 31],
    ["2**32", 2 ** 32],
    ["2**53", 2 ** 53],
    ["capacity", capacity],
  ];
}

/** Values that are not handles of a debug pool (where an integer may carry generation bits). */
const BAD_DEBUG_HANDLES: readonly (readonly [string, unknown])[] = [
  ...NOT_INTEGERS_OR_UNDEFINED,
  ["lying valueOf 0", lying(0)],
  ["-1", -1],
  ["2**32", 2 ** 32],
  ["2**53", 2 ** 53],
];

/** A Uint32Array whose length, byteLength and byteOffset getters lie. */
class LyingUint32Array extends Uint32Array {}
for (const key of ["length", "byteLength", "byteOffset"]) {
  Object.defineProperty(LyingUint32Array.prototype, key, { get: () => 1 << 24, configurable: true });
}

/** A Uint8Array whose byteLength and length getters lie. */
class LyingUint8Array extends Uint8Array {}
for (const key of ["length", "byteLength"]) {
  Object.defineProperty(LyingUint8Array.prototype, key, { get: () => 1 << 24, configurable: true });
}

function detach(buffer: ArrayBufferLike): ArrayBuffer {
  return (buffer as ArrayBuffer).transfer();
}

function detachedUint32Array(length: number): Uint32Array {
  const buffer = new ArrayBuffer(length * 4);
  const array = new Uint32Array(buffer);
  detach(buffer);
  return array;
}

function detachedUint8Array(length: number): Uint8Array {
  const buffer = new ArrayBuffer(length);
  const array = new Uint8Array(buffer);
  detach(buffer);
  return array;
}

/** A struct with one field of every scalar kind and a few arrays. */
const Fields = struct({
  u8: "u8",
  i8: "i8",
  u16: "u16",
  i16: "i16",
  u32: "u32",
  i32: "i32",
  f32: "f32",
  f64: "f64",
  u64: "u64",
  i64: "i64",
  flag: "bool",
  bytes: ["u8", 4],
  words: ["u32", 2],
  floats: ["f32", 2],
  bigs: ["u64", 2],
});

/** A cursor over two fresh records, at the first. */
function fieldsCursor() {
  return Fields.cursor(new Uint8Array(Fields.size * 2)).at(0);
}

/** A record's fields as plain properties, to write values the types forbid. */
function loose(cursor: object): Record<string, unknown> {
  return cursor as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Handles

adversarial("Pool.free rejects every non-handle with INVALID_HANDLE and frees nothing", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  pool.alloc();
  pool.alloc();
  expectAll(rows(badHandles(4), (handle) => pool.free(handle)), "INVALID_HANDLE");
  assert.equal(pool.stats().inUse, 2);
  assert.ok(pool.isAllocated(0) && pool.isAllocated(1));
});

adversarial("Pool.offset, ptr and view reject every non-handle with INVALID_HANDLE", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  pool.alloc();
  pool.alloc();
  const bad = badHandles(4);
  expectAll([
    ...rows(bad, (handle) => pool.offset(handle), "offset "),
    ...rows(bad, (handle) => pool.ptr(handle), "ptr "),
    ...rows(bad, (handle) => pool.view(handle), "view "),
  ], "INVALID_HANDLE");
});

adversarial("Pool.isAllocated returns false for every non-handle", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  pool.alloc();
  pool.alloc();
  expectAll(rows(badHandles(4), (handle) => pool.isAllocated(handle)), "returned false");
});

adversarial("Pool (debug) free, offset, ptr, view and isAllocated reject every non-handle", () => {
  using pool = new Pool({ blockSize: 8, capacity: 4, debug: true });
  pool.alloc();
  pool.alloc();
  expectAll([
    ...rows(BAD_DEBUG_HANDLES, (handle) => pool.free(handle), "free "),
    ...rows(BAD_DEBUG_HANDLES, (handle) => pool.offset(handle), "offset "),
    ...rows(BAD_DEBUG_HANDLES, (handle) => pool.ptr(handle), "ptr "),
    ...rows(BAD_DEBUG_HANDLES, (handle) => pool.view(handle), "view "),
  ], "INVALID_HANDLE");
  expectAll(rows(BAD_DEBUG_HANDLES, (handle) => pool.isAllocated(handle)), "returned false");
  assert.equal(pool.stats().inUse, 2);
});

adversarial("Pool handle -0 is handle 0 in release and debug mode", () => {
  for (const debug of [false, true]) {
    using pool = new Pool({ blockSize: 8, capacity: 4, debug });
    const zero = pool.alloc();
    assert.equal(zero, 0, `debug ${debug}`);
    assert.equal(pool.isAllocated(-0), true, `debug ${debug}: isAllocated(-0)`);
    assert.ok(pool.offset(-0) === pool.offset(0), `debug ${debug}: offset(-0)`);
    assert.equal(pool.ptr(-0), pool.ptr(0), `debug ${debug}: ptr(-0)`);
    assert.equal(pool.view(-0).byteOffset, pool.view(0).byteOffset, `debug ${debug}: view(-0)`);
    pool.free(-0);
    assert.equal(pool.isAllocated(0), false, `debug ${debug}: free(-0) freed block 0`);
    assert.equal(pool.stats().inUse, 0);
  }
});

adversarial("StructPool.at rejects every non-handle with INVALID_HANDLE", () => {
  using pool = Pool.of(Fields, { capacity: 4 });
  pool.alloc();
  expectAll(rows(badHandles(4), (handle) => pool.at(handle)), "INVALID_HANDLE");
});

adversarial("SizeClassPool handle methods reject every non-handle with INVALID_HANDLE", () => {
  using pool = new SizeClassPool({ capacity: 4 }); // 6 classes, oversize "throw"
  pool.alloc(8);
  pool.alloc(40);
  const bad: (readonly [string, unknown])[] = [
    ...badHandles(4),
    ["class 6 (one past the classes)", 6 << 26],
    ["class 62", 62 << 26],
    ["class 63 (large) without the oversize path", (63 << 26) >>> 0],
    ["class 1, block capacity", (1 << 26) | 4],
  ];
  expectAll([
    ...rows(bad, (handle) => pool.free(handle), "free "),
    ...rows(bad, (handle) => pool.sizeOf(handle), "sizeOf "),
    ...rows(bad, (handle) => pool.bytesOf(handle), "bytesOf "),
    ...rows(bad, (handle) => pool.offset(handle), "offset "),
    ...rows(bad, (handle) => pool.view(handle), "view "),
    ...rows(bad, (handle) => pool.ptr(handle), "ptr "),
  ], "INVALID_HANDLE");
  assert.equal(pool.stats().total.inUse, 2);
});

adversarial("SizeClassPool handle -0 is handle 0", () => {
  using pool = new SizeClassPool({ capacity: 4 });
  assert.equal(pool.alloc(8), 0);
  assert.equal(pool.sizeOf(-0), 32);
  assert.ok(pool.offset(-0) === pool.offset(0));
  assert.equal(pool.ptr(-0), pool.ptr(0));
  assert.equal(pool.bytesOf(-0), pool.bytesOf(0));
  assert.equal(pool.view(-0).length, 32);
  pool.free(-0);
  assert.equal(pool.stats().total.inUse, 0);
});

// ---------------------------------------------------------------------------------------------
// Constructors and options

adversarial("new Pool rejects every bad option with INVALID_ARGUMENT", () => {
  const base = { blockSize: 8, capacity: 4 };
  const option = (key: string) => (value: unknown) => new Pool({ ...base, [key]: value } as never);
  const grow = (value: unknown) => new Pool({ ...base, grow: value } as never);
  expectAll([
    ...rows([["null", null], ["5", 5], ['"options"', "options"], ["undefined", undefined]], (o) => new Pool(o)),
    ...rows(
      [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-8", -8], ["2**20+1", 2 ** 20 + 1]],
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
      [["5", 5], ["null", null], ["Symbol()", Symbol("name")], ["101 characters", "x".repeat(101)]],
      option("name"),
      "name ",
    ),
    ...rows([["null", null], ["5", 5], ['"yes"', "yes"]], option("debug"), "debug "),
    ...rows(
      [
        ["null", null],
        ["5", 5],
        ["{}", {}],
        ...NOT_INTEGERS.map(([label, value]) => [`chunk ${label}`, { chunk: value, maxCapacity: 64 }] as const),
        ...NOT_INTEGERS.map(([label, value]) => [`maxCapacity ${label}`, { chunk: 8, maxCapacity: value }] as const),
        ["chunk 0", { chunk: 0, maxCapacity: 64 }],
        ["chunk above maxCapacity", { chunk: 65, maxCapacity: 64 }],
        ["maxCapacity below capacity", { chunk: 1, maxCapacity: 2 }],
        ["maxCapacity 2**26+1", { chunk: 1, maxCapacity: 2 ** 26 + 1 }],
      ],
      grow,
      "grow ",
    ),
  ], "INVALID_ARGUMENT");
});

adversarial("new Arena rejects every bad option with INVALID_ARGUMENT", () => {
  const option = (key: string) => (value: unknown) => new Arena({ capacity: 4096, [key]: value } as never);
  expectAll([
    ...rows([["null", null], ["5", 5], ['"options"', "options"], ["undefined", undefined]], (o) => new Arena(o)),
    ...rows(
      [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], ["2**30+1", 2 ** 30 + 1]],
      option("capacity"),
      "capacity ",
    ),
    ...rows([...NOT_INTEGERS, ["0", 0], ["3", 3], ["8192", 8192]], option("align"), "align "),
    ...rows([["5", 5], ["null", null], ["101 characters", "x".repeat(101)]], option("name"), "name "),
  ], "INVALID_ARGUMENT");
});

adversarial("new SizeClassPool rejects every bad option with INVALID_ARGUMENT", () => {
  const option = (key: string) => (value: unknown) => new SizeClassPool({ capacity: 4, [key]: value } as never);
  const sparse: number[] = [];
  sparse[0] = 32;
  sparse[2] = 128;
  const tooMany = Array.from({ length: 63 }, (_, index) => 8 * (index + 1));
  expectAll([
    ...rows(
      [["null", null], ["5", 5], ['"options"', "options"], ["undefined", undefined]],
      (o) => new SizeClassPool(o),
    ),
    ...rows(
      [
        ["null", null],
        ["5", 5],
        ['"32"', "32"],
        ["[]", []],
        ["[0]", [0]],
        ["[32, 32]", [32, 32]],
        ["[64, 32]", [64, 32]],
        ["[32, 65537]", [32, 65537]],
        ["[32, 1.5]", [32, 1.5]],
        ["[32, 64n]", [32, 64n]],
        ["[32, NaN]", [32, Number.NaN]],
        ['[32, "64"]', [32, "64"]],
        ["[null-prototype object]", [Object.create(null)]],
        ["[32, <hole>, 128]", sparse],
        ["63 classes", tooMany],
      ],
      option("classes"),
      "classes ",
    ),
    ...rows(
      [
        ...NOT_INTEGERS_OR_UNDEFINED,
        ["0", 0],
        ["-1", -1],
        ["2**26+1", 2 ** 26 + 1],
        ["[4] for 6 classes", [4]],
        ["[4,4,4,4,4,1n]", [4, 4, 4, 4, 4, 1n]],
        ["[4,4,4,4,4,Symbol()]", [4, 4, 4, 4, 4, Symbol("capacity")]],
      ],
      option("capacity"),
      "capacity ",
    ),
    ...rows([...NOT_INTEGERS, ["3", 3], ["8192", 8192]], option("align"), "align "),
    ...rows(
      [
        ['"bogus"', "bogus"],
        ["1", 1],
        ["null", null],
        ["Symbol()", Symbol("oversize")],
        ["null-prototype object", Object.create(null)],
      ],
      option("oversize"),
      "oversize ",
    ),
    ...rows([["5", 5], ["Symbol()", Symbol("name")]], option("name"), "name "),
    ...rows([['"yes"', "yes"], ["1", 1], ["null", null]], option("debug"), "debug "),
  ], "INVALID_ARGUMENT");
});

adversarial("Pool.of rejects anything but a StructLayout and bad options with INVALID_ARGUMENT", () => {
  const layout = (value: unknown) => Pool.of(value as never, { capacity: 4 });
  const options = (value: unknown) => Pool.of(Fields, value as never);
  expectAll([
    ...rows(
      [
        ["null", null],
        ["undefined", undefined],
        ["{}", {}],
        ["{ size: 8, align: 8 }", { size: 8, align: 8 }],
        ["{ size: 8, align: 8, cursor }", { size: 8, align: 8, cursor: () => ({}) }],
        ["Object.create(StructLayout.prototype)", Object.create(StructLayout.prototype)],
        ['"Order"', "Order"],
      ],
      layout,
      "layout ",
    ),
    ...rows(
      [
        ["null", null],
        ["5", 5],
        ["undefined", undefined],
        ...NOT_INTEGERS.map(([label, value]) => [`capacity ${label}`, { capacity: value }] as const),
        ...NOT_INTEGERS.map(([label, value]) => [`align ${label}`, { capacity: 4, align: value }] as const),
        ["align 4 (below the layout's 8)", { capacity: 4, align: 4 }],
      ],
      options,
      "options ",
    ),
  ], "INVALID_ARGUMENT");
});

adversarial("constructors let a throwing options getter propagate without a crash", () => {
  const boom = new Error("getter boom");
  const throwing = new Proxy({}, {
    get() {
      throw boom;
    },
  });
  const misses: string[] = [];
  const cases: Row[] = [
    ["new Pool", () => new Pool(throwing as never)],
    ["new Pool grow", () => new Pool({ blockSize: 8, capacity: 4, grow: throwing } as never)],
    ["Pool.of", () => Pool.of(Fields, throwing as never)],
    ["new Arena", () => new Arena(throwing as never)],
    ["new SizeClassPool", () => new SizeClassPool(throwing as never)],
    ["new SizeClassPool classes", () =>
      new SizeClassPool({
        capacity: 4,
        classes: new Proxy([32, 64], {
          get: () => {
            throw boom;
          },
        }),
      })],
    ["loadLibrary", () => loadLibrary(throwing as never)],
  ];
  for (const [label, action] of cases) {
    try {
      const made = action() as { close?: () => void };
      made.close?.();
      misses.push(`${label}: returned without reading its options`);
    } catch (error) {
      if (error !== boom && !(error instanceof HotpathError)) misses.push(`${label}: ${String(error)}`);
    }
  }
  assert.deepEqual(misses, []);
});

adversarial("constructors use the first read of an option whose getter changes", () => {
  type Made = { close(): void };
  const cases: [string, () => Made, (made: never) => boolean][] = [
    [
      "Pool capacity 16 then 32",
      () => new Pool(withShifting({ blockSize: 8 }, "capacity", [16, 32]) as never),
      (p: Pool) => p.capacity === 16 && p.stats().capacity === 16,
    ],
    [
      "Pool capacity 16 then 1e9",
      () => new Pool(withShifting({ blockSize: 8 }, "capacity", [16, 1e9]) as never),
      (p: Pool) => p.capacity === 16 && p.stats().capacity === 16,
    ],
    [
      "Pool blockSize 16 then 32",
      () => new Pool(withShifting({ capacity: 4 }, "blockSize", [16, 32]) as never),
      (p: Pool) => p.blockSize === 16 && p.stride === 16,
    ],
    [
      "Pool align 16 then 64",
      () => new Pool(withShifting({ blockSize: 8, capacity: 4 }, "align", [16, 64]) as never),
      (p: Pool) => p.align === 16,
    ],
    [
      "Pool debug false then true",
      () => new Pool(withShifting({ blockSize: 8, capacity: 4 }, "debug", [false, true]) as never),
      (p: Pool) => p.debug === false && p.alloc() === 0,
    ],
    [
      "Pool grow.maxCapacity 64 then 128",
      () =>
        new Pool({ blockSize: 8, capacity: 4, grow: withShifting({ chunk: 4 }, "maxCapacity", [64, 128]) } as never),
      (p: Pool) => p.maxCapacity === 64,
    ],
    [
      "Pool.of capacity 16 then 32",
      () => Pool.of(Fields, withShifting({}, "capacity", [16, 32]) as never),
      (p: Pool) => p.capacity === 16,
    ],
    [
      "Pool.of align 16 then 64",
      () => Pool.of(Fields, withShifting({ capacity: 4 }, "align", [16, 64]) as never),
      (p: Pool) => p.align === 16,
    ],
    [
      "Arena capacity 4096 then 8192",
      () => new Arena(withShifting({}, "capacity", [4096, 8192]) as never),
      (a: Arena) => a.capacity === 4096 && a.stats().capacity === 4096,
    ],
    [
      "Arena align 16 then 64",
      () => new Arena(withShifting({ capacity: 4096 }, "align", [16, 64]) as never),
      (a: Arena) => a.align === 16,
    ],
    [
      "SizeClassPool capacity 4 then 8",
      () => new SizeClassPool(withShifting({}, "capacity", [4, 8]) as never),
      (s: SizeClassPool) => s.stats().classes.every((c) => c.capacity === 4),
    ],
    [
      'SizeClassPool oversize "throw", "throw", then "allocate"',
      () => new SizeClassPool(withShifting({ capacity: 4 }, "oversize", ["throw", "throw", "allocate"]) as never),
      (s: SizeClassPool) => s.oversize === "throw" && outcome(() => s.alloc(5000)) === "TOO_LARGE",
    ],
    [
      'SizeClassPool oversize "throw", "throw", then "bogus"',
      () => new SizeClassPool(withShifting({ capacity: 4 }, "oversize", ["throw", "throw", "bogus"]) as never),
      (s: SizeClassPool) => s.oversize === "throw",
    ],
    [
      "SizeClassPool debug false then true",
      () => new SizeClassPool(withShifting({ capacity: 4 }, "debug", [false, true]) as never),
      (s: SizeClassPool) => s.stats().classes.every((c) => c.debug === false),
    ],
    [
      "SizeClassPool classes[1] 64 then 100000",
      () => {
        const classes = [32, 64];
        Object.defineProperty(classes, 1, { get: shifting([64, 100_000]), enumerable: true });
        return new SizeClassPool({ capacity: 4, classes });
      },
      (s: SizeClassPool) => s.classes[1] === 64 && s.sizeOf(s.alloc(64)) === 64,
    ],
  ];
  const misses: string[] = [];
  for (const [label, create, sane] of cases) {
    let made: Made | undefined;
    try {
      made = create();
      if (!sane(made as never)) misses.push(`${label}: the value used differs from the value checked`);
    } catch (error) {
      if (!(error instanceof HotpathError)) misses.push(`${label}: ${String(error)}`);
    } finally {
      made?.close();
    }
  }
  assert.deepEqual(misses, []);
});

// ---------------------------------------------------------------------------------------------
// Arena arguments

adversarial("Arena.alloc and tryAlloc reject every bad size and alignment with INVALID_ARGUMENT", () => {
  using arena = new Arena({ capacity: 4096 });
  const sizes = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], ["2**32", 2 ** 32], [
    "capacity+1",
    4097,
  ]] as const;
  const aligns = [...NOT_INTEGERS, ["0", 0], ["-0", -0], ["3", 3], ["-8", -8], ["8192", 8192], [
    "2**32",
    2 ** 32,
  ]] as const;
  expectAll([
    ...rows(sizes, (bytes) => arena.alloc(bytes), "alloc size "),
    ...rows(sizes, (bytes) => arena.tryAlloc(bytes), "tryAlloc size "),
    ...rows(aligns, (align) => arena.alloc(8, align), "alloc align "),
    ...rows(aligns, (align) => arena.tryAlloc(8, align), "tryAlloc align "),
  ], "INVALID_ARGUMENT");
  assert.equal(arena.mark(), 0, "nothing was allocated");
});

adversarial("Arena.rewind and ptr reject every bad mark and offset with INVALID_ARGUMENT", () => {
  using arena = new Arena({ capacity: 4096 });
  arena.alloc(64);
  const bad = [...NOT_INTEGERS_OR_UNDEFINED, ["-1", -1], ["2**32", 2 ** 32]] as const;
  expectAll([
    ...rows([...bad, ["ahead of the offset", 65]], (mark) => arena.rewind(mark), "rewind "),
    ...rows([...bad, ["capacity", 4096]], (offset) => arena.ptr(offset), "ptr "),
  ], "INVALID_ARGUMENT");
  assert.equal(arena.mark(), 64, "no rewind happened");
});

adversarial("Arena -0 is 0 for rewind and ptr", () => {
  using arena = new Arena({ capacity: 4096 });
  arena.alloc(64);
  assert.equal(arena.ptr(-0), arena.ptr(0));
  arena.rewind(-0);
  assert.ok(arena.mark() === 0);
  assert.equal(arena.alloc(8), 0);
});

adversarial("Arena.allocStruct rejects anything but a StructLayout with INVALID_ARGUMENT", () => {
  using arena = new Arena({ capacity: 4096 });
  expectAll(
    rows([
      ["null", null],
      ["undefined", undefined],
      ["{ size: 8 }", { size: 8 }],
      ["{ size: 8, align: 8 }", { size: 8, align: 8 }],
      ["{ size: -8, align: 8 }", { size: -8, align: 8 }],
      ["Object.create(StructLayout.prototype)", Object.create(StructLayout.prototype)],
      ["5", 5],
    ], (layout) => arena.allocStruct(layout)),
    "INVALID_ARGUMENT",
  );
  assert.equal(arena.mark(), 0, "nothing was allocated");
});

// ---------------------------------------------------------------------------------------------
// SizeClassPool arguments

adversarial(
  "SizeClassPool.alloc rejects bad sizes with INVALID_ARGUMENT and sizes above the largest class with TOO_LARGE",
  () => {
    using pool = new SizeClassPool({ capacity: 4 });
    const bad = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1]] as const;
    expectAll([
      ...rows(bad, (bytes) => pool.alloc(bytes), "alloc "),
      ...rows(bad, (bytes) => pool.tryAlloc(bytes), "tryAlloc "),
    ], "INVALID_ARGUMENT");
    const large = [["1025", 1025], ["65536", 65536], ["2**30", 2 ** 30]] as const;
    expectAll([
      ...rows(large, (bytes) => pool.alloc(bytes), "alloc "),
      ...rows(large, (bytes) => pool.tryAlloc(bytes), "tryAlloc "),
    ], "TOO_LARGE");
    assert.equal(pool.stats().total.inUse, 0);
  },
);

adversarial("SizeClassPool.free detects a class beyond the classes and a double free", () => {
  using pool = new SizeClassPool({ capacity: 4 });
  const handle = pool.alloc(8);
  pool.free(handle);
  using large = new SizeClassPool({ capacity: 4, oversize: "allocate" });
  const big = large.alloc(5000);
  large.free(big);
  expectAll([
    ["class 6", () => pool.free(6 << 26)],
    ["class 63 of a pool without the oversize path", () => pool.free((63 << 26) >>> 0)],
  ], "INVALID_HANDLE");
  expectAll([
    ["a freed class handle", () => pool.free(handle)],
    ["a freed large handle", () => large.free(big)],
  ], "DOUBLE_FREE");
});

// ---------------------------------------------------------------------------------------------
// Batches

adversarial("Pool.allocMany and freeMany reject every bad count with INVALID_ARGUMENT", () => {
  using pool = new Pool({ blockSize: 8, capacity: 64 });
  const out = new Uint32Array(8);
  const big = new Uint32Array(2 ** 20 + 1);
  const counts = [...NOT_INTEGERS, ["-1", -1], ["length+1", 9], ["2**32", 2 ** 32]] as const;
  expectAll([
    ...rows(counts, (count) => pool.allocMany(out, count), "allocMany "),
    ...rows(counts, (count) => pool.freeMany(out, count), "freeMany "),
    ["allocMany 2**20+1 (above the batch limit)", () => pool.allocMany(big, 2 ** 20 + 1)],
    ["freeMany 2**20+1 (above the batch limit)", () => pool.freeMany(big, 2 ** 20 + 1)],
  ], "INVALID_ARGUMENT");
  assert.equal(pool.stats().inUse, 0);
});

adversarial("Pool.allocMany and freeMany take a count of -0 as 0", () => {
  using release = new Pool({ blockSize: 8, capacity: 4 });
  using debug = new Pool({ blockSize: 8, capacity: 4, debug: true });
  const out = new Uint32Array(4);
  // A count of 0 comes back as 0 (or -0, which is the same count).
  expectAll([
    ["allocMany(out, -0)", () => release.allocMany(out, -0)],
    ["debug allocMany(out, -0)", () => debug.allocMany(out, -0)],
  ], ["returned 0", "returned -0"]);
  expectAll([
    ["freeMany(out, -0)", () => release.freeMany(out, -0)],
    ["debug freeMany(out, -0)", () => debug.freeMany(out, -0)],
  ], "returned undefined");
  assert.equal(release.stats().inUse + debug.stats().inUse, 0);
});

adversarial("Pool.allocMany and freeMany reject every non-Uint32Array with INVALID_ARGUMENT", () => {
  using pool = new Pool({ blockSize: 8, capacity: 64 });
  const buffers = [
    ["null", null],
    ["undefined", undefined],
    ["Array [0, 1]", [0, 1]],
    ["Int32Array", new Int32Array(2)],
    ["Uint8Array", new Uint8Array(8)],
    ["BigUint64Array", new BigUint64Array(2)],
    ["Float64Array", new Float64Array(2)],
    ["DataView", new DataView(new ArrayBuffer(8))],
    ["ArrayBuffer", new ArrayBuffer(8)],
    ["plain object { length: 2 }", { length: 2, 0: 0, 1: 1 }],
    ["fake Object.create(Uint32Array.prototype)", Object.create(Uint32Array.prototype)],
  ] as const;
  expectAll([
    ...rows(buffers, (out) => pool.allocMany(out, 2), "allocMany "),
    ...rows(buffers, (out) => pool.allocMany(out), "allocMany default count "),
    ...rows(buffers, (handles) => pool.freeMany(handles, 2), "freeMany "),
    ...rows(buffers, (handles) => pool.freeMany(handles), "freeMany default count "),
  ], "INVALID_ARGUMENT");
  assert.equal(pool.stats().inUse, 0);
});

adversarial("Pool.allocMany and freeMany read a lying Uint32Array subclass through its real length", () => {
  using pool = new Pool({ blockSize: 8, capacity: 64 });
  const buffer = new ArrayBuffer(64);
  const lyingOut = new LyingUint32Array(buffer, 0, 4);
  const real = new Uint32Array(buffer, 0, 4);
  // The canary right after the lying array holds handles that are allocated.
  const canary = new Uint32Array(buffer, 16, 12);
  assert.equal(pool.allocMany(canary, 12), 12);
  const snapshot = canary.slice();
  expectAll([
    ["allocMany(lying, 5)", () => pool.allocMany(lyingOut, 5)],
    ["allocMany(lying, 16)", () => pool.allocMany(lyingOut, 16)],
    ["freeMany(lying, 8)", () => pool.freeMany(lyingOut, 8)],
  ], "INVALID_ARGUMENT");
  assert.deepEqual(canary, snapshot, "the canary after the lying array was written");
  assert.equal(pool.stats().inUse, 12, "a rejected batch changed the pool");
  expectAll([["allocMany(lying, 4)", () => pool.allocMany(lyingOut, 4)]], "returned 4");
  assert.equal(new Set(real).size, 4);
  for (const handle of real) assert.ok(pool.isAllocated(handle) && !snapshot.includes(handle), `handle ${handle}`);
  expectAll([["freeMany(lying, 4)", () => pool.freeMany(lyingOut, 4)]], "returned undefined");
  expectAll([["allocMany(lying) (count from the real length)", () => pool.allocMany(lyingOut)]], [
    "returned 4",
    "INVALID_ARGUMENT",
  ]);
  assert.deepEqual(canary, snapshot, "the canary after the lying array was written");
  assert.ok(pool.stats().inUse <= 16);
  pool.check();
});

adversarial("Pool.allocMany and freeMany reject a Uint32Array over a detached buffer with INVALID_ARGUMENT", () => {
  using pool = new Pool({ blockSize: 8, capacity: 64 });
  const detached = detachedUint32Array(4);
  const resizable = new ArrayBuffer(32, { maxByteLength: 64 });
  const outOfBounds = new Uint32Array(resizable, 0, 8);
  resizable.resize(8);
  expectAll([
    ["allocMany(detached)", () => pool.allocMany(detached)],
    ["allocMany(detached, 0)", () => pool.allocMany(detached, 0)],
    ["allocMany(detached, 1)", () => pool.allocMany(detached, 1)],
    ["freeMany(detached)", () => pool.freeMany(detached)],
    ["freeMany(detached, 0)", () => pool.freeMany(detached, 0)],
    ["allocMany(out of bounds after resize, 8)", () => pool.allocMany(outOfBounds, 8)],
    ["freeMany(out of bounds after resize, 8)", () => pool.freeMany(outOfBounds, 8)],
  ], "INVALID_ARGUMENT");
  assert.equal(pool.stats().inUse, 0);
});

adversarial("Pool.allocMany and freeMany over shared or resizable buffers work or give INVALID_ARGUMENT", () => {
  const arrays = [
    ["SharedArrayBuffer", () => new Uint32Array(new SharedArrayBuffer(16))],
    ["resizable, length-tracking", () => new Uint32Array(new ArrayBuffer(16, { maxByteLength: 64 }))],
  ] as const;
  for (const [label, make] of arrays) {
    using pool = new Pool({ blockSize: 8, capacity: 8 });
    const out = make();
    const allocated = outcome(() => pool.allocMany(out, 4));
    assert.ok(["returned 4", "INVALID_ARGUMENT"].includes(allocated), `${label}: allocMany gave ${allocated}`);
    if (allocated === "returned 4") {
      assert.equal(new Set(out).size, 4, label);
      for (const handle of out) assert.ok(pool.isAllocated(handle), `${label}: handle ${handle}`);
      const freed = outcome(() => pool.freeMany(out, 4));
      assert.ok(["returned undefined", "INVALID_ARGUMENT"].includes(freed), `${label}: freeMany gave ${freed}`);
    }
    pool.check();
  }
});

adversarial("Pool.allocMany and freeMany over the pool's own memory never corrupt it", () => {
  const misses: string[] = [];
  const verify = (label: string, pool: Pool, action: () => unknown, expectInUse: (result: unknown) => number) => {
    let result: unknown;
    try {
      result = action();
    } catch (error) {
      if (error instanceof HotpathError && error.code === "INVALID_ARGUMENT") return;
      misses.push(`${label}: threw ${error instanceof HotpathError ? error.code : foreign(error)}`);
      return;
    }
    const checked = outcome(() => pool.check());
    if (!checked.startsWith("returned")) misses.push(`${label}: check() gave ${checked}`);
    const inUse = outcome(() => pool.stats().inUse);
    if (inUse !== `returned ${expectInUse(result)}`) {
      misses.push(`${label}: inUse ${inUse}, expected ${expectInUse(result)}`);
    }
  };
  {
    // allocMany writing its handles into the free-list links of free blocks 8..15.
    using pool = new Pool({ blockSize: 4, capacity: 16, align: 4 });
    const bytes = pool.bytes;
    const out = new Uint32Array(bytes.buffer, bytes.byteOffset + 8 * pool.stride, 8);
    verify("allocMany into free blocks", pool, () => pool.allocMany(out, 8), (granted) => granted as number);
  }
  {
    // freeMany reading handles from the blocks it frees, last handle in the first block.
    using pool = new Pool({ blockSize: 4, capacity: 16, align: 4 });
    const handles = new Uint32Array(8);
    assert.equal(pool.allocMany(handles, 8), 8);
    const sorted = [...handles].sort((a, b) => a - b);
    assert.deepEqual(sorted, [0, 1, 2, 3, 4, 5, 6, 7]);
    // inBlocks[i] is the first word of block i; it holds handle 7 - i, so block 7 - i is freed
    // (and its link written) before inBlocks[7 - i] is read.
    const bytes = pool.bytes;
    const inBlocks = new Uint32Array(bytes.buffer, bytes.byteOffset, 8);
    inBlocks.set(sorted.reverse());
    verify("freeMany from the blocks it frees", pool, () => pool.freeMany(inBlocks, 8), () => 0);
  }
  {
    // allocMany writing its handles over the pool's header.
    using pool = new Pool({ blockSize: 8, capacity: 16 });
    const out = new Uint32Array(pool.bytes.buffer, 0, 8);
    verify("allocMany into the header", pool, () => pool.allocMany(out, 8), (granted) => granted as number);
  }
  assert.deepEqual(misses, []);
});

// ---------------------------------------------------------------------------------------------
// Struct layouts

adversarial("struct rejects every bad schema, field type, array length and name with INVALID_ARGUMENT", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const schemas = [
    ["null", null],
    ["undefined", undefined],
    ["5", 5],
    ['"u8"', "u8"],
    ["1n", 1n],
    ["Symbol()", Symbol("schema")],
    ["{}", {}],
    ["[]", []],
  ] as const;
  const types = [
    ['"u128"', "u128"],
    ['""', ""],
    ['"toString"', "toString"],
    ['"constructor"', "constructor"],
    ['"__proto__"', "__proto__"],
    ['"hasOwnProperty"', "hasOwnProperty"],
    ["null", null],
    ["undefined", undefined],
    ["5", 5],
    ["1n", 1n],
    ["Symbol()", Symbol("type")],
    ["{}", {}],
    ["cyclic object", cyclic],
    ["{ size: 8, align: 8 }", { size: 8, align: 8 }],
    ['["u8"]', ["u8"]],
    ['["u8", 2, 3]', ["u8", 2, 3]],
    ['[["u8", 2], 2]', [["u8", 2], 2]],
    ['["bogus", 2]', ["bogus", 2]],
    ["[null, 2]", [null, 2]],
    ["[1n, 2]", [1n, 2]],
    ['["toString", 2]', ["toString", 2]],
  ] as const;
  const lengths = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], ["2**21", 2 ** 21], [
    '"2"',
    "2",
  ]] as const;
  const names = [
    ['"at"', { at: "u8" }],
    ['"offset"', { offset: "u8" }],
    ['"1a"', { "1a": "u8" }],
    ['"a-b"', { "a-b": "u8" }],
    ['""', { "": "u8" }],
    ['"constructor"', { constructor: "u8" }],
    ['"__proto__" (own)', JSON.parse('{"__proto__": "u8"}')],
    ['"idAsNumber" beside u64 "id"', { id: "u64", idAsNumber: "u8" }],
  ] as const;
  expectAll([
    ...rows(schemas, (schema) => struct(schema), "struct "),
    ...rows(schemas, (schema) => new StructLayout(schema), "new StructLayout "),
    ...rows(types, (type) => struct({ a: type }), "type "),
    ...rows(lengths, (length) => struct({ a: ["u8", length] }), "array length "),
    ...rows(names, (schema) => struct(schema), "name "),
  ], "INVALID_ARGUMENT");
});

adversarial("StructLayout.offsetOf rejects every unknown name with INVALID_ARGUMENT", () => {
  expectAll(
    rows(
      [
        ['"nope"', "nope"],
        ['""', ""],
        ['"__proto__"', "__proto__"],
        ['"toString"', "toString"],
        ["null", null],
        [
          "1n",
          1n,
        ],
        ["Symbol()", Symbol("u8")],
        ["null-prototype object", Object.create(null)],
      ],
      (name) => Fields.offsetOf(name),
    ),
    "INVALID_ARGUMENT",
  );
});

adversarial(
  "StructLayout.cursor rejects non-Uint8Array, fake, misaligned and detached memory with INVALID_ARGUMENT",
  () => {
    const aligned = new ArrayBuffer(64);
    expectAll(
      rows([
        ["null", null],
        ["undefined", undefined],
        ["{}", {}],
        ["[]", []],
        ['"bytes"', "bytes"],
        ["5", 5],
        ["Int8Array", new Int8Array(64)],
        ["Uint8ClampedArray", new Uint8ClampedArray(64)],
        ["Uint16Array", new Uint16Array(32)],
        ["DataView", new DataView(aligned)],
        ["ArrayBuffer", aligned],
        ["fake Object.create(Uint8Array.prototype)", Object.create(Uint8Array.prototype)],
        ["misaligned Uint8Array (byteOffset 1)", new Uint8Array(aligned, 1)],
        ["Uint8Array over a detached buffer", detachedUint8Array(64)],
      ], (memory) => Fields.cursor(memory)),
      "INVALID_ARGUMENT",
    );
  },
);

adversarial("StructLayout.cursor over a lying Uint8Array subclass stays inside the real memory", () => {
  const buffer = new ArrayBuffer(Fields.size * 3);
  const lyingMemory = new LyingUint8Array(buffer, 0, Fields.size);
  const after = new Uint8Array(buffer, Fields.size);
  let cursor;
  try {
    cursor = Fields.cursor(lyingMemory);
  } catch (error) {
    if (error instanceof HotpathError && error.code === "INVALID_ARGUMENT") return; // rejecting it is fine
    assert.fail(`cursor(lying) threw ${foreign(error)}`);
  }
  expectAll([
    ["at(size) (the real memory holds one record)", () => cursor.at(Fields.size)],
    ["at(2 * size)", () => cursor.at(2 * Fields.size)],
  ], "INVALID_ARGUMENT");
  cursor.at(0).u32 = 7;
  assert.equal(new Uint32Array(buffer, Fields.offsetOf("u32"), 1)[0], 7);
  assert.ok(after.every((byte) => byte === 0), "a write landed past the real memory");
});

// ---------------------------------------------------------------------------------------------
// Struct cursors

adversarial("struct cursor integer setters reject every value that does not fit with INVALID_ARGUMENT", () => {
  const record = loose(fieldsCursor());
  const ranges: [string, number, number][] = [
    ["u8", 0, 255],
    ["i8", -128, 127],
    ["u16", 0, 65535],
    ["i16", -32768, 32767],
    ["u32", 0, 2 ** 32 - 1],
    ["i32", -(2 ** 31), 2 ** 31 - 1],
  ];
  const table: Row[] = [];
  for (const [field, min, max] of ranges) {
    record[field] = 1;
    const bad = [...NOT_INTEGERS_OR_UNDEFINED, ["min-1", min - 1], ["max+1", max + 1]] as const;
    table.push(...rows(bad, (value) => (record[field] = value), `${field} = `));
  }
  expectAll(table, "INVALID_ARGUMENT");
  for (const [field] of ranges) assert.equal(record[field], 1, `${field} changed by a rejected write`);
  record.u8 = -0;
  assert.equal(record.u8, 0);
});

adversarial("struct cursor f32 setter rejects finite values beyond f32 and accepts what fits", () => {
  const record = loose(fieldsCursor());
  record.f32 = 1.5;
  const cursor = fieldsCursor();
  expectAll([
    ...rows(
      [["1e39", 1e39], ["-1e39", -1e39], ["3.5e38", 3.5e38], ["Number.MAX_VALUE", Number.MAX_VALUE]],
      (value) => (record.f32 = value),
      "f32 = ",
    ),
    ...rows([["1e39", 1e39], ["-1e39", -1e39]], (value) => cursor.floats.set(0, value), "floats.set(0, "),
    ...rows(
      [...NOT_INTEGERS.filter(([, value]) => typeof value !== "number"), ["undefined", undefined]],
      (value) => (record.f32 = value),
      "f32 = ",
    ),
    ...rows([["1n", 1n], ['"1"', "1"], ["null", null]], (value) => (record.f64 = value), "f64 = "),
  ], "INVALID_ARGUMENT");
  assert.equal(record.f32, 1.5, "a rejected write changed the field");
  for (const value of [3.4028234663852886e38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN, 1e-50, -0, 0.1]) {
    record.f32 = value;
    assert.ok(Object.is(record.f32, Math.fround(value)), `f32 = ${value} read back ${record.f32}`);
  }
});

adversarial("struct cursor 64-bit and bool setters reject every wrong type with INVALID_ARGUMENT", () => {
  const record = loose(fieldsCursor());
  record.u64 = 5n;
  record.i64 = -5n;
  record.flag = true;
  const notBigints = [["1", 1], ["1.5", 1.5], ['"1"', "1"], ["null", null], ["undefined", undefined], [
    "Symbol()",
    Symbol("u64"),
  ]] as const;
  const notSafe = [
    ...NOT_INTEGERS_OR_UNDEFINED.filter(([label]) => label !== "lying valueOf 1"),
    ["2**53", 2 ** 53],
    ["lying valueOf 1", lying(1)],
  ] as const;
  expectAll([
    ...rows([...notBigints, ["2n**64n", 2n ** 64n], ["-1n", -1n]], (value) => (record.u64 = value), "u64 = "),
    ...rows(
      [...notBigints, ["2n**63n", 2n ** 63n], ["-(2n**63n)-1n", -(2n ** 63n) - 1n]],
      (value) => (record.i64 = value),
      "i64 = ",
    ),
    ...rows([...notSafe, ["-1", -1]], (value) => (record.u64AsNumber = value), "u64AsNumber = "),
    ...rows([...notSafe, ["-(2**53)", -(2 ** 53)]], (value) => (record.i64AsNumber = value), "i64AsNumber = "),
    ...rows(
      [["1", 1], ["0", 0], ['"true"', "true"], ["null", null], ["undefined", undefined], ["1n", 1n]],
      (value) => (record.flag = value),
      "flag = ",
    ),
  ], "INVALID_ARGUMENT");
  assert.equal(record.u64, 5n);
  assert.equal(record.i64, -5n);
  assert.equal(record.flag, true);
});

adversarial("struct cursor.at rejects every bad offset with INVALID_ARGUMENT", () => {
  const memory = new Uint8Array(Fields.size * 2);
  const cursor = Fields.cursor(memory);
  const bad = [
    ...NOT_INTEGERS_OR_UNDEFINED,
    ["-1", -1],
    ["-8", -(Fields.align)],
    ["misaligned", Fields.align / 2],
    ["one byte short of a record", Fields.size + Fields.align],
    ["byteLength", memory.length],
    ["2**32", 2 ** 32],
  ] as const;
  expectAll(rows(bad, (offset) => cursor.at(offset)), "INVALID_ARGUMENT");
  assert.ok(cursor.at(-0).offset === 0);
  assert.equal(cursor.at(Fields.size).offset, Fields.size);
});

adversarial("ArrayCursor get, set and at reject every bad index, offset and value with INVALID_ARGUMENT", () => {
  const cursor = fieldsCursor();
  const { bytes, words, bigs } = cursor;
  bytes.set(0, 9);
  const badIndexes = [...NOT_INTEGERS_OR_UNDEFINED, ["-1", -1], ["length", 4], ["2**32", 2 ** 32]] as const;
  const badOffsets = [
    ...NOT_INTEGERS_OR_UNDEFINED,
    ["-1", -1],
    ["-8", -8],
    ["past the memory", Fields.size * 2],
    ["2**32", 2 ** 32],
  ] as const;
  expectAll([
    ...rows(badIndexes, (index) => bytes.get(index), "bytes.get "),
    ...rows(badIndexes, (index) => bytes.set(index, 1), "bytes.set "),
    ...rows([...NOT_INTEGERS_OR_UNDEFINED, ["256", 256], ["-1", -1]], (value) => bytes.set(1, value), "bytes.set(1, "),
    ...rows([["1", 1], ['"1"', "1"], ["null", null]], (value) => bigs.set(0, value), "bigs.set(0, "),
    ...rows(badOffsets, (offset) => bytes.at(offset), "bytes.at "),
    ["words.at(2) (misaligned for u32)", () => words.at(Fields.offsetOf("words") + 2)],
  ], "INVALID_ARGUMENT");
  assert.equal(cursor.at(0).bytes.get(0), 9);
  assert.equal(cursor.bytes.get(1), 0);
  assert.equal(cursor.bytes.get(-0), 9);
});

adversarial(
  "ArrayCursor.setString and getString reject every non-string and non-byte array with INVALID_ARGUMENT",
  () => {
    const cursor = fieldsCursor();
    cursor.bytes.setString("ab");
    expectAll([
      ...rows(
        [
          ["1n", 1n],
          ["Symbol()", Symbol("text")],
          ["5", 5],
          ["null", null],
          ["undefined", undefined],
          ["{}", {}],
          ['["a"]', ["a"]],
          ["{ toString }", { toString: () => "ab" }],
          ["too long", "abcde"],
          ["not ASCII", "é"],
        ],
        (text) => cursor.bytes.setString(text),
        "setString ",
      ),
      ['words.setString("a")', () => (cursor.words as unknown as { setString(text: string): void }).setString("a")],
      ["words.getString()", () => (cursor.words as unknown as { getString(): string }).getString()],
    ], "INVALID_ARGUMENT");
    assert.equal(cursor.bytes.getString(), "ab");
  },
);

adversarial("new ArrayCursor rejects memory that is not a cursor's memory with INVALID_ARGUMENT", () => {
  expectAll(
    rows(
      [["null", null], ["undefined", undefined], ["{}", {}], ["5", 5], ["Uint8Array", new Uint8Array(8)]],
      (memory) => new ArrayCursor(memory, "u8", 4, 1),
    ),
    "INVALID_ARGUMENT",
  );
});

adversarial("struct cursor over a detached buffer throws INVALID_ARGUMENT and writes nowhere", () => {
  const buffer = new ArrayBuffer(Fields.size * 2);
  const cursor = Fields.cursor(new Uint8Array(buffer)).at(0);
  cursor.u32 = 5;
  cursor.u64AsNumber = 6;
  cursor.bytes.set(0, 9);
  const moved = new Uint8Array(detach(buffer));
  const snapshot = moved.slice();
  const record = loose(cursor);
  expectAll([
    ["read u32", () => cursor.u32],
    ["read f64", () => cursor.f64],
    ["read u64", () => cursor.u64],
    ["read u64AsNumber", () => cursor.u64AsNumber],
    ["read flag", () => cursor.flag],
    ["write u32", () => (record.u32 = 6)],
    ["write u64", () => (record.u64 = 7n)],
    ["write u64AsNumber", () => (record.u64AsNumber = 7)],
    ["write flag", () => (record.flag = true)],
    ["at(0)", () => cursor.at(0)],
    ["bytes.get(0)", () => cursor.bytes.get(0)],
    ["bytes.set(0, 1)", () => cursor.bytes.set(0, 1)],
    ["bytes.getString()", () => cursor.bytes.getString()],
    ['bytes.setString("x")', () => cursor.bytes.setString("x")],
  ], "INVALID_ARGUMENT");
  assert.deepEqual(moved, snapshot, "a write through the detached cursor landed in the transferred memory");
});

// ---------------------------------------------------------------------------------------------
// After close

adversarial("Pool, debug Pool and StructPool throw CLOSED from every method after close", () => {
  const pools = [
    ["Pool", new Pool({ blockSize: 8, capacity: 4 })],
    ["debug Pool", new Pool({ blockSize: 8, capacity: 4, debug: true })],
    ["growing Pool", new Pool({ blockSize: 8, capacity: 4, grow: { chunk: 4, maxCapacity: 16 } })],
    ["StructPool", Pool.of(Fields, { capacity: 4 })],
  ] as const;
  const table: Row[] = [];
  for (const [label, pool] of pools) {
    const handle = pool.alloc();
    pool.close();
    pool.close();
    assert.equal(pool.closed, true, label);
    table.push(
      [`${label} alloc`, () => pool.alloc()],
      [`${label} tryAlloc`, () => pool.tryAlloc()],
      [`${label} allocScoped`, () => pool.allocScoped()],
      [`${label} free`, () => pool.free(handle)],
      [`${label} offset`, () => pool.offset(handle)],
      [`${label} ptr`, () => pool.ptr(handle)],
      [`${label} view`, () => pool.view(handle)],
      [`${label} isAllocated`, () => pool.isAllocated(handle)],
      [`${label} bytes`, () => pool.bytes],
      [`${label} stats`, () => pool.stats()],
      [`${label} reset`, () => pool.reset()],
      [`${label} grow`, () => pool.grow()],
      [`${label} check`, () => pool.check()],
      [`${label} allocMany`, () => pool.allocMany(new Uint32Array(1))],
      [`${label} freeMany`, () => pool.freeMany(Uint32Array.of(handle))],
      [`${label} freeMany(empty)`, () => pool.freeMany(new Uint32Array(0))],
    );
    if (pool.layout !== undefined) table.push([`${label} at`, () => (pool as StructPool<Schema>).at(handle)]);
  }
  expectAll(table, "CLOSED");
  for (const [, pool] of pools) pool[Symbol.dispose]();
});

adversarial("Arena throws CLOSED from every method after close", () => {
  const arena = new Arena({ capacity: 4096 });
  arena.alloc(8);
  arena.close();
  arena.close();
  assert.equal(arena.closed, true);
  expectAll([
    ["alloc", () => arena.alloc(8)],
    ["alloc(8, 8)", () => arena.alloc(8, 8)],
    ["tryAlloc", () => arena.tryAlloc(8)],
    ["allocStruct", () => arena.allocStruct(Fields)],
    ["mark", () => arena.mark()],
    ["rewind", () => arena.rewind(0)],
    ["reset", () => arena.reset()],
    ["ptr", () => arena.ptr(0)],
    ["stats", () => arena.stats()],
    ["scope", () => arena.scope()],
    ["bytes", () => arena.bytes],
  ], "CLOSED");
  arena[Symbol.dispose]();
});

adversarial("SizeClassPool throws CLOSED from every method after close", () => {
  const pool = new SizeClassPool({ capacity: 4, oversize: "allocate" });
  const handle = pool.alloc(8);
  const large = pool.alloc(5000);
  pool.close();
  pool.close();
  assert.equal(pool.closed, true);
  const table: Row[] = [
    ["alloc", () => pool.alloc(8)],
    ["alloc(large)", () => pool.alloc(5000)],
    ["tryAlloc", () => pool.tryAlloc(8)],
    ["stats", () => pool.stats()],
  ];
  for (const [label, h] of [["class handle", handle], ["large handle", large]] as const) {
    table.push(
      [`free ${label}`, () => pool.free(h)],
      [`sizeOf ${label}`, () => pool.sizeOf(h)],
      [`bytesOf ${label}`, () => pool.bytesOf(h)],
      [`offset ${label}`, () => pool.offset(h)],
      [`view ${label}`, () => pool.view(h)],
      [`ptr ${label}`, () => pool.ptr(h)],
    );
  }
  expectAll(table, "CLOSED");
  pool[Symbol.dispose]();
});

adversarial("views and cursors taken before close stay safe to read and write", () => {
  const pool = new SizeClassPool({ capacity: 4 });
  const block = pool.view(pool.alloc(8));
  const arena = new Arena({ capacity: 4096 });
  const region = arena.bytes.subarray(arena.alloc(64), 64);
  const structs = Pool.of(Fields, { capacity: 4 });
  const cursor = structs.at(structs.alloc());
  block.fill(7);
  region.fill(7);
  cursor.u32 = 7;
  pool.close();
  arena.close();
  structs.close();
  assert.equal(block[0], 0, "SizeClassPool view reads zeros after close");
  assert.equal(region[0], 0, "Arena view reads zeros after close");
  block.fill(1);
  region.fill(1);
  expectAll([["cursor.u32 after close", () => cursor.u32]], ["returned 0", "CLOSED"]);
  expectAll([["cursor.u32 = 1 after close", () => (cursor.u32 = 1)]], ["returned 1", "CLOSED"]);
});

// ---------------------------------------------------------------------------------------------
// Transferred memory

const isHandleBelow = (capacity: number) => (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value < capacity;

adversarial("Pool after bytes.buffer.transfer() keeps working on its own state or throws HotpathError", () => {
  const pool = new Pool({ blockSize: 16, capacity: 4 });
  const first = pool.alloc();
  pool.view(first).fill(5);
  detach(pool.bytes.buffer); // the moved memory is dropped, never touched
  const handed = new Set([first]);
  const fresh = (value: unknown) => {
    if (!isHandleBelow(4)(value) || handed.has(value as number)) return false;
    handed.add(value as number);
    return true;
  };
  expectSaneOrHotpath([
    ["alloc", () => pool.alloc(), fresh],
    ["tryAlloc", () => pool.tryAlloc(), fresh],
    ["bytes", () => pool.bytes, (value) => value instanceof Uint8Array && value.length === 4 * pool.stride],
    [
      "view(first)",
      () => pool.view(first),
      (value) => value instanceof Uint8Array && value.length === 16 && value[0] === 5,
    ],
    ["offset(first)", () => pool.offset(first), isHandleBelow(4 * pool.stride)],
    ["isAllocated(first)", () => pool.isAllocated(first), (value) => value === true],
    ["stats", () => pool.stats(), (value) => (value as { inUse: number }).inUse === handed.size],
    ["check", () => pool.check(), (value) => value === 4],
    ["free(first)", () => pool.free(first), (value) => value === undefined && handed.delete(first)],
    ["allocMany", () => pool.allocMany(new Uint32Array(1)), (value) => value === 1],
    ["reset", () => pool.reset(), (value) => value === undefined],
  ]);
  pool.close();
});

adversarial("StructPool after bytes.buffer.transfer() keeps its records or throws HotpathError", () => {
  const pool = Pool.of(Fields, { capacity: 4 });
  const handle = pool.alloc();
  pool.at(handle).u32 = 77;
  detach(pool.bytes.buffer);
  expectSaneOrHotpath([
    ["at(handle).u32", () => pool.at(handle).u32, (value) => value === 77],
    ["at(handle).u32 = 78", () => (pool.at(handle).u32 = 78), (value) => value === 78 && pool.at(handle).u32 === 78],
  ]);
  pool.close();
});

adversarial("Arena after bytes.buffer.transfer() keeps working on its own state or throws HotpathError", () => {
  const arena = new Arena({ capacity: 4096 });
  arena.alloc(64);
  detach(arena.bytes.buffer);
  expectSaneOrHotpath([
    ["bytes", () => arena.bytes, (value) => value instanceof Uint8Array && value.length === 4096],
    ["alloc", () => arena.alloc(8), (value) => value === 64],
    ["stats", () => arena.stats(), (value) => (value as { offset: number }).offset === 72],
    ["ptr", () => arena.ptr(0), (value) => typeof value === "number" && value > 0],
  ]);
  arena.close();
});

adversarial("SizeClassPool after a class's memory is transferred keeps working or throws HotpathError", () => {
  const pool = new SizeClassPool({ capacity: 4 });
  const handle = pool.alloc(8);
  detach(pool.bytesOf(handle).buffer);
  const handed = new Set([handle]);
  expectSaneOrHotpath([
    [
      "alloc",
      () => pool.alloc(8),
      (value) => typeof value === "number" && !handed.has(value) && value >= 0 && value < 4,
    ],
    ["view", () => pool.view(handle), (value) => value instanceof Uint8Array && value.length === 32],
    ["stats", () => pool.stats(), (value) => (value as { total: { inUse: number } }).total.inUse <= 2],
    ["free", () => pool.free(handle), (value) => value === undefined],
  ]);
  pool.close();
});

// ---------------------------------------------------------------------------------------------
// Crash-prone scenarios, each in a child process

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

/** Runs this file as a script with HOTPATH_ADVERSARIAL_CHILD=`scenario`. */
function runChildProcess(scenario: string): { status: number | null; signal: string | null; output: string } {
  const args = runtime === "deno"
    ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", thisFile]
    : [thisFile];
  const result = spawnSync(process.execPath, args, {
    cwd: packageRoot,
    env: { ...process.env, HOTPATH_ADVERSARIAL_CHILD: scenario },
    encoding: "utf8",
    timeout: 60_000,
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  return { status: result.status, signal: result.signal, output };
}

const TRANSFER_SCENARIOS = [
  ["pool-transfer", "Pool view moved by buffer.transfer() survives close, GC and a touch"],
  ["pool-clone", "Pool view moved by structuredClone(transfer) survives close, GC and a touch"],
  ["pool-transfer-unclosed", "Pool view moved by buffer.transfer() survives dropping the pool unclosed and GC"],
  ["arena-transfer", "Arena view moved by buffer.transfer() survives close, GC and a touch"],
  ["sizeclass-transfer", "SizeClassPool view moved by buffer.transfer() survives close, GC and a touch"],
] as const;

for (const [scenario, name] of TRANSFER_SCENARIOS) {
  adversarial(`${name} (child process)`, () => {
    const { status, signal, output } = runChildProcess(scenario);
    const tail = output.trim().split("\n").slice(-6).join("\n");
    assert.ok(status === 0 && signal === null, `child ${scenario}: status ${status}, signal ${signal}\n${tail}`);
    assert.ok(output.includes(`${scenario} ok`), tail);
  });
}

/**
 * The memory of a fresh region, moved out of its ArrayBuffer; the region is closed unless the
 * scenario says "unclosed".
 */
function movedMemory(scenario: string): Uint8Array {
  const move = (buffer: ArrayBufferLike): ArrayBuffer =>
    scenario.endsWith("clone")
      ? structuredClone(buffer as ArrayBuffer, { transfer: [buffer as ArrayBuffer] })
      : detach(buffer);
  if (scenario.startsWith("arena")) {
    const arena = new Arena({ capacity: 1 << 16 });
    arena.bytes.fill(7, arena.alloc(64), 64);
    const moved = new Uint8Array(move(arena.bytes.buffer));
    arena.close();
    return moved;
  }
  if (scenario.startsWith("sizeclass")) {
    const pool = new SizeClassPool({ capacity: 64 });
    pool.view(pool.alloc(8)).fill(7);
    const moved = new Uint8Array(move(pool.bytesOf(0).buffer));
    pool.close();
    return moved;
  }
  const pool = new Pool({ blockSize: 64, capacity: 64 });
  pool.view(pool.alloc()).fill(7);
  const moved = new Uint8Array(move(pool.bytes.buffer));
  if (!scenario.includes("unclosed")) pool.close();
  return moved;
}

async function transferChild(scenario: string): Promise<void> {
  const settle = async () => {
    for (let round = 0; round < 10; round++) {
      collectGarbage();
      await nextTurn();
    }
  };
  const before = libraryInfo().regionsMapped;
  let moved: Uint8Array | undefined;
  try {
    moved = movedMemory(scenario);
  } catch (error) {
    // A runtime (or the library) that refuses to move native memory out of its buffer is safe.
    console.log(JSON.stringify({ scenario, refused: error instanceof HotpathError ? error.code : foreign(error) }));
    console.log(`${scenario} ok`);
    return;
  }
  await settle();
  const whileHeld = libraryInfo().regionsMapped;
  let sum = 0;
  for (let index = 0; index < moved.length; index += 512) sum += moved[index];
  moved.fill(1);
  sum += moved[moved.length - 1];
  // Drop the moved memory too, let it be collected, then map and use new regions.
  moved = undefined;
  await settle();
  const afterDrop = libraryInfo().regionsMapped;
  using pool = new Pool({ blockSize: 64, capacity: 64 });
  pool.view(pool.alloc()).fill(3);
  console.log(JSON.stringify({ scenario, regionsBefore: before, whileHeld, afterDrop, sum }));
  console.log(`${scenario} ok`);
}

// ---------------------------------------------------------------------------------------------
// Library

/** Rows that call loadLibrary with bad options (each must give INVALID_ARGUMENT or LIBRARY_NOT_FOUND). */
function badLoadOptions(): Row[] {
  return rows([
    ["{ path: 42 }", { path: 42 }],
    ['{ path: "/nonexistent.so" }', { path: "/nonexistent.so" }],
    ['{ path: "" }', { path: "" }],
    ['{ path: "/tmp" } (a directory)', { path: "/tmp" }],
    ['{ path: "/etc/hostname" } (not a library)', { path: "/etc/hostname" }],
    ["{ path: null }", { path: null }],
    ["{ path: Symbol() }", { path: Symbol("path") }],
    ["null", null],
    ["5", 5],
    ['"libhotpath.so"', "libhotpath.so"],
  ], (options) => loadLibrary(options));
}

adversarial("loadLibrary rejects bad options with a HotpathError once loaded and stays usable", () => {
  loadLibrary();
  expectAll(badLoadOptions(), ["INVALID_ARGUMENT", "LIBRARY_NOT_FOUND"]);
  using pool = new Pool({ blockSize: 8, capacity: 4 });
  assert.equal(pool.alloc(), 0);
  assert.equal(typeof nowNs(), "number");
});

adversarial("loadLibrary rejects bad options with a HotpathError in a fresh process (child process)", () => {
  const { status, signal, output } = runChildProcess("library");
  const tail = output.trim().split("\n").slice(-6).join("\n");
  assert.ok(status === 0 && signal === null, `status ${status}, signal ${signal}\n${tail}`);
  const report = JSON.parse(output.trim().split("\n").findLast((line) => line.startsWith("{")) ?? "{}") as {
    misses?: string[];
    usable?: boolean;
  };
  assert.deepEqual(report.misses, []);
  assert.equal(report.usable, true, tail);
});

function libraryChild(): void {
  const accepted = ["INVALID_ARGUMENT", "LIBRARY_NOT_FOUND"];
  const misses = badLoadOptions()
    .map(([label, action]) => [label, outcome(action)])
    .filter(([, got]) => !accepted.includes(got))
    .map(([label, got]) => `${label}: ${got}`);
  const pool = new Pool({ blockSize: 8, capacity: 4 });
  const usable = pool.alloc() === 0 && typeof nowNs() === "number";
  pool.close();
  console.log(JSON.stringify({ misses, usable }));
}

// ---------------------------------------------------------------------------------------------
// Child entry point: run one scenario at top level and exit, registering no test.

if (CHILD !== undefined) {
  if (CHILD === "library") libraryChild();
  else await transferChild(CHILD);
  process.exit(0);
}
