import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { HotpathError, libraryInfo, loadLibrary, nowNs, Pool } from "../mod.ts";
import { ABI_VERSION, LAYOUT, LAYOUT_ORDER, verifyAbiVersion, verifyLayout } from "../ffi/layout.ts";
import { loadLibrary as loadNative } from "../ffi/library.ts";
import { collectGarbage, nextTurn, runtime, test } from "./harness.ts";

const fixture = new URL("./fixtures/load_library.ts", import.meta.url).pathname;

function loadInChild(path: string, environment: Record<string, string>): Record<string, unknown> {
  const args = runtime === "deno" ? ["run", "--allow-all", fixture, path] : [fixture, path];
  const output = execFileSync(process.execPath, args, {
    env: { ...process.env, ...environment },
    encoding: "utf8",
  });
  return JSON.parse(output.trim().split("\n").at(-1)!);
}

test("loadLibrary reports the runtime, the path and the ABI version", () => {
  const info = loadLibrary();
  assert.equal(info.runtime, runtime);
  assert.equal(info.abiVersion, ABI_VERSION);
  assert.ok(info.path.endsWith("libhotpath.so"), info.path);
});

test("layout every Zig layout entry matches ffi/layout.ts", () => {
  const symbols = loadNative().symbols;
  assert.equal(symbols.hp_layout_count(), LAYOUT_ORDER.length);
  LAYOUT_ORDER.forEach((name, index) => assert.equal(symbols.hp_layout_value(index), LAYOUT[name], name));
  assert.equal(symbols.hp_layout_value(LAYOUT_ORDER.length), LAYOUT.handleNil, "past the end");
});

test("verifyLayout throws LAYOUT_MISMATCH naming the entry that differs", () => {
  const values = LAYOUT_ORDER.map((name) => LAYOUT[name] as number);
  values[LAYOUT_ORDER.indexOf("poolInUse")] += 4;
  assert.throws(
    () => verifyLayout(values.length, (index) => values[index]),
    (error: unknown) =>
      error instanceof HotpathError && error.code === "LAYOUT_MISMATCH" && error.message.includes("poolInUse"),
  );
  assert.throws(() => verifyLayout(values.length - 1, (index) => values[index]), /LAYOUT_MISMATCH|layout entries/);
});

test("verifyAbiVersion throws ABI_MISMATCH for a library of another version", () => {
  verifyAbiVersion("/lib/libhotpath.so", ABI_VERSION);
  assert.throws(
    () => verifyAbiVersion("/lib/libhotpath.so", ABI_VERSION + 1),
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
  const path = loadNative().path;
  const result = loadInChild("", { HOTPATH_LIB: path });
  assert.equal(result.ok, true);
  assert.equal(result.path, path);
  assert.equal(result.runtime, runtime);
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
