import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HotpathError, libraryInfo, loadLibrary, nowNs, Pool } from "../mod.ts";
import { ABI_FINGERPRINT, ABI_TABLE, LIMITS } from "../ffi/abi.generated.ts";
import { type AbiSource, verifyAbi } from "../ffi/abi.ts";
import { openNative } from "../ffi/library.ts";
import { collectGarbage, nextTurn, runtime, test } from "./harness.ts";

const packageRoot = new URL("..", import.meta.url).pathname;
const fixture = join(packageRoot, "tests", "fixtures", "load_library.ts");

function loadInChild(
  path: string,
  environment: Record<string, string | undefined>,
  options: { script?: string; build?: boolean } = {},
): Record<string, unknown> {
  const script = options.script ?? fixture;
  const extra = options.build === false ? ["no-build"] : [];
  const args = runtime === "deno" ? ["run", "--allow-all", script, path, ...extra] : [script, path, ...extra];
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...environment })) {
    if (value !== undefined) env[name] = value;
  }
  const output = execFileSync(process.execPath, args, { env, encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1)!);
}

/** A copy of the package with its sources but no built library; node_modules (and Zig) shared. */
function unbuiltCopy(): string {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-unbuilt-"));
  for (const entry of ["mod.ts", "src", "ffi", "package.json", "deno.json", join("tests", "fixtures")]) {
    cpSync(join(packageRoot, entry), join(directory, entry), { recursive: true });
  }
  cpSync(join(packageRoot, "zig"), join(directory, "zig"), {
    recursive: true,
    filter: (source) => !source.includes("zig-out") && !source.includes(".zig-cache"),
  });
  symlinkSync(join(packageRoot, "node_modules"), join(directory, "node_modules"));
  return directory;
}

test("loadLibrary reports the runtime, the path and the ABI version", () => {
  const info = loadLibrary();
  assert.equal(info.runtime, runtime);
  assert.equal(info.abiVersion, LIMITS.abiVersion);
  assert.ok(info.path.endsWith("libhotpath.so"), info.path);
});

test("abi every entry of the library's table matches ffi/abi.generated.ts by name", () => {
  const symbols = openNative().symbols;
  assert.equal(symbols.hp_layout_count(), ABI_TABLE.length);
  ABI_TABLE.forEach(([name, value], index) => assert.equal(symbols.hp_layout_value(index), value, name));
  assert.ok(Number.isNaN(symbols.hp_layout_value(ABI_TABLE.length)), "past the end");
  assert.equal(symbols.hp_abi_fingerprint(), ABI_FINGERPRINT);
});

/** A library that answers like the real one, with one thing changed. */
function fakeLibrary(change: Partial<AbiSource> & { values?: number[] }): AbiSource {
  const values = change.values ?? ABI_TABLE.map(([, value]) => value);
  return {
    hp_abi_version: change.hp_abi_version ?? (() => LIMITS.abiVersion),
    hp_abi_fingerprint: change.hp_abi_fingerprint ?? (() => ABI_FINGERPRINT),
    hp_layout_count: change.hp_layout_count ?? (() => values.length),
    hp_layout_value: (index) => values[index],
  };
}

test("verifyAbi throws LAYOUT_MISMATCH naming the entry that differs, or a rename", () => {
  verifyAbi("/lib/libhotpath.so", fakeLibrary({}));
  const values = ABI_TABLE.map(([, value]) => value);
  const freeHead = ABI_TABLE.findIndex(([name]) => name === "PoolHeader.free_head");
  assert.ok(freeHead >= 0);
  values[freeHead] += 4;
  const mismatch = (part: string) => (error: unknown) =>
    error instanceof HotpathError && error.code === "LAYOUT_MISMATCH" && error.message.includes(part);
  assert.throws(() => verifyAbi("/lib/libhotpath.so", fakeLibrary({ values })), mismatch("PoolHeader.free_head"));
  assert.throws(() => verifyAbi("/lib/x.so", fakeLibrary({ hp_layout_count: () => 1 })), mismatch("entries"));
  assert.throws(() => verifyAbi("/lib/x.so", fakeLibrary({ hp_abi_fingerprint: () => 1 })), mismatch("renamed"));
});

test("verifyAbi throws ABI_MISMATCH for a library of another version", () => {
  assert.throws(
    () => verifyAbi("/lib/libhotpath.so", fakeLibrary({ hp_abi_version: () => LIMITS.abiVersion + 1 })),
    (error: unknown) =>
      error instanceof HotpathError && error.code === "ABI_MISMATCH" && error.message.includes("/lib/libhotpath.so"),
  );
});

test("loadLibrary refuses a second, different path", () => {
  loadLibrary();
  assert.throws(
    () => loadLibrary({ path: "/elsewhere/libhotpath.so" }),
    (error: unknown) => error instanceof HotpathError && error.code === "INVALID_ARGUMENT",
  );
});

test("loadLibrary throws LIBRARY_NOT_FOUND with what to run when HOTPATH_LIB points nowhere", () => {
  const result = loadInChild("", { HOTPATH_LIB: "/nonexistent/libhotpath.so" });
  assert.equal(result.ok, false);
  assert.equal(result.code, "LIBRARY_NOT_FOUND");
  assert.match(String(result.message), /\/nonexistent\/libhotpath\.so/);
  assert.match(String(result.message), /scripts\/setup\.mjs/);
});

test("loadLibrary throws LIBRARY_NOT_FOUND for an explicit path that does not load", () => {
  const result = loadInChild("/nonexistent/explicit.so", {});
  assert.equal(result.code, "LIBRARY_NOT_FOUND");
  assert.match(String(result.message), /explicit\.so/);
});

test("loadLibrary takes HOTPATH_LIB when it names a real library", () => {
  const path = openNative().path;
  const result = loadInChild("", { HOTPATH_LIB: path });
  assert.equal(result.ok, true);
  assert.equal(result.path, path);
  assert.equal(result.runtime, runtime);
});

test("loadLibrary without a built library: LIBRARY_NOT_FOUND with build false, zig build otherwise", () => {
  const directory = unbuiltCopy();
  try {
    const script = join(directory, "tests", "fixtures", "load_library.ts");
    // The project's own Zig cache, as scripts/ uses it: a cold cache costs 90 s of compiling.
    const environment = {
      HOTPATH_LIB: "", // empty, not undefined: Deno's child_process keeps a parent variable left out of env
      ZIG_GLOBAL_CACHE_DIR: process.env.ZIG_GLOBAL_CACHE_DIR ??
        join(packageRoot, "node_modules", ".hotpath", "zig-cache"),
    };
    const refused = loadInChild("", environment, { script, build: false });
    assert.equal(refused.code, "LIBRARY_NOT_FOUND");
    assert.match(String(refused.message), /zig-out\/lib\/libhotpath\.so/);
    assert.match(String(refused.message), /scripts\/setup\.mjs/);
    const built = loadInChild("", environment, { script });
    assert.equal(built.ok, true, JSON.stringify(built));
    assert.equal(built.path, join(directory, "zig", "zig-out", "lib", "libhotpath.so"));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test("nowNs is monotonic and advances", async () => {
  let previous = nowNs();
  for (let index = 0; index < 10_000; index++) {
    const now = nowNs();
    assert.ok(now >= previous);
    previous = now;
  }
  const start = nowNs();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(nowNs() - start >= 4_000_000, "5 ms of sleep shows as at least 4 ms");
});

async function collectedWithin(turns: number, done: () => boolean): Promise<boolean> {
  for (let turn = 0; turn < turns && !done(); turn++) {
    assert.ok(collectGarbage(), "the runtime exposes no gc(): run Deno with --v8-flags=--expose-gc");
    await nextTurn();
  }
  return done();
}

test("Pool region is unmapped once closed and its views are collected", async () => {
  const before = libraryInfo().regionsMapped;
  (() => {
    const pool = new Pool({ blockSize: 64, capacity: 256 });
    pool.view(pool.alloc()).fill(1);
    pool.close();
  })();
  assert.equal(libraryInfo().regionsMapped, before + 1, "closed but still mapped for its views");
  assert.ok(await collectedWithin(100, () => libraryInfo().regionsMapped <= before), "region never released");
});

test("Pool region that was never closed is unmapped when the pool is collected", async () => {
  const before = libraryInfo().regionsMapped;
  (() => void new Pool({ blockSize: 64, capacity: 256 }).alloc())();
  assert.ok(await collectedWithin(100, () => libraryInfo().regionsMapped <= before), "region never released");
});
