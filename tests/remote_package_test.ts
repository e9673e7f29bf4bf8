/**
 * hotpath imported by URL, as a remote Deno user imports it from JSR: the files `deno publish`
 * would upload (and nothing else) are served over HTTP on 127.0.0.1, and fresh Deno processes
 * with empty caches import it, so the loader has to fetch the prebuilt library for this
 * platform, check its SHA-256 and cache it.
 * Deno only: Bun installs packages on the file system (tests/install_test.ts covers that).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import { runtime, test } from "./harness.ts";
import { hostPrebuilt, jsrFiles, root } from "./package_files.ts";

let published: Set<string> | undefined;

interface Server {
  port: number;
  fetched: string[];
  close(): Promise<void>;
}

/** Serves the published package's files (GET only); `tamper` corrupts libraries: a bit or a size. */
function serve(port: number, tamper: "none" | "flip" | "grow" = "none"): Server {
  const fetched: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
    const path = normalize(decodeURIComponent(new URL(request.url).pathname)).replace(/^\/+/, "");
    const file = join(root, path);
    if (!published?.has(path)) return new Response("not found", { status: 404 });
    if (path.startsWith("prebuilt/")) fetched.push(path);
    const bytes = readFileSync(file);
    if (!path.startsWith("prebuilt/") || tamper === "none") return new Response(bytes);
    if (tamper === "grow") return new Response(new Uint8Array([...bytes, 0]));
    bytes[bytes.length - 1] ^= 0xff;
    return new Response(bytes);
  });
  return { port: server.addr.port, fetched, close: () => server.shutdown() };
}

/**
 * Runs a fresh Deno on a project that imports hotpath by URL; returns its one JSON line.
 * Asynchronously: this process's event loop serves the child's downloads.
 */
async function runProject(
  project: string,
  port: number,
  extraEnv: Record<string, string> = {},
  allowEnv = true,
  script = "main.ts",
): Promise<Record<string, string>> {
  const cache = join(project, "cache");
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", HOME: project, NO_COLOR: "1" };
  Object.assign(env, { DENO_DIR: join(project, "deno"), HOTPATH_CACHE_DIR: cache }, extraEnv);
  const names = "HOTPATH_LIB,HOTPATH_CACHE_DIR,HOTPATH_PLATFORM,HOTPATH_DEBUG,DENO_DIR,XDG_CACHE_HOME,HOME";
  const args = [
    "run",
    `--allow-import=127.0.0.1:${port}`,
    `--allow-net=127.0.0.1:${port}`,
    `--allow-read=${cache},${join(project, "worker.ts")}`, // a Worker reads its own script
    `--allow-write=${cache}`,
    ...(allowEnv ? [`--allow-env=${names}`] : []),
    "--allow-ffi",
    join(project, script),
  ];
  const command = new Deno.Command(Deno.execPath(), { args, cwd: project, env, clearEnv: true });
  const result = await command.output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(result.stdout);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  assert.ok(last.startsWith("{"), `no result from the child: ${stdout}\n${decoder.decode(result.stderr)}`);
  return JSON.parse(last);
}

/** What each project runs: a pool, then its result through `report` (an expression). */
function usePool(port: number, report: string): string {
  return `import { HotpathError, libraryInfo, Pool } from "http://127.0.0.1:${port}/mod.ts";
const report = ${report};
try {
  using pool = new Pool({ blockSize: 64, capacity: 8 });
  pool.free(pool.alloc());
  report({ ok: "yes", path: libraryInfo().path });
} catch (error) {
  if (!(error instanceof HotpathError)) throw error;
  report({ ok: "no", code: error.code, message: error.message });
}
`;
}

/** Four Workers that import hotpath at once: their first runs race in one process. */
const workersMain = `const results = await Promise.all([0, 1, 2, 3].map(() => new Promise((resolve) => {
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  worker.onmessage = (event) => { resolve(event.data); worker.terminate(); };
  worker.onerror = (event) => { event.preventDefault(); resolve({ ok: "no", message: event.message }); };
})));
const ok = results.every((result) => result.ok === "yes") ? "yes" : "no";
console.log(JSON.stringify({ ok, path: results[0].path, message: JSON.stringify(results) }));
`;

/** Every project directory made, removed at the end of the test. */
const projects: string[] = [];

/** A project that imports hotpath by URL: main.ts in this thread, workers.ts in four Workers. */
function project(port: number): string {
  const directory = mkdtempSync(join(tmpdir(), "hotpath-remote-"));
  projects.push(directory);
  writeFileSync(join(directory, "main.ts"), usePool(port, "(result: object) => console.log(JSON.stringify(result))"));
  writeFileSync(join(directory, "worker.ts"), usePool(port, "(result: object) => self.postMessage(result)"));
  writeFileSync(join(directory, "workers.ts"), workersMain);
  return directory;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

if (runtime === "deno") {
  test("a package imported by URL fetches, checks and caches its prebuilt library, then works offline", async () => {
    const library = hostPrebuilt();
    const fileName = library.file.slice(library.file.lastIndexOf("/") + 1);
    published = jsrFiles(Deno.execPath());
    let server = serve(0);
    const port = server.port;
    const directory = project(port);
    try {
      const first = await runProject(directory, port);
      assert.equal(first.ok, "yes", first.message);
      assert.ok(first.path.startsWith(join(directory, "cache")), first.path);
      assert.equal(sha256(first.path), library.sha256);
      assert.deepEqual(server.fetched, [`prebuilt/${library.file}`]);
      await server.close();

      assert.equal((await runProject(directory, port)).ok, "yes", "offline, from the cache");

      writeFileSync(first.path, "not a library");
      server = serve(port);
      const repaired = await runProject(directory, port);
      assert.equal(repaired.ok, "yes", repaired.message);
      assert.equal(sha256(repaired.path), library.sha256, "the corrupt cache entry was fetched again");
      assert.equal(server.fetched.length, 1);

      const racing = project(port);
      const together = await Promise.all([1, 2, 3, 4].map(() => runProject(racing, port)));
      assert.deepEqual(together.map((result) => result.ok), ["yes", "yes", "yes", "yes"], "four first runs at once");
      const cached = join(racing, "cache", "hotpath", library.sha256);
      assert.deepEqual(readdirSync(cached), [fileName], "no temporary file is left");
      assert.equal(sha256(join(cached, fileName)), library.sha256);

      const workers = project(port);
      const fromWorkers = await runProject(workers, port, {}, true, "workers.ts");
      assert.equal(fromWorkers.ok, "yes", fromWorkers.message);
      assert.deepEqual(readdirSync(join(workers, "cache", "hotpath", library.sha256)), [
        fileName,
      ], "four Workers of one process, one cached file, no temporary file");
      await server.close();

      server = serve(port, "flip");
      const tampered = await runProject(project(port), port);
      assert.equal(tampered.code, "LIBRARY_NOT_FOUND");
      assert.match(tampered.message, /SHA-256 [0-9a-f]{64}, not the expected [0-9a-f]{64}: refused/);
      await server.close();

      server = serve(port, "grow");
      const grown = await runProject(project(port), port);
      assert.equal(grown.code, "LIBRARY_NOT_FOUND");
      assert.match(grown.message, /is more than \d+ bytes, not the expected \d+: refused/);

      const unknown = await runProject(project(port), port, { HOTPATH_PLATFORM: "plan9-x64" });
      assert.equal(unknown.code, "LIBRARY_NOT_FOUND");
      assert.match(unknown.message, /no prebuilt library for platform plan9-x64 \(there are: linux-x64/);
      assert.match(unknown.message, /Set HOTPATH_LIB/);

      const noEnvironment = await runProject(project(port), port, {}, false);
      assert.equal(noEnvironment.code, "LIBRARY_NOT_FOUND");
      assert.match(noEnvironment.message, /no cache directory .*--allow-env=HOTPATH_LIB,HOTPATH_CACHE_DIR/);
    } finally {
      await server.close().catch(() => {});
      for (const directory of projects.splice(0)) rmSync(directory, { recursive: true, force: true });
    }
  });
}
