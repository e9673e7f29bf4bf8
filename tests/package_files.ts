/**
 * What the published packages contain, as their own tools list it: `deno publish --dry-run`
 * for JSR and `npm pack --dry-run` for npm. Paths relative to the repository root.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PrebuiltLibrary } from "../ffi/prebuilt.generated.ts";
import { prebuiltForHost } from "../ffi/prebuilt.ts";

export const root: string = fileURLToPath(new URL("..", import.meta.url));

function output(command: string, args: string[]): string {
  const env = { ...process.env, NO_COLOR: "1" };
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", env });
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  return `${result.stdout}${result.stderr}`;
}

/** Files `npm pack` would publish. */
export function npmFiles(): Set<string> {
  const packed = JSON.parse(output("npm", ["pack", "--dry-run", "--json", "--silent"])) as {
    files: { path: string }[];
  }[];
  return new Set(packed[0].files.map((file) => file.path));
}

/** Files `deno publish` would publish; `deno` is the Deno executable. */
export function jsrFiles(deno: string): Set<string> {
  const listed = output(deno, ["publish", "--dry-run", "--allow-dirty"]);
  const prefix = `file://${root}`;
  return new Set(
    listed.split("\n").map((line) => line.trim().split(" ")[0]).filter((url) => url.startsWith(prefix))
      .map((url) => url.slice(prefix.length)),
  );
}

/** This host's prebuilt library, built first if prebuilt/ lacks it (a run of one test file). */
export function hostPrebuilt(): PrebuiltLibrary {
  const library = prebuiltForHost();
  assert.ok(library, "no prebuilt library for this host");
  if (!existsSync(join(root, "prebuilt", library.file))) output("node", [join(root, "scripts", "prebuild.mjs")]);
  return library;
}
