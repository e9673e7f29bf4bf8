/**
 * metricsText and serveMetrics: the output parsed by a real Prometheus text parser from npm
 * (parse-prometheus-text-format, the prom2json-compatible one) and checked family by family
 * against each object's own stats(); label escaping, histograms as summaries, the process
 * source, the HTTP endpoint, and hostile options.
 *
 * @module
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import {
  Arena,
  Histogram,
  HotpathError,
  metricsText,
  Monitor,
  NumaPool,
  Pool,
  publishCounters,
  Ring,
  serveMetrics,
  SharedPool,
  SizeClassPool,
} from "../mod.ts";
import { assertCode, runtime, test } from "./harness.ts";
import { privateDirectory } from "./named_region_files.ts";
import { expectAll } from "./hostile_values.ts";
import { rmSync } from "node:fs";

/** One sample as the parser gives it (summaries: one object with quantiles, sum and count). */
interface Sample {
  value?: string;
  labels?: Record<string, string>;
  quantiles?: Record<string, string>;
  sum?: string;
  count?: string;
}

/** One metric family as the parser gives it. */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

const parse = parsePrometheusTextFormat as unknown as (text: string) => Family[];

/**
 * Parses `text` and checks what the format asks of every family: one HELP and one TYPE line,
 * its samples together (the parser would split a family seen twice), at least one sample.
 */
function parsed(text: string): Map<string, Family> {
  const families = parse(text);
  const byName = new Map(families.map((family) => [family.name, family]));
  assert.equal(byName.size, families.length, "each family appears once, its samples together");
  for (const family of families) {
    for (const line of ["HELP", "TYPE"]) {
      const lines = text.split("\n").filter((one) => one.startsWith(`# ${line} ${family.name} `));
      assert.equal(lines.length, 1, `one ${line} line for ${family.name}`);
    }
    assert.ok(family.help.length > 0, `${family.name} has a HELP text`);
    assert.ok(family.metrics.length > 0, `${family.name} has samples`);
    assert.ok(/^hotpath_[a-z_]+$/.test(family.name), family.name);
    if (family.type === "COUNTER") assert.ok(family.name.endsWith("_total"), `${family.name} is a counter`);
    if (family.type === "GAUGE") assert.ok(!family.name.endsWith("_total"), `${family.name} is a gauge`);
  }
  return byName;
}

/** Every series whose labels are exactly `labels`: metric name → value. */
function seriesOf(families: Map<string, Family>, labels: Record<string, string>): Record<string, number> {
  const found: Record<string, number> = {};
  for (const family of families.values()) {
    for (const sample of family.metrics) {
      if (sample.value !== undefined && isDeepStrictEqual(sample.labels ?? {}, labels)) {
        assert.equal(found[family.name], undefined, `one ${family.name} series for ${JSON.stringify(labels)}`);
        found[family.name] = Number(sample.value);
      }
    }
  }
  return found;
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** `values` (suffix → value) as full metric names of `kind`. */
function named(kind: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([suffix, value]) => [`hotpath_${kind}_${suffix}`, value]));
}

type Stats = Record<string, number>;

/** What a Pool-like object's stats() say each family must show. */
function poolFamilies(kind: string, stats: Stats, extra: Record<string, number> = {}): Record<string, number> {
  return named(kind, {
    capacity_blocks: stats.capacity,
    in_use_blocks: stats.inUse,
    high_water_blocks: stats.highWater,
    allocations_total: stats.allocations,
    frees_total: stats.frees,
    failed_allocations_total: stats.failedAllocations,
    growths_total: stats.growths,
    reserved_bytes: stats.bytesReserved,
    ...extra,
  });
}

function unique(prefix: string): string {
  return `prom-${prefix}-${crypto.randomUUID()}`;
}

test("the Prometheus parser of these tests is the npm package, and it rejects a malformed line", () => {
  assert.equal(typeof parsePrometheusTextFormat, "function");
  assert.equal((parsePrometheusTextFormat as { name?: string }).name, "parsePrometheusTextFormat");
  assert.throws(() => parse('broken{label x="1"} 1\n'), /invalid line/i);
  assert.deepEqual(parse("# TYPE a_total counter\na_total 2\n")[0].metrics, [{ value: "2" }]);
});

test("metricsText families of a Pool, Arena and SizeClassPool match their own stats()", () => {
  const [poolName, arenaName, classesName] = [unique("pool"), unique("arena"), unique("classes")];
  using pool = new Pool({ blockSize: 64, capacity: 8, name: poolName });
  using arena = new Arena({ capacity: 4096, name: arenaName });
  using classes = new SizeClassPool({ capacity: 16, name: classesName });
  const handles = [pool.alloc(), pool.alloc(), pool.alloc()];
  pool.free(handles[1]);
  for (let index = 0; index < 8; index++) pool.tryAlloc();
  arena.alloc(10, 16);
  arena.alloc(3, 8);
  classes.free(classes.alloc(40));
  classes.alloc(100);
  const families = parsed(metricsText());
  const poolStats = pool.stats() as unknown as Stats;
  assert.equal(poolStats.inUse, 8, "a known in-use count");
  assert.deepEqual(seriesOf(families, { name: poolName }), poolFamilies("pool", poolStats));
  const a = arena.stats() as unknown as Stats;
  assert.deepEqual(
    seriesOf(families, { name: arenaName }),
    named("arena", {
      capacity_bytes: a.capacity,
      used_bytes: a.offset,
      high_water_bytes: a.highWater,
      allocations_total: a.allocations,
      resets_total: a.resets,
      failed_allocations_total: a.failedAllocations,
      fragmentation_ratio: a.fragmentation,
      reserved_bytes: a.bytesReserved,
    }),
  );
  const c = classes.stats();
  const sum = (field: "frees" | "highWater") => c.classes.reduce((total, one) => total + one[field], 0);
  const classFamilies = poolFamilies("size_class_pool", {
    ...c.total,
    frees: sum("frees"),
    highWater: sum("highWater"),
  }, {
    fragmentation_ratio: c.total.fragmentation,
  });
  delete classFamilies.hotpath_size_class_pool_growths_total; // a SizeClassPool does not grow: no such series
  assert.deepEqual(seriesOf(families, { name: classesName }), classFamilies);
  assert.ok(c.total.fragmentation > 0 && c.total.inUse === 1);
  assert.equal(families.get("hotpath_pool_in_use_blocks")?.type, "GAUGE");
  assert.equal(families.get("hotpath_arena_resets_total")?.type, "COUNTER");
});

test("metricsText families of a Ring, SharedPool and NumaPool match their own stats()", () => {
  const [ringName, sharedName, numaName] = [unique("ring"), unique("shared"), unique("numa")];
  using ring = Ring.spsc({ slot: 8, capacity: 16, name: ringName });
  using shared = new SharedPool({ blockSize: 16, capacity: 64, name: sharedName });
  using numa = new NumaPool({ blockSize: 64, capacity: 64, name: numaName });
  try {
    const producer = ring.producer();
    const consumer = ring.consumer();
    for (let index = 0; index < 5; index++) {
      assert.ok(producer.tryClaim() >= 0);
      producer.commit();
    }
    assert.ok(consumer.tryPeek() >= 0);
    consumer.release();
    shared.alloc();
    numa.alloc();
    numa.alloc();
    const families = parsed(metricsText());
    const r = ring.stats();
    assert.equal(r.depth, 4);
    assert.deepEqual(
      seriesOf(families, { name: ring.name }),
      named("ring", {
        capacity_messages: r.capacity,
        depth_messages: r.depth,
        pushed_messages_total: r.pushed,
        popped_messages_total: r.popped,
        lost_messages_total: r.lost,
        lag_messages: r.depth,
        reserved_bytes: r.bytesReserved,
      }),
    );
    const s = shared.stats() as unknown as Stats;
    const sharedFamilies = poolFamilies("shared_pool", s, { stuck_readers: s.stuckReaders });
    delete sharedFamilies.hotpath_shared_pool_allocations_total; // counted per Worker, not published
    delete sharedFamilies.hotpath_shared_pool_frees_total;
    assert.deepEqual(seriesOf(families, { name: shared.name }), sharedFamilies);
    for (const node of numa.stats().nodes) {
      const labels = { name: numaName, node: String(node.node) };
      assert.deepEqual(seriesOf(families, labels), poolFamilies("numa_pool", node as unknown as Stats));
    }
    assert.equal(numa.stats().total.inUse, 2);
  } finally {
    ring.unlink();
    shared.unlink();
  }
});

test("metricsText escapes a name with a double quote, a backslash and a newline so that it round-trips", () => {
  const name = `a "quoted" \\ back\\slash\nand a newline ${crypto.randomUUID()}`;
  using pool = new Pool({ blockSize: 8, capacity: 4, name });
  pool.alloc();
  const text = metricsText();
  assert.ok(text.includes(`{name="a \\"quoted\\" \\\\ back\\\\slash\\nand a newline `), "escaped on one line");
  const series = seriesOf(parsed(text), { name });
  assert.equal(series.hotpath_pool_in_use_blocks, 1);
  assert.equal(Object.keys(series).length, 8);
});

test("metricsText tells objects of the same kind and name apart with copy labels, in creation order", () => {
  const name = unique("twins");
  using first = new Pool({ blockSize: 8, capacity: 4, name });
  using second = new Pool({ blockSize: 8, capacity: 5, name });
  using third = new Pool({ blockSize: 8, capacity: 6, name });
  using arena = new Arena({ capacity: 64, name }); // another kind: its own series, no copy label
  const families = parsed(metricsText());
  assert.equal(seriesOf(families, { name }).hotpath_pool_capacity_blocks, first.stats().capacity);
  assert.equal(seriesOf(families, { name, copy: "2" }).hotpath_pool_capacity_blocks, second.stats().capacity);
  assert.equal(seriesOf(families, { name, copy: "3" }).hotpath_pool_capacity_blocks, third.stats().capacity);
  assert.equal(seriesOf(families, { name }).hotpath_arena_capacity_bytes, arena.stats().capacity);
});

test("metricsText shows the alert level a Monitor holds on each object as hotpath_alert_level", () => {
  const name = unique("alerted");
  using pool = new Pool({ blockSize: 8, capacity: 1, name });
  using _calm = new Arena({ capacity: 64, name }); // no alert on it: level 0
  using monitor = new Monitor({
    rules: [{ metric: "failedAllocations", critical: 1, name }],
    onAlert: () => {},
    interval: 0,
  });
  monitor.check(); // counter rules alert on an increase since the previous check
  pool.alloc();
  assert.equal(pool.tryAlloc(), -1);
  monitor.check();
  const alerts = parsed(metricsText()).get("hotpath_alert_level")!;
  assert.equal(alerts.type, "GAUGE");
  const level = (kind: string) => alerts.metrics.find((sample) => isDeepStrictEqual(sample.labels, { kind, name }));
  assert.equal(level("pool")?.value, "2");
  assert.equal(level("arena")?.value, "0");
});

test("metricsText shows histograms as summaries in seconds whose quantiles match percentile()", () => {
  using latency = new Histogram();
  using empty = new Histogram();
  for (let value = 1; value <= 5000; value++) latency.record(value * 997);
  const families = parsed(metricsText({ histograms: { order_latency: latency, idle: empty } }));
  const summary = families.get("hotpath_order_latency_seconds")!;
  assert.equal(summary.type, "SUMMARY");
  assert.equal(summary.metrics.length, 1);
  const [sample] = summary.metrics;
  assert.deepEqual(Object.keys(sample.quantiles!), ["0.5", "0.9", "0.99", "0.999"]);
  for (const [quantile, percent] of [["0.5", 50], ["0.9", 90], ["0.99", 99], ["0.999", 99.9]] as const) {
    assert.equal(Number(sample.quantiles![quantile]), latency.percentile(percent) / 1e9, `quantile ${quantile}`);
  }
  assert.equal(Number(sample.count), 5000);
  assert.equal(Number(sample.sum), latency.sum / 1e9);
  assert.equal(latency.sum, 997 * 5000 * 5001 / 2);
  const idle = families.get("hotpath_idle_seconds")!.metrics[0];
  assert.deepEqual(idle, {
    quantiles: { "0.5": "NaN", "0.9": "NaN", "0.99": "NaN", "0.999": "NaN" },
    sum: "0",
    count: "0",
  });
  const fromMap = parsed(metricsText({ histograms: new Map([["order_latency", latency]]) }));
  assert.deepEqual(fromMap.get("hotpath_order_latency_seconds"), summary, "a Map gives the same family");
});

test('metricsText source "process" shows what publishCounters() published, with a thread label', () => {
  const directory = privateDirectory("hotpath-prom-");
  try {
    assertCode(() => metricsText({ source: "process", directory }), "NOT_FOUND", "publishCounters()");
    const name = unique("published");
    using pool = new Pool({ blockSize: 8, capacity: 4, name });
    pool.alloc();
    using publisher = publishCounters({ directory });
    publisher.publish();
    const families = parsed(metricsText({ source: "process", directory }));
    const samples = families.get("hotpath_pool_in_use_blocks")!.metrics.filter((sample) =>
      sample.labels?.name === name
    );
    assert.equal(samples.length, 1);
    const thread = samples[0].labels!.thread;
    assert.match(thread, /^[1-9][0-9]*$/);
    assert.deepEqual(seriesOf(families, { name, thread }), poolFamilies("pool", pool.stats() as unknown as Stats));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

/** Hostile values for options that take a string or an object. */
const HOSTILE: readonly (readonly [string, unknown])[] = [
  ["bigint 1n", 1n],
  ["Symbol()", Symbol("prom")],
  ["NaN", NaN],
  ["-0", -0],
  ["null", null],
  ["true", true],
  ["a function", () => "thread"],
];

test("metricsText refuses hostile options with INVALID_ARGUMENT (and a closed histogram with CLOSED)", () => {
  using histogram = new Histogram();
  const prototypeOnly = Object.create(Histogram.prototype);
  const rows: unknown[] = [
    ...HOSTILE.filter(([label]) => label !== "null").map(([, value]) => value),
    ...HOSTILE.map(([, value]) => ({ source: value })),
    ...HOSTILE.map(([, value]) => ({ histograms: value })),
    ...HOSTILE.map(([, value]) => ({ histograms: { latency: value } })),
    ...HOSTILE.map(([, value]) => ({ source: "process", directory: value })),
    { source: "threads" },
    { source: "thread", directory: "/dev/shm" },
    { histograms: "latency" },
    { histograms: [histogram] },
    { histograms: { "1st": histogram } },
    { histograms: { "a-b": histogram } },
    { histograms: { "": histogram } },
    { histograms: { ["x".repeat(101)]: histogram } },
    { histograms: { latency: prototypeOnly } },
    { histograms: { latency: {} } },
    { histograms: new Map([[Symbol("key"), histogram]]) },
    { histograms: new Map([[1, histogram]]) },
  ];
  expectAll(rows.map((options) => [show(options), () => metricsText(options as never)]), "INVALID_ARGUMENT");
  const closed = new Histogram();
  closed.close();
  assertCode(() => metricsText({ histograms: { latency: closed } }), "CLOSED", '"latency"');
  assert.ok(metricsText({ source: undefined, histograms: { latency: histogram } }).includes("hotpath_latency_seconds"));
});

/** An options object as a row label: each key and the type or value of what it holds. */
function show(options: unknown): string {
  if (typeof options !== "object" || options === null) return describeValue(options);
  return Object.entries(options).map(([key, value]) => `${key}: ${describeValue(value)}`).join(", ");
}

function describeValue(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") return typeof value;
  if (Object.is(value, -0)) return "-0";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 20));
  if (value instanceof Map) return `Map(${[...value.keys()].map(describeValue).join()})`;
  if (typeof value === "object" && value !== null) return `{${show(value)}}`;
  return String(value);
}

/** Asserts that `promise` rejects with a HotpathError of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string, messagePart = ""): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HotpathError, `expected a HotpathError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.ok(error.message.includes(messagePart), error.message);
    return true;
  });
}

test("serveMetrics serves metricsText at /metrics; 404 for other paths, 405 for other methods", async () => {
  const name = unique("served");
  using pool = new Pool({ blockSize: 8, capacity: 4, name });
  pool.alloc();
  await using server = await serveMetrics({ port: 0 });
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await response.text();
  assert.equal(text, metricsText());
  assert.equal(seriesOf(parsed(text), { name }).hotpath_pool_in_use_blocks, 1);
  const withQuery = await fetch(`${server.url}?name[]=x`);
  assert.equal([withQuery.status, await withQuery.text()].join(), [200, text].join(), "a query string is ignored");
  for (const path of ["/", "/metric", "/metrics/", "/other"]) {
    const missing = await fetch(`http://127.0.0.1:${server.port}${path}`);
    assert.equal(missing.status, 404, path);
    assert.match(await missing.text(), /\/metrics/);
  }
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const refused = await fetch(server.url, { method, body: method === "DELETE" ? undefined : "x" });
    assert.equal(refused.status, 405, method);
    assert.equal(refused.headers.get("allow"), "GET, HEAD");
    await refused.text();
  }
  const head = await fetch(server.url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

test("serveMetrics takes a path and histograms, and answers 500 with the reason when the text fails", async () => {
  const latency = new Histogram();
  latency.record(1234);
  await using server = await serveMetrics({ port: 0, path: "/hotpath", histograms: { latency } });
  assert.ok(server.url.endsWith("/hotpath"));
  const served = parsed(await (await fetch(server.url)).text());
  assert.equal(served.get("hotpath_latency_seconds")?.metrics[0].count, "1");
  assert.equal((await fetch(server.url.replace("/hotpath", "/metrics"))).status, 404);
  latency.close();
  const failed = await fetch(server.url);
  assert.equal(failed.status, 500);
  assert.match(await failed.text(), /histogram "latency" is closed/);
  assert.equal((await fetch(server.url)).status, 500, "and the server still answers");
});

test("serveMetrics close() frees the port, is idempotent, and a port in use is BUSY", async () => {
  const first = await serveMetrics({ port: 0 });
  await rejectsWith(serveMetrics({ port: first.port }), "BUSY", String(first.port));
  assert.equal((await fetch(first.url)).status, 200, "a keep-alive connection is open when close() runs");
  await first.close();
  await first.close();
  await assert.rejects(fetch(first.url), "nothing listens any more");
  const again = await serveMetrics({ port: first.port });
  assert.equal(again.port, first.port, "the port was free again");
  assert.equal((await fetch(again.url)).status, 200);
  await again.close();
});

test("serveMetrics refuses a hostname that is not loopback and hostile options with INVALID_ARGUMENT", async () => {
  for (const hostname of ["0.0.0.0", "::", "192.168.1.10", "127.0.0.2", "example.com", "LOCALHOST", ""]) {
    await rejectsWith(serveMetrics({ port: 0, hostname: hostname as never }), "INVALID_ARGUMENT", "loopback");
  }
  const rows: unknown[] = [
    ...HOSTILE.filter(([label]) => label !== "null").map(([, value]) => value),
    ...HOSTILE.filter(([label]) => label !== "-0").map(([, value]) => ({ port: value })),
    ...HOSTILE.map(([, value]) => ({ hostname: value })),
    ...HOSTILE.map(([, value]) => ({ path: value })),
    ...HOSTILE.map(([, value]) => ({ port: 0, source: value })),
    ...HOSTILE.map(([, value]) => ({ port: 0, histograms: value })),
    ...[1.5, -1, 65536, Infinity, "9464"].map((port) => ({ port })),
    ...["metrics", "", "/a?b", "/a#b", "/a b", "/é", `/${"x".repeat(200)}`].map((path) => ({ port: 0, path })),
  ];
  const misses: string[] = [];
  for (const options of rows) {
    const got = await serveMetrics(options as never).then(
      async (server) => (await server.close(), "served"),
      (error) => error instanceof HotpathError ? error.code : String(error),
    );
    if (got !== "INVALID_ARGUMENT") misses.push(`${show(options)}: ${got}`);
  }
  assert.deepEqual(misses, []);
  const zero = await serveMetrics({ port: -0 }); // -0 is 0, as everywhere in hotpath: any free port
  assert.ok(zero.port > 0);
  await zero.close();
});

test("serveMetrics listens on ::1 and localhost too (Deno: where --allow-net lets it)", async () => {
  for (const hostname of ["::1", "localhost"] as const) {
    let server;
    try {
      server = await serveMetrics({ port: 0, hostname });
    } catch (error) {
      const denied = error instanceof HotpathError && error.code === "PERMISSION_DENIED";
      const noIpv6 = error instanceof HotpathError && error.code === "UNSUPPORTED" && hostname === "::1";
      if ((denied && runtime === "deno") || noIpv6) continue;
      throw error;
    }
    try {
      assert.equal((await fetch(server.url)).status, 200, server.url);
      if (hostname === "::1") assert.equal(server.url, `http://[::1]:${server.port}/metrics`);
    } finally {
      await server.close();
    }
  }
});
