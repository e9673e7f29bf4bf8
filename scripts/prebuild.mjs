// Builds libhotpath for every platform hotpath ships prebuilt, with the pinned Zig, into
// prebuilt/<platform>/ (ReleaseFast, stripped), and writes prebuilt/manifest.json with each
// file's size and SHA-256. Then loads the host's prebuilt library on Deno and Bun and makes a
// pool with it. One command: `node scripts/prebuild.mjs` (part of `npm test`).
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bun, capture, deno, denoPermissions, env, root, zig } from "./tools.mjs";

/** Platform names as Node spells them (process.platform-process.arch), with the Zig target. */
export const PLATFORMS = [
  { platform: "linux-x64", target: "x86_64-linux-gnu", file: "libhotpath.so" },
  { platform: "linux-arm64", target: "aarch64-linux-gnu", file: "libhotpath.so" },
  { platform: "linux-x64-musl", target: "x86_64-linux-musl", file: "libhotpath.so" },
  { platform: "linux-arm64-musl", target: "aarch64-linux-musl", file: "libhotpath.so" },
  { platform: "darwin-x64", target: "x86_64-macos", file: "libhotpath.dylib" },
  { platform: "darwin-arm64", target: "aarch64-macos", file: "libhotpath.dylib" },
];

const outDir = join(root, "prebuilt");

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function build({ platform, target, file }) {
  const prefix = join(root, "zig", "zig-out", "prebuilt", platform);
  const result = capture(zig, ["build", `-Dtarget=${target}`, "--prefix", prefix, "--summary", "none"], {
    cwd: join(root, "zig"),
    env,
  });
  if (result.status !== 0) fail(`zig build for ${target} failed:\n${result.stderr}${result.stdout}`);
  const bytes = readFileSync(join(prefix, "lib", file));
  mkdirSync(join(outDir, platform), { recursive: true });
  copyFileSync(join(prefix, "lib", file), join(outDir, platform, file));
  return { platform, target, file: `${platform}/${file}`, bytes: bytes.length, sha256: sha256(bytes) };
}

function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Loads the host's prebuilt library in a child of each runtime and makes a pool with it. */
function checkHost(entries) {
  const host = entries.find((entry) => entry.platform === `${process.platform}-${process.arch}`);
  if (host === undefined) return console.log(`prebuild: no prebuilt library for this host to load`);
  const script = join(root, "tests", "fixtures", "prebuilt_smoke.ts");
  const childEnv = { ...env, HOTPATH_LIB: join(outDir, host.file) };
  for (
    const [runtime, command, args] of [
      ["deno", deno, ["run", ...denoPermissions.run, script]],
      ["bun", bun, [script]],
    ]
  ) {
    const result = capture(command, args, { env: childEnv });
    if (result.status !== 0 || !result.stdout.includes("prebuilt ok")) {
      fail(`${runtime} could not use ${host.file}:\n${result.stderr}${result.stdout}`);
    }
    console.log(`prebuild: ${runtime} loaded ${host.file} and used a pool`);
  }
}

rmSync(outDir, { recursive: true, force: true });
const entries = PLATFORMS.map(build);
const manifest = { version: JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version, libraries: entries };
writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
for (const entry of entries) console.log(`prebuild: ${entry.file} ${entry.bytes} bytes sha256 ${entry.sha256}`);
checkHost(entries);
