// Shows with `strace -f -c` that pool and arena operations make no system calls: the same
// program runs 10,000 and 1,000,000 operations on each runtime, and the totals are compared.
// Exit status 1 if the larger run makes more than ALLOWED_EXTRA more calls (runtime noise:
// JIT tiering, timers) — a hot path with one call per operation would add ~990,000.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bun, capture, deno, denoPermissions, root, run } from "./tools.mjs";

const SMALL = 10_000;
const LARGE = 1_000_000;
const ALLOWED_EXTRA = 1_000;

function ensureStrace() {
  if (capture("strace", ["-V"]).status === 0) return true;
  console.log("syscalls: strace is missing; installing Debian's strace...");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const apt = (args) => run(sudo.length ? "sudo" : "apt-get", sudo.length ? ["apt-get", ...args] : args);
  if (apt(["install", "-y", "-q", "strace"]) !== 0) {
    apt(["update", "-q"]) === 0 && apt(["install", "-y", "-q", "strace"]);
  }
  return capture("strace", ["-V"]).status === 0;
}

function totalCalls(runtime, command, operations) {
  const outDir = join(root, "bench", "out");
  mkdirSync(outDir, { recursive: true });
  const summary = join(outDir, `strace-${runtime}-${operations}.txt`);
  const result = capture("strace", ["-f", "-c", "-o", summary, ...command, String(operations)]);
  if (result.status !== 0 || !existsSync(summary)) {
    throw new Error(`${runtime} run under strace failed: ${result.stderr || result.stdout}`);
  }
  const total = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total\s*$/m.exec(readFileSync(summary, "utf8"));
  if (!total) throw new Error(`no total line in ${summary}`);
  return Number(total[1]);
}

const runtimes = [
  ["deno", [deno, "run", ...denoPermissions.run, "bench/syscalls.ts"]],
  ["bun", [bun, "bench/syscalls.ts"]],
];

if (!ensureStrace()) {
  console.error("syscalls: strace is not available and could not be installed (apt-get install strace).");
  process.exit(1);
}
let grew = false;
for (const [runtime, command] of runtimes) {
  const small = totalCalls(runtime, command, SMALL);
  const large = totalCalls(runtime, command, LARGE);
  const extra = large - small;
  const verdict = extra <= ALLOWED_EXTRA ? "does not grow with operations" : "GROWS with operations";
  grew ||= extra > ALLOWED_EXTRA;
  console.log(
    `syscalls (${runtime}): ${small} calls for ${SMALL} pool+arena operations, ${large} for ${LARGE}: ` +
      `${extra >= 0 ? "+" : ""}${extra} for ${LARGE - SMALL} more operations (${verdict})`,
  );
}
process.exit(grew ? 1 : 0);
