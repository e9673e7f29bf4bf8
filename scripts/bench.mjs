// The main job: the benchmark report on Deno and on Bun, then the system-call check.
// Installs what is missing first. Each runtime's report is also saved in bench/out/.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bun, deno, denoPermissions, env, root } from "./tools.mjs";

function step(command, args) {
  const result = spawnSync(command, args, { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(result.stdout ?? "");
  return { status: result.status ?? 1, output: result.stdout ?? "" };
}

if (spawnSync("node", [join(root, "scripts", "setup.mjs")], { cwd: root, stdio: "inherit" }).status !== 0) {
  process.exit(1);
}

const extra = process.argv.slice(2);
const outDir = join(root, "bench", "out");
mkdirSync(outDir, { recursive: true });
// Each runtime saves its latency curves here and draws the plots from all it finds
// (bench/report_plots.ts): start without the curves of an earlier run.
for (const curves of [join(outDir, "curves"), join(outDir, "smoke", "curves")]) {
  rmSync(curves, { recursive: true, force: true });
}
let failed = false;
for (
  const [runtime, command, args] of [
    ["deno", deno, ["run", ...denoPermissions.run, ...denoPermissions.bench, "bench/main.ts", ...extra]],
    ["bun", bun, ["bench/main.ts", ...extra]],
  ]
) {
  console.log(`\n##### ${runtime}\n`);
  const { status, output } = step(command, args);
  writeFileSync(join(outDir, `${runtime}.txt`), output);
  failed ||= status !== 0;
}
console.log("\n##### system calls\n");
failed ||= step("node", [join(root, "scripts", "syscalls.mjs")]).status !== 0;
process.exit(failed ? 1 : 0);
