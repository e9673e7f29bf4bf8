// A small tidy check, part of `npm test`: no line over LINE_MAX characters, and no function
// over FUNCTION_MAX lines in library, FFI, Zig, script and benchmark sources (STYLE.md: short
// enough to read at once). Generated files are skipped; test files are held to the line
// limit only (their tables are long by design). Prints every violation; exit 1 if any.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { root } from "./tools.mjs";

const LINE_MAX = 120;
const FUNCTION_MAX = 70;
const ZIG_LINE_MAX = 140;
const folders = ["src", "cli", "ffi", "zig/src", "scripts", "bench", "examples", "tests", "mod.ts", "zig/build.zig"];
const skipped = /(^|\/)(node_modules|zig-out|\.zig-cache|out)(\/|$)|\.generated\.ts$/;

function files(path) {
  const full = join(root, path);
  if (skipped.test(path)) return [];
  if (statSync(full).isFile()) return /\.(ts|mjs|zig)$/.test(path) ? [path] : [];
  return readdirSync(full).flatMap((name) => files(join(path, name)));
}

/** Start lines of functions: `fn name(`, `function name(`, methods and arrow functions assigned to names. */
const START = new RegExp(
  String.raw`^\s*(?:pub\s+|export\s+|async\s+|static\s+|private\s+|override\s+|get\s+|set\s+)*` +
    String.raw`(?:fn\s+\w+\s*\(|function\s*\*?\s*\w*\s*[(<]` +
    String.raw`|#?\w+\s*(?:<[^>]*>)?\s*\([^)]*\)\s*(?::\s*[^={]+)?\s*\{\s*$` +
    String.raw`|(?:const|let)\s+\w+\s*=\s*(?:async\s*)?\([^)]*\)\s*(?::\s*[^=]+)?=>\s*\{\s*$)`,
);
const KEYWORDS = /^\s*(if|for|while|switch|catch|return|else|do|try|with)\b/;

/** Lines from `start` to the line where the braces opened on or after it balance again. */
function functionLength(lines, start) {
  let depth = 0;
  let opened = false;
  for (let index = start; index < lines.length; index++) {
    const code = lines[index].replace(/\/\/.*$/, "").replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`/g, "");
    for (const character of code) {
      if (character === "{") {
        depth++;
        opened = true;
      } else if (character === "}") depth--;
    }
    if (opened && depth <= 0) return index - start + 1;
  }
  return 0;
}

const problems = [];
for (const path of folders.flatMap(files)) {
  const lines = readFileSync(join(root, path), "utf8").split("\n");
  const limit = path.endsWith(".zig") ? ZIG_LINE_MAX : LINE_MAX;
  lines.forEach((line, index) => {
    if (line.length > limit) problems.push(`${path}:${index + 1}: line of ${line.length} characters (limit ${limit})`);
  });
  if (path.startsWith("tests/") || path.endsWith("_test.ts")) continue;
  lines.forEach((line, index) => {
    if (!START.test(line) || KEYWORDS.test(line) || line.trimStart().startsWith("test ")) return;
    const length = functionLength(lines, index);
    if (length > FUNCTION_MAX) {
      problems.push(`${path}:${index + 1}: function of ${length} lines (limit ${FUNCTION_MAX}): ${line.trim()}`);
    }
  });
}
for (const problem of problems) console.log(`tidy: ${relative(".", problem)}`);
console.log(`tidy: ${problems.length === 0 ? "clean" : `${problems.length} problem(s)`}`);
process.exit(problems.length === 0 ? 0 : 1);
