/**
 * Adversarial inputs for every public function and option of Ring and its sides: each bad value
 * must give a HotpathError with its stable code (never a plain TypeError, never a crash, never a
 * hang, never a silent acceptance), on Deno and on Bun. Tables of [label, action] rows report
 * every miss at once.
 *
 * Named ring files are untrusted input too: hostile files (truncated, padded, another format or
 * version, geometry fields that disagree, modes others may use, links, FIFOs) must be refused at
 * `Ring.open` with a clear code. They live in a private directory of mode 0700, removed in a
 * `finally`: in /dev/shm where node:fs may reach it (Bun), else in the temporary directory (Deno
 * asks for --allow-all before node:fs touches anything under /dev; the library treats both
 * alike). Rings whose shared words are corrupted while open run in a child process (this file
 * with HOTPATH_RING_ADVERSARIAL_CHILD=<scenario>), so a crash or a hang is reported, not fatal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  HotpathError,
  Ring,
  type RingConsumer,
  type RingProducer,
  type Schema,
  SharedPool,
  struct,
  StructLayout,
} from "../mod.ts";
import { LIMITS, RING_HEADER, RING_ROLE } from "../ffi/abi.generated.ts";
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
import {
  expectAll as expectAllOf,
  foreign,
  NOT_INTEGERS,
  NOT_INTEGERS_OR_UNDEFINED,
  outcome as outcomeOf,
  type Row,
  rows,
  withShifting,
} from "./hostile_values.ts";
import { random32 } from "./random.ts";

const CHILD = process.env.HOTPATH_RING_ADVERSARIAL_CHILD;
const KINDS = ["spsc", "mpmc", "broadcast"] as const;

/** Registers a test, unless this module runs as a child scenario. */
function adversarial(name: string, body: TestBody): void {
  if (CHILD === undefined) test(name, body);
}

/** Closes (and, if named, unlinks) a Ring a row was not supposed to make. */
function dispose(value: unknown): void {
  if (!(value instanceof Ring)) return;
  if (value.name !== "") Ring.unlink({ path: value.name });
  value.close();
}

function outcome(action: () => unknown): string {
  return outcomeOf(action, dispose);
}

function expectAll(table: readonly Row[], expected: string | readonly string[]): void {
  expectAllOf(table, expected, dispose);
}

/** What an action that may return a Promise did (a synchronous throw counts the same). */
async function asyncOutcome(action: () => unknown): Promise<string> {
  try {
    const value = await action();
    return `returned ${String(value)}`;
  } catch (error) {
    return error instanceof HotpathError ? error.code : foreign(error);
  }
}

function uniqueName(label: string): string {
  return `hotpath-ring-adv-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// Creation options

type Values = readonly (readonly [string, unknown])[];

const BAD_NAMES: Values = [
  ['""', ""],
  ['"."', "."],
  ['".."', ".."],
  ['"../escape"', "../escape"],
  ['"a/b"', "a/b"],
  ['"/absolute"', "/absolute"],
  ['"a\\0b"', "a\0b"],
  ['"a b"', "a b"],
  ['"-dash"', "-dash"],
  ['"é"', "\u00e9"],
  ["201 characters", "x".repeat(201)],
  ["5", 5],
  ["null", null],
  ["Symbol()", Symbol("name")],
  ["1n", 1n],
  ['new String("ok")', new String("ok")],
];

const BAD_PATHS: Values = [
  ['""', ""],
  ['"relative"', "relative"],
  ['"dev/shm/x"', "dev/shm/x"],
  ['"/dev/shm/a\\0b"', "/dev/shm/a\0b"],
  ["256 bytes", "/" + "x".repeat(255)],
  ["257 bytes of 129 characters", "/" + "\u00e9".repeat(128)],
  ["5", 5],
  ["null", null],
  ["Symbol()", Symbol("path")],
  ['new String("/dev/shm/x")', new String("/dev/shm/x")],
];

/** A StructLayout subclass that says it is 8 bytes (its fields take 24). */
class SmallLayout extends StructLayout<{ a: "f64"; b: "f64"; c: "u32" }> {
  constructor() {
    super({ a: "f64", b: "f64", c: "u32" });
    Object.defineProperty(this, "size", { value: 8 });
  }
}

const NOT_LAYOUTS: Values = [
  ...NOT_INTEGERS,
  ["undefined", undefined],
  ["{ size: 8, align: 8 }", { size: 8, align: 8 }],
  ["Object.create(StructLayout.prototype)", Object.create(StructLayout.prototype)],
  ["the StructLayout class", StructLayout],
  ["a Proxy of a layout", new Proxy(struct({ a: "f64" }), {})],
  ["0", 0],
  ["-0", -0],
  ["-8", -8],
  ["65537", LIMITS.ringSlotBytesMax + 1],
  ["2**32", 2 ** 32],
  ["a layout of 65537 bytes", struct({ bytes: ["u8", LIMITS.ringSlotBytesMax + 1] })],
];

adversarial("Ring.spsc, mpmc and broadcast refuse every bad option with INVALID_ARGUMENT and create nothing", () => {
  for (const kind of KINDS) {
    const create = (options: unknown) => Ring[kind](options as never);
    const option = (key: string) => (value: unknown) => create({ slot: 8, capacity: 4, [key]: value });
    const counts: Values = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["1", 1], ["-4", -4], [
      "2**53",
      2 ** 53,
    ]];
    const table: Row[] = [
      ...rows([["null", null], ["5", 5], ['"options"', "options"], ["undefined", undefined]], create, "options "),
      ...rows(NOT_LAYOUTS, option("slot"), "slot "),
      ...rows(
        [...counts, ["3", 3], ["6", 6], ["2**24 + 1", 2 ** 24 + 1], ["2**25", 2 ** 25]],
        option("capacity"),
        "cap ",
      ),
      ...rows(BAD_NAMES, option("name"), "name "),
      ...rows(BAD_PATHS, option("path"), "path "),
      ["name and path", () => create({ slot: 8, capacity: 4, name: uniqueName("both"), path: "/tmp/x" })],
      ...rows(
        kind === "spsc"
          ? [["3", 3], ["16", 16], ["1", 1]]
          : [...counts.filter(([label]) => label !== "undefined"), ["65", 65]],
        option("maxRoles"),
        "roles ",
      ),
      ...rows(
        kind === "broadcast" ? [['"Drop"', "Drop"], ['""', ""], ["null", null], ["1", 1]] : [['"block"', "block"]],
        option("onSlowConsumer"),
        "onSlowConsumer ",
      ),
      ...rows(
        kind === "mpmc" ? [...NOT_INTEGERS, ["0", 0], ["-1", -1], ["3600001", 3_600_001]] : [["1000", 1000]],
        option("unblockTimeoutMs"),
        "unblockTimeoutMs ",
      ),
    ];
    expectAll(table, "INVALID_ARGUMENT");
  }
});

adversarial("Ring options are read once each: getters that change or throw cannot slip a value past the checks", () => {
  const base = { slot: 8, capacity: 4 };
  expectAll([
    ["capacity 4 then 3", () => Ring.spsc(withShifting(base, "capacity", [4, 3]) as never).close()],
    ["slot 8 then 0", () => Ring.mpmc(withShifting(base, "slot", [8, 0]) as never).close()],
  ], "returned undefined");
  expectAll([
    ["capacity 3 then 4", () => Ring.spsc(withShifting(base, "capacity", [3, 4]) as never)],
    ["maxRoles 1 then 4", () => Ring.mpmc(withShifting({ ...base, maxRoles: 0 }, "maxRoles", [1, 4]) as never)],
    ...KINDS.filter((kind) => kind !== "broadcast").map((kind) =>
      [`${kind} consumer onSlow "drop" then undefined`, () => {
        using ring = Ring[kind](base);
        return ring.consumer(withShifting({}, "onSlow", ["drop", undefined]));
      }] as const
    ),
  ], "INVALID_ARGUMENT");
  const reads: string[] = [];
  for (const kind of KINDS) {
    using ring = Ring[kind](base);
    const sides: [string, object][] = [["producer", { wait: "spin" }], ["consumer", {
      wait: "spin",
      onSlow: undefined,
    }]];
    for (const [side, options] of sides) {
      const counted = new Map<PropertyKey, number>();
      const proxy = new Proxy(options, {
        get: (target, key) => (counted.set(key, (counted.get(key) ?? 0) + 1), Reflect.get(target, key)),
      });
      (side === "producer" ? ring.producer(proxy as never) : ring.consumer(proxy as never)).close();
      for (const [key, count] of counted) {
        if (count !== 1) reads.push(`${kind} ${side} read ${String(key)} ${count} times`);
      }
    }
  }
  assert.deepEqual(reads, []);
  const boom = new Error("getter boom");
  const throwing = new Proxy({}, {
    get() {
      throw boom;
    },
  });
  using ring = Ring.spsc({ slot: 8, capacity: 4 });
  const cases: Row[] = [
    ["Ring.spsc", () => Ring.spsc(throwing as never)],
    ["Ring.attach descriptor", () => Ring.attach(throwing as never)],
    ["Ring.attach options", () => Ring.attach(ring.share(), throwing as never)],
    ["Ring.open", () => Ring.open(throwing as never)],
    ["Ring.unlink", () => Ring.unlink(throwing as never)],
    ["ring.producer", () => ring.producer(throwing as never)],
    ["ring.consumer", () => ring.consumer(throwing as never)],
  ];
  const misses = cases.map(([label, action]) => [label, outcome(action)]).filter(([, got]) =>
    got !== `Error: ${boom.message}`
  );
  assert.deepEqual(misses, []);
  assert.equal(ring.stats().roles.length, 0, "a failed call left a role taken");
});

adversarial("Ring with a StructLayout subclass that lies about its size never overlaps slots", () => {
  let layout: StructLayout<never>;
  try {
    layout = new SmallLayout() as unknown as StructLayout<never>;
  } catch (error) {
    // StructLayout fixes size as a non-writable own property: the lie fails in its own constructor.
    assert.ok(error instanceof TypeError, `the subclass failed with ${foreign(error)}`);
    return;
  }
  const got = outcome(() => {
    using ring = Ring.spsc({ slot: layout as never, capacity: 4 });
    return ring.slotSize;
  });
  assert.ok(got === "returned 24" || got === "INVALID_ARGUMENT", `a lying layout gave ${got}`);
});

// ---------------------------------------------------------------------------------------------
// Descriptors, attach, open and unlink

adversarial(
  "Ring.attach refuses descriptors that are not a ring's, forged or from elsewhere, with a stable code",
  () => {
    using ring = Ring.mpmc({ slot: 8, capacity: 4 });
    using pool = new SharedPool({ blockSize: 8, capacity: 4 });
    const good = ring.share();
    const closed = Ring.mpmc({ slot: 8, capacity: 4 });
    const closedDescriptor = closed.share();
    closed.close();
    const forged = (change: Record<string, unknown>) => () => Ring.attach({ ...good, ...change } as never);
    const values = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-1", -1], ["2**31", 2 ** 31]] as const;
    expectAll([
      ...rows([["null", null], ["5", 5], ['"descriptor"', "descriptor"], ["{}", {}]], Ring.attach, "descriptor "),
      ...rows([['"hotpath.SharedPool"', "hotpath.SharedPool"], ["undefined", undefined]], (kind) => forged({ kind })()),
      ...rows([["2", 2], ['"1"', "1"], ["undefined", undefined]], (version) => forged({ version })(), "version "),
      ...rows(values, (pid) => forged({ pid })(), "pid "),
      ...rows(values, (id) => forged({ id })(), "id "),
      ...rows(BAD_PATHS.filter(([label]) => label !== "null"), (path) => forged({ path })(), "path "),
      ...rows([["1.5", 1.5], ["{}", {}]], (slot) => Ring.attach(good, { slot } as never), "slot "),
    ], "INVALID_ARGUMENT");
    expectAll([
      ["a closed ring's descriptor", () => Ring.attach(closedDescriptor)],
      ["a SharedPool's id", () => Ring.attach({ ...good, id: pool.share().id })],
      ["an id never handed out", () => Ring.attach({ ...good, id: good.id + 7 })],
      ["another generation of a live id", () => Ring.attach({ ...good, id: good.id + (1 << 14) })],
      ["another process, anonymous memory", () => Ring.attach({ ...good, pid: process.pid + 1 })],
    ], "CLOSED");
    assert.equal(
      outcome(() => Ring.attach({ ...good, pid: process.pid + 1, path: "/tmp/hotpath-absent" })),
      "NOT_FOUND",
    );
    assert.equal(outcome(() => Ring.attach(good, { slot: struct({ a: ["f64", 2] }) })), "INCOMPATIBLE");
    assert.equal(ring.stats().roles.length, 0);
  },
);

adversarial("Ring.attach believes a descriptor's path only when it names the very ring the id does", () => {
  const name = uniqueName("path");
  using named = Ring.spsc({ slot: 8, capacity: 4, name });
  try {
    using anonymous = Ring.spsc({ slot: 8, capacity: 4 });
    using attached = Ring.attach({ ...anonymous.share(), path: named.name });
    assert.equal(attached.name, "", "the forged path was taken as the ring's name");
    attached.producer();
    assertThrowsCode(() => anonymous.producer(), "LIMIT_REACHED"); // it is the anonymous ring
    assert.equal(named.stats().producers, 0);
    assertThrowsCode(() => attached.unlink(), "INVALID_ARGUMENT");
  } finally {
    Ring.unlink({ name });
  }
});

function assertThrowsCode(action: () => unknown, code: string): void {
  assert.equal(outcome(action), code);
}

adversarial("Ring.open and Ring.unlink refuse bad names and paths, and give NOT_FOUND for absent ones", () => {
  for (const [label, call] of [["open", Ring.open], ["unlink", Ring.unlink]] as const) {
    expectAll([
      ...rows([["null", null], ["5", 5], ["{}", {}]], call, `${label} options `),
      ...rows(BAD_NAMES, (name) => call({ name }), `${label} name `),
      ...rows(BAD_PATHS, (path) => call({ path }), `${label} path `),
      [`${label} name and path`, () => call({ name: "a", path: "/tmp/a" })],
    ], "INVALID_ARGUMENT");
    expectAll([[`${label} absent`, () => call({ name: uniqueName("absent") })]], "NOT_FOUND");
  }
  expectAll(rows(NOT_LAYOUTS.slice(0, 6), (slot) => Ring.open({ name: uniqueName("x"), slot } as never)), [
    "INVALID_ARGUMENT",
    "NOT_FOUND",
  ]);
});

adversarial("Ring.open of a SharedPool's file and SharedPool.open of a ring's give INCOMPATIBLE", () => {
  const poolName = uniqueName("pool");
  const ringName = uniqueName("ring");
  const pool = new SharedPool({ blockSize: 8, capacity: 4, name: poolName });
  const ring = Ring.broadcast({ slot: 8, capacity: 4, name: ringName });
  try {
    assert.deepEqual(
      [outcome(() => Ring.open({ name: poolName })), outcome(() => SharedPool.open({ name: ringName }))],
      [
        "INCOMPATIBLE",
        "INCOMPATIBLE",
      ],
    );
  } finally {
    pool.close();
    ring.close();
    SharedPool.unlink({ name: poolName });
    Ring.unlink({ name: ringName });
  }
});

// ---------------------------------------------------------------------------------------------
// Sides

/** Values that are not slots of a ring of `capacity`. */
function badSlots(capacity: number): (readonly [string, unknown])[] {
  return [...NOT_INTEGERS_OR_UNDEFINED, ["-1", -1], ["capacity", capacity], ["2**32", 2 ** 32], ["-2**31", -(2 ** 31)]];
}

const BAD_COUNTS = [...NOT_INTEGERS_OR_UNDEFINED, ["0", 0], ["-0", -0], ["-1", -1], [
  "2**30 + 1",
  2 ** 30 + 1,
]] as const;
const BAD_TIMEOUTS = [
  ...NOT_INTEGERS.filter(([label]) => label !== "Infinity" && label !== "1.5"),
  ["-1", -1],
  ["-0.5", -0.5],
  ['"0"', "0"],
] as const;

adversarial("Ring.producer and Ring.consumer refuse bad options with INVALID_ARGUMENT and take no role", () => {
  for (const kind of KINDS) {
    using ring = Ring[kind]({ slot: 8, capacity: 4 });
    const waits = [["null", null], ['"Spin"', "Spin"], ['""', ""], ["1", 1], ["Symbol()", Symbol("wait")]] as const;
    const onSlow: Values = kind === "broadcast" ? [['"Drop"', "Drop"], ["1", 1], ["null", null]] : [['"drop"', "drop"]];
    expectAll([
      ...rows([["null", null], ["5", 5], ['"park"', "park"]], (options) => ring.producer(options), `${kind} producer `),
      ...rows(waits, (wait) => ring.producer({ wait } as never), `${kind} producer wait `),
      ...rows(waits, (wait) => ring.consumer({ wait } as never), `${kind} consumer wait `),
      ...rows(onSlow, (value) => ring.consumer({ onSlow: value } as never), `${kind} consumer onSlow `),
    ], "INVALID_ARGUMENT");
    assert.equal(ring.stats().roles.length, 0, `${kind}: a refused side kept its role`);
  }
});

adversarial(
  "RingProducer and RingConsumer refuse bad counts, timeouts and callbacks with INVALID_ARGUMENT",
  async () => {
    for (const kind of KINDS) {
      using ring = Ring[kind]({ slot: 8, capacity: 4 });
      const producer = ring.producer();
      const consumer = ring.consumer();
      expectAll([
        ...rows(BAD_COUNTS, (count) => producer.tryClaimBatch(count), `${kind} tryClaimBatch `),
        ...rows(BAD_COUNTS, (count) => consumer.peekBatch(count), `${kind} peekBatch `),
        ...rows(BAD_COUNTS, (count) => consumer.drain(count, () => {}), `${kind} drain max `),
        ...rows([["null", null], ["{}", {}], ['"fn"', "fn"]], (fn) => consumer.drain(1, fn), `${kind} drain fn `),
        ...rows(BAD_TIMEOUTS, (timeout) => producer.claim(timeout), `${kind} claim `),
        ...rows(BAD_TIMEOUTS, (timeout) => consumer.poll(timeout), `${kind} poll `),
      ], "INVALID_ARGUMENT");
      const misses: string[] = [];
      for (const [label, timeout] of BAD_TIMEOUTS) {
        const got = await asyncOutcome(() => consumer.pollAsync(timeout as never));
        if (got !== "INVALID_ARGUMENT") misses.push(`${kind} pollAsync ${label}: ${got}`);
      }
      assert.deepEqual(misses, []);
      assert.deepEqual([producer.tryClaim(), consumer.tryPeek()], [0, -1], `${kind}: the refusals changed the ring`);
    }
  },
);

adversarial("RingProducer/RingConsumer offsetOf and at refuse every non-slot with OUT_OF_RANGE", () => {
  for (const kind of KINDS) {
    using ring = Ring[kind]({ slot: struct({ a: "f64" }), capacity: 4 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    expectAll([
      ...rows(badSlots(4), (slot) => producer.offsetOf(slot), `${kind} producer offsetOf `),
      ...rows(badSlots(4), (slot) => consumer.offsetOf(slot), `${kind} consumer offsetOf `),
      ...rows(badSlots(4), (slot) => producer.at(slot), `${kind} producer at `),
      ...rows(badSlots(4), (slot) => consumer.at(slot), `${kind} consumer at `),
    ], "OUT_OF_RANGE");
  }
});

/** Every call of a side, with harmless arguments. */
function sideCalls<S extends Schema>(label: string, producer: RingProducer<S>, consumer: RingConsumer<S>): Row[] {
  return [
    [`${label} tryClaim`, () => producer.tryClaim()],
    [`${label} tryClaimBatch`, () => producer.tryClaimBatch(1)],
    [`${label} claim`, () => producer.claim(0)],
    [`${label} commit`, () => producer.commit()],
    [`${label} producer offsetOf`, () => producer.offsetOf(1)],
    [`${label} producer at`, () => producer.at(1)],
    [`${label} tryPeek`, () => consumer.tryPeek()],
    [`${label} peekBatch`, () => consumer.peekBatch(1)],
    [`${label} release`, () => consumer.release()],
    [`${label} drain`, () => consumer.drain(1, () => {})],
    [`${label} poll`, () => consumer.poll(0)],
    [`${label} consumer offsetOf`, () => consumer.offsetOf(1)],
    [`${label} consumer at`, () => consumer.at(1)],
  ];
}

adversarial("Ring sides after close throw CLOSED from every method", async () => {
  for (const kind of KINDS) {
    const ring = Ring[kind]({ slot: struct({ a: "f64" }), capacity: 4 });
    const sides = [ring.producer(), ring.consumer()] as const;
    sides[0].close();
    sides[1].close();
    const again = [ring.producer(), ring.consumer()] as const;
    ring.close();
    expectAll(
      [...sideCalls(`${kind} side closed:`, ...sides), ...sideCalls(`${kind} ring closed:`, ...again)],
      "CLOSED",
    );
    for (const consumer of [sides[1], again[1]]) {
      assert.equal(await asyncOutcome(() => consumer.pollAsync(0)), "CLOSED", `${kind} pollAsync`);
    }
  }
});

adversarial("RingProducer.commit and RingConsumer.release after close throw CLOSED and publish nothing", () => {
  for (const kind of KINDS) {
    using ring = Ring[kind]({ slot: 8, capacity: 4 });
    const producer = ring.producer();
    const consumer = ring.consumer();
    producer.tryClaim();
    producer.close();
    const next = ring.producer();
    assert.equal(outcome(() => producer.commit()), "CLOSED", `${kind}: commit after close`);
    assert.equal(ring.stats().pushed, 0, `${kind}: a closed producer published its claim`);
    next.tryClaim();
    next.commit();
    consumer.tryPeek();
    consumer.close();
    const reader = ring.consumer();
    assert.equal(outcome(() => consumer.release()), "CLOSED", `${kind}: release after close`);
    if (kind !== "mpmc") assert.equal(reader.tryPeek() >= 0, kind === "spsc", `${kind}: the release moved the reader`);
  }
});

const MISUSE = new Error("fn misused the consumer");
const MISUSES: readonly (readonly [string, (consumer: RingConsumer) => void])[] = [
  ["releases, then throws", (consumer) => {
    consumer.release();
    throw MISUSE;
  }],
  ["releases", (consumer) => consumer.release()],
  ["drains again", (consumer) => void consumer.drain(8, () => {})],
  ["closes the consumer", (consumer) => consumer.close()],
];

adversarial(
  "RingConsumer.drain whose fn releases, closes or drains again never moves the shared tail backwards",
  () => {
    const misses: string[] = [];
    for (const kind of KINDS) {
      for (const [label, misuse] of MISUSES) {
        using ring = Ring[kind]({ slot: 8, capacity: 8 });
        const producer = ring.producer();
        const consumer = ring.consumer();
        for (let i = 0; i < 5; i++) {
          producer.tryClaim();
          producer.commit();
        }
        let highest = 0;
        const got = outcome(() =>
          consumer.drain(3, () => {
            try {
              misuse(consumer);
            } finally {
              highest = Math.max(highest, ring.stats().popped);
            }
          })
        );
        const popped = ring.stats().popped;
        if (popped < highest) {
          misses.push(
            `${kind}, fn ${label} (${got}): popped went from ${highest} back to ${popped}`,
          );
        }
      }
    }
    assert.deepEqual(misses, []);
  },
);

// ---------------------------------------------------------------------------------------------
// Hostile ring files at open

const H = RING_HEADER;
/** The template ring: a broadcast ring (every field of the header means something), used a little. */
const TEMPLATE = { slot: 24, capacity: 8, maxRoles: 4, onSlowConsumer: "drop" } as const;

/** The bytes of a valid, closed ring file (created in `directory`, then removed). */
function templateBytes(directory: string): Uint8Array {
  const path = join(directory, "template");
  const ring = Ring.broadcast({ ...TEMPLATE, path });
  try {
    const producer = ring.producer();
    for (let i = 0; i < 11; i++) {
      producer.tryClaim();
      producer.commit();
    }
  } finally {
    ring.close();
  }
  const bytes = new Uint8Array(readFileSync(path));
  rmSync(path);
  return bytes;
}

/** What `Ring.open({ path })` did ("opened" when it did; the ring is closed again). */
function openOutcome(path: string): string {
  const got = outcome(() => {
    using ring = Ring.open({ path });
    return ring.kind;
  });
  return got === 'returned "broadcast"' ? "opened" : got;
}

/** Header fields (u32) that describe the geometry or are reserved: any change is CORRUPTED. */
const GEOMETRY_FIELDS = [
  "kind",
  "headerBytes",
  "slotBytes",
  "slotAlign",
  "capacity",
  "rolesMax",
  "policy",
  "unblockTimeoutMs",
  "slotStride",
  "payloadOffset",
  "rolesOffset",
  "slotsOffset",
  "layoutHash",
  "reserved",
] as const;

adversarial("Ring.open of a byte-exact copy of a valid ring file opens it (the forging is sound)", () => {
  inDirectory("hotpath-ring-adv-", (directory) => {
    using ring = Ring.open({ path: forge(directory, templateBytes(directory)) });
    assert.deepEqual([ring.kind, ring.capacity, ring.slotSize, ring.stats().pushed], ["broadcast", 8, 24, 11]);
    const producer = ring.producer();
    const consumer = ring.consumer();
    assert.equal(producer.tryClaim(), 3);
    producer.commit();
    assert.equal(consumer.tryPeek(), 3);
  });
});

adversarial("Ring.open refuses truncated and padded files with CORRUPTED", () => {
  inDirectory("hotpath-ring-adv-", (directory) => {
    const template = templateBytes(directory);
    const size = template.length;
    expectOpen(
      directory,
      [
        ["0 bytes", new Uint8Array(0)],
        ["1 byte", template.subarray(0, 1)],
        ["half the header", template.subarray(0, H.size >> 1)],
        ["the header but one byte", template.subarray(0, H.size - 1)],
        ["the header only", template.subarray(0, H.size)],
        ["the header and roles only", template.subarray(0, H.size + TEMPLATE.maxRoles * RING_ROLE.size)],
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

adversarial("Ring.open refuses another format, ABI or layout version with INCOMPATIBLE", () => {
  inDirectory("hotpath-ring-adv-", (directory) => {
    const template = templateBytes(directory);
    const word = (offset: number, value: number) => patched(template, (view) => view.setUint32(offset, value, true));
    expectOpen(
      directory,
      [
        ["zeros of the right size", new Uint8Array(template.length)],
        ["0xff bytes of the right size", new Uint8Array(template.length).fill(0xff)],
        ["magic of a SharedPool", word(H.magic, LIMITS.sharedMagicLow)],
        ["magic's low half off by one", word(H.magic, LIMITS.ringMagicLow + 1)],
        ["magic's high half off by one", word(H.magic + 4, LIMITS.ringMagicHigh + 1)],
        ...[0, LIMITS.abiVersion - 1, LIMITS.abiVersion + 1, 0xffffffff].map((value) =>
          [`ABI version ${value}`, word(H.abiVersion, value)] as const
        ),
        ...[0, LIMITS.ringLayoutVersion + 1, 0xffffffff].map((value) =>
          [`layout version ${value}`, word(H.layoutVersion, value)] as const
        ),
      ],
      "INCOMPATIBLE",
      openOutcome,
    );
  });
});

adversarial("Ring.open refuses a ring file not ready or whose fields disagree with its geometry with CORRUPTED", () => {
  inDirectory("hotpath-ring-adv-", (directory) => {
    const template = templateBytes(directory);
    const variants = corruptedVariants(template, H, LIMITS.ringReady, GEOMETRY_FIELDS, LIMITS.pageBytes);
    expectOpen(directory, variants, "CORRUPTED", openOutcome);
  });
});

adversarial("Ring.open refuses files others may use, links, FIFOs, directories and devices", () => {
  inDirectory("hotpath-ring-adv-", (directory) => {
    const template = templateBytes(directory);
    const valid = forge(directory, template);
    const link = join(directory, "link");
    symlinkSync(valid, link);
    const subdirectory = join(directory, "subdirectory");
    mkdirSync(subdirectory, { mode: 0o700 });
    const expectations: [string, string, readonly string[]][] = [
      ...[0o644, 0o660, 0o604, 0o606, 0o666, 0o777].map((mode) =>
        [`mode ${mode.toString(8)}`, forge(directory, template, mode), ["PERMISSION_DENIED"]] as [
          string,
          string,
          string[],
        ]
      ),
      ["mode 700 (owner only)", forge(directory, template, 0o700), ["opened"]],
      ["a symlink to a valid ring", link, ["PERMISSION_DENIED", "INVALID_ARGUMENT"]],
      ["a directory", subdirectory, ["INVALID_ARGUMENT"]],
      ["a path through a regular file", join(valid, "child"), ["INVALID_ARGUMENT", "NOT_FOUND"]],
      ["/dev/null", "/dev/null", ["INVALID_ARGUMENT", "PERMISSION_DENIED"]],
      ["/proc/self/status", "/proc/self/status", ["INVALID_ARGUMENT", "PERMISSION_DENIED"]],
      ["an absent file", join(directory, "absent"), ["NOT_FOUND"]],
    ];
    const fifo = join(directory, "fifo");
    if (spawnSync("mkfifo", ["-m", "600", fifo]).status === 0) {
      expectations.push(["a FIFO", fifo, ["INVALID_ARGUMENT"]]);
    }
    const misses = expectations
      .map(([label, path, accepted]) => [label, openOutcome(path), accepted] as const)
      .filter(([, got, accepted]) => !accepted.includes(got))
      .map(([label, got]) => `${label}: ${got}`);
    assert.deepEqual(misses, []);
    assert.deepEqual(new Uint8Array(readFileSync(valid)), template, "opening through a link changed the ring");
    const create = (path: string) => outcome(() => Ring.spsc({ slot: 8, capacity: 4, path }));
    assert.deepEqual([create(valid), create(link), create(subdirectory)], [
      "ALREADY_EXISTS",
      "ALREADY_EXISTS",
      "ALREADY_EXISTS",
    ]);
    assert.deepEqual(new Uint8Array(readFileSync(valid)), template, "a refused creation wrote over the ring");
  });
});

// ---------------------------------------------------------------------------------------------
// Rings whose shared words are corrupted while open: child processes

const thisFile = fileURLToPath(import.meta.url);

/** Runs this file as a script with HOTPATH_RING_ADVERSARIAL_CHILD=`scenario`; its misses, or why it failed. */
function runScenario(scenario: string): { misses: string[] | undefined; failure: string | undefined } {
  const directory = privateDirectory("hotpath-ring-adv-");
  try {
    const args = runtime === "deno"
      ? ["run", "--allow-ffi", "--allow-read", "--allow-env", "--allow-write", thisFile]
      : [thisFile];
    const result = spawnSync(process.execPath, args, {
      env: { ...process.env, HOTPATH_RING_ADVERSARIAL_CHILD: scenario, HOTPATH_RING_ADVERSARIAL_DIRECTORY: directory },
      encoding: "utf8",
      timeout: 60_000,
    });
    const tail = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-8).join("\n");
    const line = (result.stdout ?? "").split("\n").findLast((text) => text.startsWith("{"));
    const failure = result.status === 0 && result.signal === null
      ? undefined
      : `the child ${scenario} ended with status ${result.status}, signal ${result.signal} (a hang: SIGTERM)\n${tail}`;
    return { misses: line === undefined ? undefined : (JSON.parse(line) as { misses: string[] }).misses, failure };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const SCENARIOS = [
  ["lagging", "MPMC sides over a region whose head or tail lags its turns give CORRUPTED, never hang"],
  ["garbage", "random words written over a live ring's shared state give values or HotpathErrors, never a hang"],
] as const;

for (const [scenario, description] of SCENARIOS) {
  adversarial(`Ring: ${description} (child process)`, () => {
    const { misses, failure } = runScenario(scenario);
    assert.equal(failure, undefined, failure);
    assert.deepEqual(misses, [], `scenario ${scenario}`);
  });
}

/** A named ring in the child's directory, and a writer of its words through the file (MAP_SHARED). */
function liveRing(
  kind: (typeof KINDS)[number],
  label: string,
): { ring: Ring; poke(offset: number, value: number): void } {
  const path = join(process.env.HOTPATH_RING_ADVERSARIAL_DIRECTORY!, `${kind}-${label}`);
  const ring = Ring[kind]({ slot: 8, capacity: 4, path });
  const poke = (offset: number, value: number) => {
    const file = openSync(path, "r+");
    try {
      writeSync(file, new Uint8Array(new Uint32Array([value >>> 0]).buffer), 0, 4, offset);
    } finally {
      closeSync(file);
    }
  };
  return { ring, poke };
}

/** Outcomes of the garbage scenario's calls, by "call outcome": printed, to show what it reached. */
const tally: Record<string, number> = {};

/** Records a miss unless `action` returns or throws one of `codes`. */
function expectOutcome(misses: string[], label: string, name: string, action: () => unknown, codes: readonly string[]) {
  const got = outcome(action);
  if (!got.startsWith("returned") && !codes.includes(got)) misses.push(`${label}: ${got}`);
  const key = `${name} ${got.startsWith("returned") ? "value" : got}`;
  tally[key] = (tally[key] ?? 0) + 1;
}

function laggingScenario(misses: string[]): void {
  const { ring, poke } = liveRing("mpmc", "lagging");
  const producer = ring.producer();
  const consumer = ring.consumer();
  producer.tryClaim();
  producer.commit();
  consumer.tryPeek();
  consumer.release();
  poke(H.head, 0); // slot 0's turn is 4: the head says 0
  const claimed = outcome(() => producer.tryClaim());
  if (claimed !== "CORRUPTED") misses.push(`head lags: tryClaim gave ${claimed}, not CORRUPTED`);
  poke(H.head, 1);
  producer.tryClaim();
  producer.commit(); // position 1 committed: slot 1's turn is 2
  poke(H.tail, 0); // slot 0's turn is 4 (released): the tail says 0
  const peeked = outcome(() => consumer.tryPeek());
  if (peeked !== "CORRUPTED") misses.push(`tail lags: tryPeek gave ${peeked}, not CORRUPTED`);
  ring.close();
}

const ANY_CODE = ["CORRUPTED", "LIMIT_REACHED", "INVALID_STATE", "CLOSED"] as const;

/** Seeded rounds of "write one hostile word into the ring's shared state, then make one call". */
function garbageScenario(misses: string[]): void {
  for (let seed = 1; seed <= 4; seed++) {
    for (const kind of KINDS) {
      const next = random32(seed * 7919 + kind.length);
      const { ring, poke } = liveRing(kind, `garbage-${seed}`);
      let producer = ring.producer({ wait: "spin" });
      let consumer = ring.consumer({ wait: "spin" });
      const end = H.size + RING_ROLE.size * (kind === "spsc" ? 2 : 16) + 4 * 16 * 4;
      for (let step = 0; step < 300; step++) {
        const values = [0, 1, 2, 3, 4, 5, 0x7fffffff, 0x80000000, 0xffffffff, next()];
        poke((H.head + (next() % (end - H.head))) & ~3, values[next() % values.length]);
        const calls: [string, () => unknown][] = [
          ["tryClaim+commit", () => producer.tryClaim() >= 0 && producer.commit()],
          ["tryClaimBatch+commit", () => producer.tryClaimBatch(3) > 0 && producer.commit()],
          ["claim(0)", () => producer.claim(0) >= 0 && producer.commit()],
          ["tryPeek+release", () => consumer.tryPeek() >= 0 && consumer.release()],
          ["drain", () => consumer.drain(4, () => {})],
          ["poll(0)", () => consumer.poll(0)],
          ["stats", () => ring.stats()],
          ["new producer", () => (producer.close(), producer = ring.producer({ wait: "spin" }))],
          ["new consumer", () => (consumer.close(), consumer = ring.consumer({ wait: "spin" }))],
          ["open", () => Ring.open({ path: ring.name }).close()],
        ];
        const [name, call] = calls[next() % calls.length];
        expectOutcome(misses, `${kind} seed ${seed} step ${step} ${name}`, name, call, ANY_CODE);
      }
      ring.close();
    }
  }
}

if (CHILD !== undefined) {
  const misses: string[] = [];
  const scenarios: Record<string, (misses: string[]) => void> = { lagging: laggingScenario, garbage: garbageScenario };
  scenarios[CHILD](misses);
  console.log(JSON.stringify({ scenario: CHILD, misses: misses.slice(0, 40), total: misses.length, tally }));
  process.exit(0);
}
