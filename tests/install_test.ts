/**
 * hotpath installed as a Bun user installs it: `npm pack` makes the package exactly as npm would
 * publish it, a fresh Bun project adds the tarball with `bun add`, and a fresh Bun process runs a
 * pool and a record cursor with no Zig reachable, so the library has to come from the package's
 * prebuilt/ directory. Bun only: the npm package ships TypeScript, which Deno refuses to strip
 * under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING); Deno users import from JSR
 * (tests/remote_package_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { dirname, join } from "node:path";
import { prebuiltForHost } from "../ffi/prebuilt.ts";
import { runtime, test } from "./harness.ts";
import { hostPrebuilt, root } from "./package_files.ts";

const prebuilt = prebuiltForHost();

/** Runs a command to completion; fails the test with its output when it fails. */
function run(command: string, args: string[], cwd: string, env?: Record<string, string>): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8" });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed (${result.error ?? result.status}):\n${output}`);
  return result.stdout;
}

/** The package as `npm pack` makes it, in a fresh directory. */
function pack(): string {
  hostPrebuilt();
  const directory = mkdtempSync(join(tmpdir(), "hotpath-pack-"));
  run("npm", ["pack", "--silent", "--pack-destination", directory], root);
  const tarball = readdirSync(directory).find((name) => name.endsWith(".tgz"));
  assert.ok(tarball, "npm pack made no tarball");
  return join(directory, tarball);
}

const app = `import { HotpathError, libraryInfo, Pool, struct } from "@hotpath/core";
try {
  const Order = struct({ id: "u64", price: "f64", qty: "u32" });
  using orders = Pool.of(Order, { capacity: 16 });
  const order = orders.at(orders.alloc());
  order.price = 101.5;
  order.qty = 7;
  console.log(JSON.stringify({ ok: order.price === 101.5 && order.qty === 7, path: libraryInfo().path }));
} catch (error) {
  if (!(error instanceof HotpathError)) throw error;
  console.log(JSON.stringify({ ok: false, code: error.code, message: error.message }));
}
`;

/** A fresh Bun project with the tarball added. */
function install(tarball: string): string {
  const project = mkdtempSync(join(tmpdir(), "hotpath-install-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  writeFileSync(join(project, "main.ts"), app);
  run(process.execPath, ["add", tarball], project, cleanEnv(project));
  assert.ok(existsSync(join(project, "node_modules", "@hotpath", "core", "mod.ts")), "the package was not installed");
  return project;
}

/** No Zig and no HOTPATH_* variables: only what a user's machine has. */
function cleanEnv(project: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: project, NO_COLOR: "1", ...extra };
}

function runApp(project: string, extra: Record<string, string> = {}): Record<string, unknown> {
  const stdout = run(process.execPath, ["main.ts"], project, cleanEnv(project, extra));
  const last = stdout.trim().split("\n").at(-1) ?? "";
  assert.ok(last.startsWith("{"), `no result from the app: ${stdout}`);
  return JSON.parse(last);
}

const name = "the npm package installs into a Bun project with bun add and runs on its prebuilt library, with no Zig";
if (runtime === "bun" && prebuilt !== undefined) {
  test(name, () => {
    assert.ok(spawnSync("zig", ["version"], { env: cleanEnv(root) }).error, "zig is reachable");
    const tarball = pack();
    let project: string | undefined;
    try {
      project = install(tarball);
      const installed = join(project, "node_modules", "@hotpath", "core");
      const result = runApp(project);
      assert.equal(result.ok, true, String(result.message));
      assert.equal(result.path, join(installed, "prebuilt", prebuilt!.file));

      const unknown = runApp(project, { HOTPATH_PLATFORM: "plan9-x64" });
      assert.equal(unknown.code, "LIBRARY_NOT_FOUND");
      assert.match(String(unknown.message), /no prebuilt library for platform plan9-x64/);
      assert.match(String(unknown.message), /Set HOTPATH_LIB/);
    } finally {
      // Nothing left behind: the tarball's directory and the project.
      rmSync(dirname(tarball), { recursive: true, force: true });
      if (project !== undefined) rmSync(project, { recursive: true, force: true });
    }
  });
}
