// Installs what hotpath needs inside the repository and builds the library.
// Idempotent: a second run only checks and lets `zig build` hit its cache.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bun, capture, deno, env, root, run, toolsDir, zig, zigDir, zigVersion } from "./tools.mjs";

function fail(message) {
  console.error(`hotpath setup: ${message}`);
  process.exit(1);
}

/** Changes whenever package.json or the lockfile does, so either triggers a reinstall. */
function lockDigest() {
  const hash = createHash("sha256");
  for (const name of ["package.json", "package-lock.json"]) {
    const path = join(root, name);
    if (existsSync(path)) hash.update(readFileSync(path));
  }
  return hash.digest("hex");
}

function toolsStart() {
  return capture(deno, ["--version"]).status === 0 && capture(bun, ["--version"]).status === 0;
}

function installNpmTools() {
  const stamp = join(toolsDir, "npm.stamp");
  const digest = lockDigest();
  const current = existsSync(stamp) && readFileSync(stamp, "utf8") === digest;
  if (current && toolsStart()) return;
  console.log("hotpath setup: installing Deno, Bun, mitata and fast-check from npm (pinned)...");
  // `npm install`, not `npm ci`: the registry here serves only this platform's optional
  // packages, so the lockfile cannot list the others and `npm ci` refuses it. Versions are
  // exact in package.json and locked, so install resolves the same tree.
  // Install scripts are skipped (npm 11 blocks them by default) and run explicitly below.
  const args = ["install", "--ignore-scripts", "--no-audit", "--no-fund"];
  if (run("npm", args) !== 0) fail("npm could not install the pinned tools (see the output above).");
  // Their own postinstall steps, run explicitly: each links the binary that its platform
  // package (an optional dependency from npm) already holds in place of a stub.
  for (const script of ["node_modules/bun/install.js", "node_modules/deno/install.cjs"]) {
    if (existsSync(join(root, script)) && run("node", [script]) !== 0) fail(`${script} failed.`);
  }
  if (!toolsStart()) fail("deno or bun does not start after installation (see the output above).");
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
  const args = [
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "--no-deps",
    "--upgrade",
    "--target",
    zigDir,
    `ziglang==${zigVersion}`,
  ];
  let status = run("python3", args);
  if (status !== 0) status = run("python", args);
  if (status !== 0 || !zigIsPinnedVersion()) {
    fail(
      `could not install ziglang==${zigVersion} with pip. ` +
        `Run: python3 -m pip install --target ${zigDir} ziglang==${zigVersion}`,
    );
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
