/**
 * Placement of every region kind: bound to a node, its pages are on that node (the kernel
 * says, through move_pages); a node that does not exist is a clear error; each policy
 * resolves as documented; huge pages and locks are what /proc/self/smaps reports, and a huge
 * page request that could not be met is counted as a fallback, never hidden.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Arena, HotpathError, numa, type Placement, Pool, Ring, SharedPool, SizeClassPool } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

type Region = Uint8Array | { readonly bytes: Uint8Array };
type Maker = (options: Record<string, unknown>) => { region: Region; close(): void };

/** One region of each kind, created with extra options. */
const MAKERS: [string, Maker][] = [
  ["Pool", (options) => wrap(new Pool({ blockSize: 64, capacity: 20_000, ...options }))],
  ["growing Pool", (options) => {
    const pool = new Pool({ blockSize: 64, capacity: 1000, grow: { chunk: 1000, maxCapacity: 8000 }, ...options });
    for (let index = 0; index < 2500; index++) pool.alloc(); // grows twice: new pages follow the policy
    return wrap(pool);
  }],
  ["Arena", (options) => wrap(new Arena({ capacity: 1 << 20, ...options }))],
  ["SizeClassPool class", (options) => {
    const pool = new SizeClassPool({ capacity: 4096, ...options });
    return { region: pool.bytesOf(pool.alloc(100)), close: () => pool.close() };
  }],
  ["SharedPool", (options) => wrap(new SharedPool({ blockSize: 64, capacity: 4096, ...options }))],
  ["named SharedPool", (options) => {
    const name = `hotpath-test-placed-${crypto.randomUUID()}`;
    const pool = new SharedPool({ blockSize: 64, capacity: 4096, name, ...options });
    return { region: pool, close: () => (pool.close(), SharedPool.unlink({ name })) };
  }],
  ["Ring", (options) => {
    const ring = Ring.spsc({ slot: 64, capacity: 4096, ...options });
    const producer = ring.producer();
    return { region: producer, close: () => ring.close() };
  }],
];

function wrap(object: Region & { close(): void }) {
  return { region: object, close: () => object.close() };
}

const memoryNodes = () => numa.topology().nodes.filter((node) => node.memoryBytes > 0).map((node) => node.id);

test("a region bound to node 0 reports all its pages on node 0, for every region kind", () => {
  for (const [kind, make] of MAKERS) {
    const made = make({ placement: { node: 0 } });
    try {
      const report = numa.placementOf(made.region);
      assert.deepEqual(report.requested?.placement, { node: 0, strict: true }, kind);
      assert.equal(report.requested?.policy, "bind", kind);
      assert.deepEqual(report.requested?.nodes, [0], kind);
      const { byNode, notPresent, other, sampled } = report.nodes;
      const placed = sampled - notPresent;
      assert.ok(placed > 0, `${kind}: pre-faulted pages are present`);
      assert.equal(byNode[0], placed, `${kind}: every present page on node 0 (${JSON.stringify(report.nodes)})`);
      assert.equal(other, 0, kind);
      assert.equal(report.fallback.pagesOffNode, 0, kind);
    } finally {
      made.close();
    }
  }
});

test("strict placement on a node that does not exist is INVALID_ARGUMENT naming the node, for every kind", () => {
  const missing = Math.max(...numa.topology().nodes.map((node) => node.id)) + 1;
  for (const [, make] of MAKERS) {
    for (const placement of [{ node: missing }, { node: 63 }, { node: missing, strict: false }]) {
      assertCode(() => make({ placement }), "INVALID_ARGUMENT", `node ${placement.node} does not exist`);
    }
  }
});

test("policies resolve on this machine: local node, strict or preferred, round robin, interleaved", () => {
  const nodes = memoryNodes();
  const local = numa.currentNode();
  const cases: [Placement, string, number[] | undefined][] = [
    ["LocalPreferred", "preferred", undefined],
    ["LocalOnly", "bind", undefined],
    ["Interleaved", "interleave", nodes],
    [{ node: nodes[0], strict: false }, "preferred", [nodes[0]]],
  ];
  for (const [placement, policy, expected] of cases) {
    using pool = new Pool({ blockSize: 64, capacity: 1024, placement });
    const report = numa.placementOf(pool);
    assert.equal(report.requested?.policy, policy, JSON.stringify(placement));
    const asked = expected ?? [nodes.includes(local) ? local : nodes[0]];
    assert.deepEqual(report.requested?.nodes, asked, JSON.stringify(placement));
    assert.equal(report.fallback.pagesOffNode, 0);
  }
  const robin = Array.from({ length: 2 * nodes.length }, () => {
    using pool = new Pool({ blockSize: 64, capacity: 16, placement: "RoundRobin" });
    return numa.placementOf(pool).requested!.nodes[0];
  });
  for (const node of nodes) assert.equal(robin.filter((chosen) => chosen === node).length, 2, `${robin}`);
});

test("the thread's default placement applies to regions that name none, and an explicit one wins", () => {
  assert.equal(numa.defaultPlacement(), undefined);
  try {
    numa.setDefaultPlacement({ node: 0 });
    using defaulted = new Arena({ capacity: 4096 });
    assert.deepEqual(numa.placementOf(defaulted).requested?.placement, { node: 0, strict: true });
    using explicit = new Arena({ capacity: 4096, placement: "Interleaved" });
    assert.equal(numa.placementOf(explicit).requested?.policy, "interleave");
  } finally {
    numa.setDefaultPlacement(undefined);
  }
  using plain = new Arena({ capacity: 4096 });
  assert.equal(numa.placementOf(plain).requested, undefined);
  for (const bad of ["local", 0, { node: -1 }, { node: 0, strict: 1 }, Symbol("x"), 1n, { node: 63 }]) {
    assertCode(() => numa.setDefaultPlacement(bad as never), "INVALID_ARGUMENT");
  }
  assert.equal(numa.defaultPlacement(), undefined);
});

test("transparent huge pages: a large region gets them where the kernel offers them", () => {
  const mode = numa.topology().transparentHugePages;
  const before = numa.fallbacks();
  using pool = new Pool({ blockSize: 4096, capacity: 4096, hugePages: "transparent" }); // 16 MiB
  const report = numa.placementOf(pool);
  assert.equal(report.requested?.hugePages, "transparent");
  assert.equal(report.pageBytes, 4096, "transparent huge pages keep the base page size of the mapping");
  const after = numa.fallbacks();
  assert.equal(after.regions, before.regions + 1);
  if (mode === "always" || mode === "madvise") {
    assert.ok(report.hugePageBytes >= 2 << 20, `THP is ${mode}: ${JSON.stringify(report)}`);
    assert.equal(report.fallback.hugePages, false);
    assert.equal(after.hugePages, before.hugePages);
  } else {
    assert.equal(report.fallback.hugePages, true, `THP is ${mode}: the request falls back`);
    assert.equal(after.hugePages, before.hugePages + 1);
  }
});

test("explicit huge pages come from the reserved pool, or fall back to base pages and are counted", () => {
  const huge = numa.topology().hugePages.find((size) => size.sizeBytes === 2 << 20);
  const before = numa.fallbacks();
  for (const [kind, make] of MAKERS) {
    const made = make({ hugePages: "explicit" });
    try {
      const report = numa.placementOf(made.region);
      assert.equal(report.requested?.hugePages, "explicit", kind);
      if (report.pageBytes === 2 << 20) {
        assert.ok(!kind.startsWith("named"), "a file in /dev/shm cannot be hugetlb");
        assert.ok(report.hugePageBytes >= 2 << 20, kind);
        assert.equal(report.fallback.hugePages, false, kind);
      } else {
        assert.equal(report.pageBytes, 4096, kind);
        assert.equal(report.fallback.hugePages, true, kind);
      }
    } finally {
      made.close();
    }
  }
  const after = numa.fallbacks();
  const fellBack = after.hugePages - before.hugePages;
  // A SizeClassPool is a region per class: count regions, not makers.
  assert.ok(after.regions - before.regions >= MAKERS.length);
  // Without reserved huge pages every request falls back; the named pool always does.
  if ((huge?.free ?? 0) === 0) assert.equal(fellBack, after.regions - before.regions);
  else assert.ok(fellBack >= 1);
});

test("lock: true locks every committed page, and growth locks the new pages too", () => {
  for (const [kind, make] of MAKERS) {
    const made = make({ lock: true });
    try {
      const report = numa.placementOf(made.region);
      assert.equal(report.requested?.lock, true, kind);
      assert.ok(report.lockedBytes > 0, kind);
      assert.ok(report.lockedBytes >= report.residentBytes - (report.includesNeighbours ? 1 << 21 : 0), kind);
    } finally {
      made.close();
    }
  }
});

test("memory options are checked: hostile placements, huge page modes and locks are INVALID_ARGUMENT", () => {
  const bad: Record<string, unknown>[] = [
    { placement: "localPreferred" },
    { placement: "" },
    { placement: 0 },
    { placement: [0] },
    { placement: null },
    { placement: Symbol("node") },
    { placement: 0n },
    { placement: { node: 1.5 } },
    { placement: { node: NaN } },
    { placement: { node: -1 } },
    { placement: { node: 64 } },
    { placement: { node: 0n } },
    { placement: { node: "0" } },
    { placement: { node: 0, strict: "yes" } },
    { placement: {} },
    { hugePages: true },
    { hugePages: "Transparent" },
    { hugePages: 1 },
    { hugePages: null },
    { lock: 1 },
    { lock: "true" },
    { lock: null },
  ];
  for (const [, make] of MAKERS) {
    for (const options of bad) assertCode(() => make(options), "INVALID_ARGUMENT");
  }
  // -0 is node 0; a getter is read once, so it cannot change between the check and the use.
  let reads = 0;
  const lying = {
    get node() {
      return reads++ === 0 ? 0 : 99;
    },
  };
  using pool = new Pool({ blockSize: 8, capacity: 8, placement: lying as never });
  assert.equal(reads, 1);
  assert.deepEqual(numa.placementOf(pool).requested?.nodes, [0]);
  using zero = new Pool({ blockSize: 8, capacity: 8, placement: { node: -0 } });
  assert.deepEqual(numa.placementOf(zero).requested?.nodes, [0]);
});

test("numa.placementOf refuses what is not region memory and answers for any mapped view", () => {
  for (const value of [undefined, null, 1, "pool", {}, { bytes: [1] }, Symbol("x"), 1n]) {
    assertCode(() => numa.placementOf(value as never), "INVALID_ARGUMENT");
  }
  const bytes = new Uint8Array(1 << 16).fill(1);
  const report = numa.placementOf(bytes);
  assert.equal(report.requested, undefined);
  assert.ok(report.residentBytes > 0);
  const pool = new Pool({ blockSize: 64, capacity: 64 });
  const view = pool.bytes;
  pool.close();
  // A closed pool's old view is still mapped (zero pages): a report, never a crash.
  assert.ok(numa.placementOf(view).nodes.pages > 0);
  assert.throws(() => numa.placementOf(pool), HotpathError);
});

test("lock: true past RLIMIT_MEMLOCK is MEMLOCK_LIMIT naming the limit, and leaves nothing behind", () => {
  const limit = 1 << 16;
  const child = [fileURLToPath(new URL("./processes/memlock_child.ts", import.meta.url))];
  const runtime = typeof (globalThis as { Deno?: unknown }).Deno === "object"
    ? [process.execPath, "run", "--allow-ffi", "--allow-read", "--allow-env", ...child]
    : [process.execPath, ...child];
  // Root ignores RLIMIT_MEMLOCK through CAP_IPC_LOCK: the child runs without it.
  const dropLockCapability = 'if [ "$(id -u)" = 0 ]; then exec setpriv --bounding-set=-ipc_lock -- "$@"; fi; exec "$@"';
  const command = ["sh", "-c", dropLockCapability, "sh", "prlimit", `--memlock=${limit}:${limit}`, "--", ...runtime];
  const result = spawnSync(command[0], command.slice(1), { encoding: "utf8", timeout: 60_000 });
  assert.equal(result.error, undefined, `${command.join(" ")}: ${result.error}`);
  assert.equal(result.status, 0, result.stderr);
  const outcomes = JSON.parse(result.stdout.trim().split("\n").pop()!) as Record<string, string>;
  assert.equal(outcomes["small Pool"], "created", "a region under the limit locks");
  assert.equal(outcomes["unlocked Pool"], "created", "a refused lock leaves nothing behind");
  for (const kind of ["Pool", "Arena", "SharedPool", "Ring"]) {
    assert.match(outcomes[kind], /^MEMLOCK_LIMIT: .*RLIMIT_MEMLOCK \(65536 bytes/, kind);
  }
});

test("numa.placementOf reads the intrinsic buffer, and its reports cannot be edited into later ones", () => {
  using pool = new Pool({ blockSize: 64, capacity: 1024, placement: { node: 0 } });
  class Liar extends Uint8Array {
    override get buffer(): ArrayBuffer {
      return pool.bytes.buffer as ArrayBuffer;
    }
  }
  const liar = new Liar(64).fill(1);
  const report = numa.placementOf(liar);
  assert.equal(report.requested, undefined, "the liar's own buffer, not the pool's");
  assert.equal(report.nodes.pages, numa.whereIs(liar).pages);
  const placed = numa.placementOf(pool);
  assert.ok(Object.isFrozen(placed.requested) && Object.isFrozen(placed.requested!.nodes));
  assert.throws(() => (placed.requested!.nodes as number[]).push(7), TypeError);
  assert.deepEqual(numa.placementOf(pool).requested?.nodes, [0]);
  assert.equal(numa.placementOf(pool).fallback.pagesOffNode, 0);
});
