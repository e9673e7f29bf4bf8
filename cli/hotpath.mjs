#!/usr/bin/env node
// The `hotpath` bin for npm: hotpath is TypeScript over Deno's and Bun's FFI, so this runs
// cli/hotpath.ts under Bun or Deno (HOTPATH_RUNTIME=bun|deno chooses; else Bun, then Deno,
// from PATH or from this package's own node_modules/.bin).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, "hotpath.ts");
const local = (name) => join(here, "..", "node_modules", ".bin", name);

function found(name) {
  if (existsSync(local(name))) return local(name);
  const probe = spawnSync(name, ["--version"], { stdio: "ignore" });
  return probe.status === 0 ? name : undefined;
}

const wanted = process.env.HOTPATH_RUNTIME;
const order = wanted === "deno" || wanted === "bun" ? [wanted] : ["bun", "deno"];
const runtime = order.map((name) => [name, found(name)]).find(([, binary]) => binary !== undefined);
if (runtime === undefined) {
  process.stderr.write("hotpath: needs Bun or Deno on PATH (or HOTPATH_RUNTIME=bun|deno with it installed).\n");
  process.exit(127);
}
const [name, binary] = runtime;
const args = name === "deno"
  ? ["run", "--allow-ffi", "--allow-read", "--allow-env", script, ...process.argv.slice(2)]
  : [script, ...process.argv.slice(2)];
const result = spawnSync(binary, args, { stdio: "inherit" });
process.exit(result.status ?? 1);
