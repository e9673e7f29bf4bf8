/**
 * The JSR package (deno.json) and the npm package (package.json) agree: one name, one version
 * (the Zig package's too), one entry point, and the same files, as `deno publish --dry-run` and
 * `npm pack --dry-run` list them: the sources and every prebuilt library, nothing from tests,
 * benchmarks, scripts, examples or the Zig test helpers. Run once, from Deno (it runs both tools).
 *
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PREBUILT } from "../ffi/prebuilt.generated.ts";
import { jsrFiles, npmFiles, root } from "./package_files.ts";
import { runtime, test } from "./harness.ts";

function json(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${root}${name}`, "utf8"));
}

const without = (files: Set<string>, ...names: string[]) => [...files].filter((file) => !names.includes(file)).sort();

if (runtime === "deno") {
  test("package.json, deno.json and build.zig.zon agree on name, version and entry point", () => {
    const npm = json("package.json");
    const jsr = json("deno.json");
    assert.equal(npm.name, jsr.name);
    assert.equal(npm.version, jsr.version);
    assert.deepEqual(npm.exports, { ".": jsr.exports });
    const zon = readFileSync(`${root}zig/build.zig.zon`, "utf8").match(/\.version = "([^"]+)"/);
    assert.equal(zon?.[1], npm.version, "zig/build.zig.zon's version");
  });

  test("npm pack and deno publish list the same files: sources and every prebuilt library, no tests", () => {
    const npm = npmFiles();
    const jsr = jsrFiles(Deno.execPath());
    assert.deepEqual(without(npm, "package.json"), without(jsr, "package.json", "deno.json"));
    for (const library of Object.values(PREBUILT)) assert.ok(npm.has(`prebuilt/${library.file}`), library.file);
    for (const needed of ["mod.ts", "README.md", "LICENSE", "ffi/library.ts", "zig/build.zig", "cli/hotpath.mjs"]) {
      assert.ok(npm.has(needed), needed);
    }
    const unwanted =
      /^(tests|bench|scripts|examples|node_modules|\.ci|zig\/src\/testing|zig\/zig-out|zig\/\.zig-cache)\//;
    assert.deepEqual([...npm].filter((file) => unwanted.test(file)), []);
  });
}
