// The whole test suite, on a fresh machine or not: setup, Zig tests, the same test files
// under Deno and Bun, lint, format, type check, publish dry run and a benchmark smoke run.
// Ends with one line "hotpath: N passed, N failed" and a non-zero exit on any failure.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { bun, deno, denoPermissions, env, hostPrebuiltLibrary, root, zig } from "./tools.mjs";

const denoRun = denoPermissions.run;

/**
 * The Deno and Bun suites run on the library users get: the host's prebuilt one (baseline CPU,
 * stripped), built by the step before them. Without one for this host, on the zig-out build.
 */
const shipped = () => existsSync(hostPrebuiltLibrary) ? { HOTPATH_LIB: hostPrebuiltLibrary } : {};

/** Each step: a command, and how to count its tests (default: the step is one test). */
const steps = [
  {
    name: "zig build test",
    command: zig,
    args: ["build", "test", "--summary", "all"],
    cwd: join(root, "zig"),
    count: zigCounts,
  },
  // The same tests under ThreadSanitizer: the thread tests of the shared free list and SharedPool.
  {
    name: "zig build test -Dtsan (ThreadSanitizer)",
    command: zig,
    args: ["build", "test", "-Dtsan", "--summary", "all"],
    cwd: join(root, "zig"),
    count: zigCounts,
  },
  { name: "zig fmt --check", command: zig, args: ["fmt", "--check", "src", "build.zig"], cwd: join(root, "zig") },
  // ffi/abi.generated.ts must be what `zig build mirrors` writes from the current Zig sources.
  { name: "zig build mirrors-check", command: zig, args: ["build", "mirrors-check"], cwd: join(root, "zig") },
  // Every platform's prebuilt library compiles; the host's loads and serves a pool on both runtimes.
  { name: "prebuilt libraries (6 platforms)", command: "node", args: ["scripts/prebuild.mjs", "--check"] },
  // The test-only library tests/struct_zig_test.ts loads: built here, never by setup.
  { name: "zig build test-libs", command: zig, args: ["build", "test-libs"], cwd: join(root, "zig") },
  {
    name: "deno test",
    command: deno,
    args: ["test", ...denoRun, ...denoPermissions.test, "tests/", "bench/"],
    env: shipped,
    count: denoCounts,
  },
  { name: "bun test", command: bun, args: ["test", "tests/", "bench/"], env: shipped, count: bunCounts },
  {
    name: "deno test --doc (every @example runs)",
    command: deno,
    // --allow-net=127.0.0.1: serveMetrics' example listens on the loopback interface.
    args: ["test", "--doc", ...denoRun, "--allow-net=127.0.0.1", "mod.ts", "src/", "ffi/errors.ts"],
    count: denoCounts,
  },
  { name: "deno lint", command: deno, args: ["lint"] },
  { name: "tidy (line and function length)", command: "node", args: ["scripts/tidy.mjs"] },
  { name: "deno fmt --check", command: deno, args: ["fmt", "--check"] },
  { name: "deno check", command: deno, args: ["check", "mod.ts", "cli/", "tests/", "bench/"] },
  { name: "deno doc --lint (JSDoc on every export)", command: deno, args: ["doc", "--lint", "mod.ts"] },
  { name: "deno publish --dry-run", command: deno, args: ["publish", "--dry-run", "--allow-dirty"] },
  {
    name: "bench smoke (deno)",
    command: deno,
    args: ["run", ...denoRun, ...denoPermissions.bench, "bench/main.ts", "--smoke"],
  },
  { name: "bench smoke (bun)", command: bun, args: ["bench/main.ts", "--smoke"] },
  // A count, not a timing: the hot path must make no system calls on either runtime.
  { name: "system calls do not grow with operations", command: "node", args: ["scripts/syscalls.mjs"] },
];

/** Zig's build summary: "N/M tests passed", over every test binary. */
function zigCounts(output) {
  const match = /(\d+)\/(\d+) tests passed/.exec(output);
  return match ? { passed: Number(match[1]), failed: Number(match[2]) - Number(match[1]) } : undefined;
}

function denoCounts(output) {
  const match = /\| (\d+) passed[^|]*\| (\d+) failed/.exec(output);
  return match ? { passed: Number(match[1]), failed: Number(match[2]) } : undefined;
}

function bunCounts(output) {
  const passed = /^\s*(\d+) pass\s*$/m.exec(output);
  const failed = /^\s*(\d+) fail\s*$/m.exec(output);
  return passed && failed ? { passed: Number(passed[1]), failed: Number(failed[1]) } : undefined;
}

function runStep(step) {
  return new Promise((resolve) => {
    console.log(`\n=== ${step.name}`);
    const stepEnv = { ...env, ...step.env?.() };
    if (stepEnv.HOTPATH_LIB) console.log(`(HOTPATH_LIB=${stepEnv.HOTPATH_LIB})`);
    const child = spawn(step.command, step.args, {
      cwd: step.cwd ?? root,
      env: stepEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const forward = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", forward(process.stdout));
    child.stderr.on("data", forward(process.stderr));
    child.on("error", (error) => {
      output += String(error);
      resolve({ status: 127, output });
    });
    child.on("close", (status) => resolve({ status: status ?? 1, output }));
  });
}

const setup = await runStep({ name: "setup", command: "node", args: [join(root, "scripts", "setup.mjs")] });
if (setup.status !== 0) {
  console.log("hotpath: 0 passed, 1 failed");
  process.exit(1);
}

let passed = 0;
let failed = 0;
const failures = [];
for (const step of steps) {
  const { status, output } = await runStep(step);
  const counts = step.count?.(output);
  if (counts) {
    passed += counts.passed;
    failed += counts.failed;
  } else if (status === 0) {
    passed += 1;
  }
  // A failing exit counts even when the runner's own numbers looked clean.
  if (status !== 0) {
    if (!counts || counts.failed === 0) failed += 1;
    failures.push(step.name);
  }
}

console.log(`\n${failures.length === 0 ? "All steps passed." : `Failed steps: ${failures.join(", ")}`}`);
console.log(`hotpath: ${passed} passed, ${failed} failed`);
process.exit(failures.length === 0 ? 0 : 1);
