// Where the project's own toolchain lives. Everything is installed inside the
// repository (node_modules/), never globally, so a clean clone sets itself up.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** The one list of Deno permissions (deno-permissions.json): `run`, plus `test` or `bench` extras. */
export const denoPermissions = JSON.parse(readFileSync(join(root, "deno-permissions.json"), "utf8"));

/** The one place Zig's version is pinned: package.json "hotpath.zigVersion". */
export const zigVersion = manifest.hotpath.zigVersion;
export const toolsDir = join(root, "node_modules", ".hotpath");
export const zigDir = join(toolsDir, `zig-${zigVersion}`);
export const zig = join(zigDir, "ziglang", process.platform === "win32" ? "zig.exe" : "zig");
export const deno = join(root, "node_modules", ".bin", "deno");
export const bun = join(root, "node_modules", ".bin", "bun");
export const library = join(root, "zig", "zig-out", "lib", "libhotpath.so");

/** This host as prebuilt/ names platforms (ffi/prebuilt.ts decides the same way at run time). */
export const hostPlatform = `${process.platform}-${process.arch}` +
  (["/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"].some((file) => existsSync(file)) ? "-musl" : "");

/** The prebuilt library for this host, as shipped in the packages (scripts/prebuild.mjs). */
export const hostPrebuiltLibrary = join(
  root,
  "prebuilt",
  hostPlatform,
  process.platform === "darwin" ? "libhotpath.dylib" : "libhotpath.so",
);

/** Environment for child processes: Zig's cache stays inside the repository. */
export const env = {
  ...process.env,
  ZIG_GLOBAL_CACHE_DIR: join(toolsDir, "zig-cache"),
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: process.env.NO_COLOR ?? "1",
};

/** Runs a command with inherited output; returns its exit status. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit", ...options });
  if (result.error) {
    console.error(`hotpath: could not start ${command}: ${result.error.message}`);
    return 127;
  }
  return result.status ?? 1;
}

/** Runs a command and captures its output. */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env, encoding: "utf8", ...options });
  return { status: result.error ? 127 : result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}
