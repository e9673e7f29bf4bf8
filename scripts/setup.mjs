// Installs what hotpath needs inside the repository and builds the library.
// Idempotent: a second run only checks and lets `zig build` hit its cache.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { bun, capture, deno, env, root, run, toolsDir, zig, zigDir, zigVersion } from "./tools.mjs";

function fail(message) {
  console.error(`hotpath setup: ${message}`);
  process.exit(1);
}

function lockDigest() {
  const lock = join(root, "package-lock.json");
  const text = existsSync(lock) ? readFileSync(lock) : readFileSync(join(root, "package.json"));
  return createHash("sha256").update(text).digest("hex");
}

function installNpmTools() {
  const stamp = join(toolsDir, "npm.stamp");
  const digest = lockDigest();
  const current = existsSync(stamp) && readFileSync(stamp, "utf8") === digest;
  if (current && existsSync(deno) && existsSync(bun)) return;
  console.log("hotpath setup: installing Deno, Bun, mitata and fast-check from npm (pinned)...");
  const hasLock = existsSync(join(root, "package-lock.json"));
  // Install scripts are not needed: deno and bun ship their binaries as optional dependencies.
  const args = [hasLock ? "ci" : "install", "--ignore-scripts", "--no-audit", "--no-fund"];
  if (run("npm", args) !== 0) fail("npm could not install the pinned tools (see the output above).");
  mkdirSync(toolsDir, { recursive: true });
  writeFileSync(stamp, lockDigest());
}

function zigIsPinnedVersion() {
  if (!existsSync(zig)) return false;
  return capture(zig, ["version"]).stdout.trim() === zigVersion;
}

function installZig() {
  if (zigIsPinnedVersion()) return;
  console.log(`hotpath setup: installing Zig ${zigVersion} from PyPI (ziglang) into ${zigDir}...`);
  mkdirSync(toolsDir, { recursive: true });
  const args = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--upgrade",
    "--target", zigDir, `ziglang==${zigVersion}`];
  let status = run("python3", args);
  if (status !== 0) status = run("python", args);
  if (status !== 0 || !zigIsPinnedVersion()) {
    fail(`could not install ziglang==${zigVersion} with pip. Run: python3 -m pip install --target ${zigDir} ziglang==${zigVersion}`);
  }
}

function buildLibrary() {
  if (run(zig, ["build", "--summary", "none"], { cwd: join(root, "zig"), env }) !== 0) {
    fail("zig build failed (see the compiler output above).");
  }
}

installNpmTools();
installZig();
buildLibrary();
