/**
 * Attacks on the monitoring surface: objects whose stats() lies, a publisher closed from inside
 * a pass, names and commands that carry terminal escape sequences into `hotpath top`, its
 * arguments, and a counter directory truncated under a reader in another process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { metricsText, Pool, publishCounters, readCounters, SizeClassPool } from "../mod.ts";
import { openNative } from "../ffi/library.ts";
import { LIMITS } from "../ffi/abi.generated.ts";
import { parseTopArguments } from "../cli/hotpath.ts";
import type { TopView } from "../cli/top_rows.ts";
import { renderTable } from "../cli/top_table.ts";
import { runtime, test } from "./harness.ts";

function privateDirectory(): string {
  return mkdtempSync(join(tmpdir(), "hotpath-test-monitoring-"));
}

/** Objects whose stats() returns null, a number, a SizeClassPool's stats without `total`, or throws from a getter. */
function brokenObjects(): { close(): void }[] {
  const broken = [
    new Pool({ blockSize: 8, capacity: 4, name: "null-stats" }),
    new Pool({ blockSize: 8, capacity: 4, name: "number-stats" }),
    new Pool({ blockSize: 8, capacity: 4, name: "lying-getter" }),
    new SizeClassPool({ capacity: 4 }),
  ];
  const answers: (() => unknown)[] = [
    () => null,
    () => 42,
    () => ({
      get inUse(): number {
        throw new Error("lying getter");
      },
    }),
    () => ({}),
  ];
  broken.forEach((object, index) => Object.defineProperty(object, "stats", { value: answers[index] }));
  return broken;
}

test("metricsText and publishCounters leave out objects whose stats() returns garbage or a throwing getter", () => {
  const directory = privateDirectory();
  const broken = brokenObjects();
  try {
    using good = new Pool({ blockSize: 8, capacity: 4, name: "good" });
    good.alloc();
    const text = metricsText();
    assert.match(text, /hotpath_pool_in_use_blocks\{name="good"\} 1\n/);
    assert.doesNotMatch(text, /null-stats|number-stats|lying-getter/);
    using publisher = publishCounters({ directory, interval: 60_000 });
    const published = readCounters(process.pid, { directory }).objects;
    assert.deepEqual(published.map((object) => object.name), ["good"]);
    assert.equal(published[0].inUse, 1);
    assert.equal(publisher.stats().errors, broken.length);
  } finally {
    for (const object of broken) object.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("CounterPublisher closed from inside a stats() call claims no entry afterwards", () => {
  const directory = privateDirectory();
  const path = new TextEncoder().encode(join(directory, `hotpath-stats-${process.pid}`));
  const symbols = openNative().symbols;
  try {
    const publisher = publishCounters({ directory, interval: 60_000 });
    // A second attachment (as a Worker's would be) keeps the directory after the publisher's detach.
    assert.equal(symbols.hp_stats_attach(path, path.length, null, 0), 2);
    using closer = new Pool({ blockSize: 8, capacity: 4, name: "closer" });
    using later = new Pool({ blockSize: 8, capacity: 4, name: "later" });
    const own = closer.stats.bind(closer);
    Object.defineProperty(closer, "stats", {
      value: () => {
        publisher.close();
        return own();
      },
    });
    assert.throws(() => publisher.publish(), { name: "HotpathError", code: "CLOSED" } as never);
    assert.ok(later.capacity > 0);
    assert.deepEqual(readCounters(process.pid, { directory }).objects.map((object) => object.name), []);
  } finally {
    assert.equal(symbols.hp_stats_detach(), 0);
    rmSync(directory, { recursive: true, force: true });
  }
});

test("hotpath top's table never writes control characters of a name or a command raw", () => {
  const hostile = "\x1b[2J\x1b]0;pwned\x07a\rb\nfake row\x9b31m\x7f\x00";
  for (const color of [false, true]) {
    const screen = renderTable(viewNamed(hostile, `deno run ${hostile}`), { color, refreshMs: 500 });
    const lines = screen.split("\n");
    assert.equal(lines.length, 6, screen); // title, process, blank, column titles, the row, ""
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(screen.replaceAll("\n", ""), /[\x00-\x1f\x7f-\x9f]/, JSON.stringify(screen));
    assert.match(lines[1], /\\x1b\[2J/, "an escape is shown visibly");
  }
});

function viewNamed(name: string, command: string): TopView {
  const row = {
    pid: 42,
    tid: 42,
    kind: "Pool",
    name,
    node: -1,
    capacity: 4,
    inUse: 1,
    percent: 25,
    highWater: 1,
    allocationsPerSecond: 0,
    freesPerSecond: 0,
    failedAllocations: 0,
    growths: 0,
    fragmentation: NaN,
    ringDepth: NaN,
    ringLag: NaN,
    alert: "",
    ageMs: 1,
    stale: false,
  } as const;
  return {
    at: new Date(0).toISOString(),
    processes: [{ pid: 42, command, state: "alive", objects: 1, overflow: 0 }],
    dead: [],
    rows: [row],
  };
}

test("hotpath top's table cuts 64-byte names of multi-byte characters between characters", () => {
  for (const name of ["😀".repeat(16), "é".repeat(32), "€".repeat(21), `a${"😀".repeat(15)}`]) {
    const screen = renderTable(viewNamed(name, "😀".repeat(100)), { color: false, refreshMs: 500 });
    assert.doesNotMatch(screen, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, name);
    assert.ok(screen.includes("…"), "the long name is cut");
  }
});

test("hotpath top refuses a --sort column inherited from Object.prototype", () => {
  for (const sort of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    assert.throws(() => parseTopArguments([`--sort=${sort}`]), /malformed argument/, sort);
  }
  assert.equal(parseTopArguments(["--sort=name"]).sort, "name");
});

test(`readCounters (${runtime}) survives its directory file being truncated and regrown under it`, async () => {
  const directory = privateDirectory();
  try {
    const fakePid = 4_000_001;
    {
      using publisher = publishCounters({ directory, interval: 60_000 });
      using pool = new Pool({ blockSize: 8, capacity: 4, name: "victim" });
      pool.alloc();
      publisher.publish();
      const bytes = readFileSync(publisher.path);
      writeFileSync(join(directory, `hotpath-stats-${fakePid}`), bytes, { mode: 0o600 });
    }
    const root = fileURLToPath(new URL("..", import.meta.url));
    const child = join(root, "tests", "processes", "stats_truncate_child.ts");
    const binary = join(root, "node_modules", ".bin", runtime);
    const args = runtime === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", child] : [child];
    const reader = spawn(binary, [...args, directory, String(fakePid), "1500"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    reader.stdout.on("data", (chunk) => (output += chunk));
    reader.stderr.on("data", (chunk) => (output += chunk));
    const ended = new Promise<[number | null, string | null]>((resolve) => {
      reader.on("exit", (code, signal) => resolve([code, signal]));
    });
    let exited = false;
    void ended.then(() => (exited = true));
    const fd = openSync(join(directory, `hotpath-stats-${fakePid}`), "r+");
    try {
      while (!exited) {
        for (let round = 0; round < 2_000; round++) {
          ftruncateSync(fd, 0);
          ftruncateSync(fd, LIMITS.statsFileBytes);
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      closeSync(fd);
    }
    const [code, signal] = await ended;
    assert.deepEqual([code, signal], [0, null], `the reader ended cleanly: ${output}`);
    assert.match(output, /reads=\d+ refused=\d+/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
