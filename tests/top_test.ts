/**
 * `hotpath top` against a live churning process: its one-shot JSON and text views, through
 * the npm bin launcher, and its live screen in a real terminal (tmux), read back while it
 * refreshes; then the same process killed -9 shows as dead and `--prune` removes its file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "./harness.ts";
import { spawnLines } from "./processes/child_lines.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "cli", "hotpath.ts");
const binary = join(root, "node_modules", ".bin", runtime);
const runtimeArgs = runtime === "deno" ? ["run", "--allow-ffi", "--allow-read", "--allow-env", cli] : [cli];

function hotpath(args: string[]) {
  return spawnSync(binary, [...runtimeArgs, ...args], { encoding: "utf8", timeout: 60_000 });
}

function tmux(socket: string, args: string[]): string {
  const result = spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8", timeout: 10_000 });
  assert.equal(result.status, 0, `tmux ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function screenShowing(socket: string, text: string): Promise<string> {
  let screen = "";
  for (let attempt = 0; attempt < 150 && !screen.includes(text); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    screen = tmux(socket, ["capture-pane", "-p", "-t", "top"]);
  }
  assert.ok(screen.includes(text), `the screen shows "${text}":\n${screen}`);
  return screen;
}

test(`hotpath top (${runtime}) on a live churning process: JSON, text, bin, live terminal, kill -9`, async () => {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-test-top-"));
  const child = spawnLines(runtime === "deno" ? "bun" : "deno", "tests/processes/stats_writer_child.ts", [directory]);
  const socket = `hotpath-test-${crypto.randomUUID()}`;
  try {
    await child.line("ready");
    await new Promise((resolve) => setTimeout(resolve, 200)); // the Monitor's first checks
    const json = hotpath(["top", "--json", `--directory=${directory}`, "--interval=200"]);
    assert.equal(json.status, 0, json.stderr);
    const view = JSON.parse(json.stdout);
    assert.deepEqual(view.processes.map((entry: { pid: number }) => entry.pid), [child.pid]);
    const churn = view.rows.find((row: { name: string }) => row.name === "churn");
    assert.equal(churn.kind, "Pool");
    assert.ok(churn.allocationsPerSecond > 0 && churn.freesPerSecond > 0, JSON.stringify(churn));
    assert.equal(churn.alert, "warn", "the child's Monitor alert is visible");
    assert.deepEqual(view.rows.map((row: { kind: string }) => row.kind).sort(), ["Arena", "Pool", "Ring"]);

    const text = hotpath(["top", "--once", `--directory=${directory}`, "--interval=200", String(child.pid)]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^hotpath top - 1 process, 3 objects/);
    assert.match(text.stdout, new RegExp(`${child.pid} Pool +churn .* warn `));

    const bin = spawnSync("node", [join(root, "cli", "hotpath.mjs"), "top", "--once", `--directory=${directory}`], {
      encoding: "utf8",
      env: { ...process.env, HOTPATH_RUNTIME: runtime },
    });
    assert.equal(bin.status, 0, bin.stderr);
    assert.ok(bin.stdout.includes("churn"), bin.stdout);

    // The live view in a terminal: it draws, then redraws with new figures.
    const command = [binary, ...runtimeArgs, "top", `--directory=${directory}`, "--interval=200"]
      .map((part) => `'${part}'`).join(" ");
    tmux(socket, ["new-session", "-d", "-s", "top", "-x", "200", "-y", "40", command]);
    const first = await screenShowing(socket, "churn");
    await new Promise((resolve) => setTimeout(resolve, 700));
    const second = await screenShowing(socket, "churn");
    assert.notEqual(second, first, "the screen refreshed");
    assert.match(second, /Pool +churn .* warn /);
    tmux(socket, ["kill-server"]);

    await child.kill();
    const after = JSON.parse(hotpath(["top", "--json", `--directory=${directory}`, "--interval=100"]).stdout);
    assert.deepEqual([after.rows.length, after.dead], [0, [child.pid]]);
    const pruned = hotpath(["top", "--once", "--prune", `--directory=${directory}`, "--interval=100"]);
    assert.match(pruned.stderr, /removed the files of 1 dead process/);
    assert.equal(existsSync(join(directory, `hotpath-stats-${child.pid}`)), false);
  } finally {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
    await child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("hotpath refuses malformed arguments with its usage (exit 2)", () => {
  for (const args of [["top", "--bogus"], ["top", "--sort=size"], ["top", "--interval=5"], ["top", "--once=1"]]) {
    const result = hotpath(args);
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /usage: hotpath top/);
  }
  assert.equal(hotpath(["frobnicate"]).status, 2);
  const help = hotpath(["help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--once/);
  const absent = hotpath(["top", "--once", "--directory=/nonexistent-hotpath-dir"]);
  assert.equal(absent.status, 1);
  assert.match(absent.stderr, /nonexistent-hotpath-dir/);
});
