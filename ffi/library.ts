/**
 * Finds, opens and checks libhotpath, once per thread (each Worker has its own module
 * instance). Search order: an explicit path, `HOTPATH_LIB`; for a package on the file system
 * the library built inside it, then its prebuilt library for this platform, then `zig build`
 * when Zig is available; for a package imported by URL (JSR, https), its prebuilt library,
 * fetched, checked against its SHA-256 and cached (ffi/prebuilt.ts) while this module
 * loads. The library stays loaded for the life of the thread: calling into a closed library
 * crashes (shared/PITFALLS.md 9).
 *
 * The same file is opened twice: by FFI for every call, and as a Node-API module for the one
 * thing FFI cannot do, an ArrayBuffer whose backing store tells the library when it is freed
 * (zig/src/abi/napi.zig). Both runtimes provide `process.dlopen`.
 *
 * @module
 */
import process from "node:process";
import { adapter } from "./runtime.ts";
import { HotpathError } from "./errors.ts";
import { verifyAbi } from "./abi.ts";
import { type NativeSymbols, symbols } from "./symbols.ts";
import { noPrebuiltReason, prebuiltForHost, type RemoteLibrary, remoteLibrary } from "./prebuilt.ts";

/** How to find the library. */
export interface LoadOptions {
  /** Path of libhotpath.so; when given, nothing else is tried. */
  path?: string;
  /** Build the library with `zig build` when no built library is found. Default: true. */
  build?: boolean;
}

/** The loaded library. */
export interface Native {
  readonly runtime: "deno" | "bun";
  readonly path: string;
  readonly abiVersion: number;
  readonly symbols: NativeSymbols;
  /**
   * An ArrayBuffer over all of live region `id` that holds the region mapped until the engine
   * frees its backing store (wherever it was transferred); undefined if `id` is not live.
   * One per region per realm: every view is built over it. For a shared pool, `cacheToken` names
   * the realm's cache, which is freed together with the buffer.
   */
  regionBuffer(id: number, cacheToken?: number): ArrayBuffer | undefined;
}

/** What the Node-API side of the library adds to `module.exports`. */
interface NodeApiExports {
  regionBuffer?: (id: number, cacheToken?: number) => ArrayBuffer | undefined;
}

const libraryName = process.platform === "darwin" ? "libhotpath.dylib" : "libhotpath.so";
let loaded: Native | undefined;

function packageRoot(): string | undefined {
  const url = new URL("..", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname).replace(/\/$/, "") : undefined;
}

function builtLibrary(root: string): string {
  return `${root}/zig/zig-out/lib/${libraryName}`;
}

/** Zig on PATH, or the one the project's setup installed (pinned in package.json). */
function zigCandidates(root: string): string[] {
  const candidates = ["zig"];
  const manifest = adapter.readText(`${root}/package.json`);
  const version = manifest
    ? (JSON.parse(manifest) as { hotpath?: { zigVersion?: string } }).hotpath?.zigVersion
    : undefined;
  const installed = `${root}/node_modules/.hotpath/zig-${version}/ziglang/zig`;
  if (version && adapter.fileExists(installed)) candidates.unshift(installed);
  return candidates;
}

function buildWithZig(root: string, tried: string[]): string | undefined {
  for (const zig of zigCandidates(root)) {
    const result = adapter.run(zig, ["build"], `${root}/zig`);
    if (result.success && adapter.fileExists(builtLibrary(root))) return builtLibrary(root);
    tried.push(`zig build with "${zig}": ${result.output.trim().split("\n").slice(-3).join(" ") || "failed"}`);
  }
  return undefined;
}

/**
 * A package imported by URL gets its prebuilt library before anything asks for it: fetching is
 * asynchronous, and opening the library (at the first pool) is not. Skipped on the file system
 * and when HOTPATH_LIB names a library.
 */
const remote: RemoteLibrary | undefined = packageRoot() === undefined && !adapter.env("HOTPATH_LIB")
  ? await remoteLibrary(new URL("..", import.meta.url))
  : undefined;

function locate(options: LoadOptions): string {
  if (options.path !== undefined) return options.path;
  const tried: string[] = [];
  const fromEnvironment = adapter.env("HOTPATH_LIB");
  if (fromEnvironment) return fromEnvironment;
  tried.push("HOTPATH_LIB is not set");
  const root = packageRoot();
  if (root === undefined) {
    if (remote?.path !== undefined) return remote.path;
    tried.push(`the package is not on the file system (${import.meta.url})`, ...(remote?.tried ?? []));
    throw notFound(tried);
  }
  if (adapter.fileExists(builtLibrary(root))) return builtLibrary(root);
  tried.push(`no library built at ${builtLibrary(root)}`);
  const prebuilt = prebuiltForHost();
  const prebuiltPath = prebuilt === undefined ? undefined : `${root}/prebuilt/${prebuilt.file}`;
  if (prebuiltPath !== undefined && adapter.fileExists(prebuiltPath)) return prebuiltPath;
  tried.push(prebuiltPath === undefined ? noPrebuiltReason() : `no prebuilt library at ${prebuiltPath}`);
  if (options.build !== false) {
    const built = buildWithZig(root, tried);
    if (built) return built;
  }
  throw notFound(tried);
}

function notFound(tried: string[]): HotpathError {
  return new HotpathError(
    "LIBRARY_NOT_FOUND",
    `libhotpath was not found (${tried.join("; ")}). Set HOTPATH_LIB to the path of a libhotpath ` +
      `built for this platform, or build it from a checkout: node scripts/setup.mjs (installs Zig).`,
  );
}

function open(path: string): NativeSymbols {
  try {
    return adapter.open(path, symbols);
  } catch (error) {
    throw new HotpathError(
      "LIBRARY_NOT_FOUND",
      `libhotpath could not be loaded from ${path}: ${error instanceof Error ? error.message : String(error)}. ` +
        "Check the path, or rebuild with: node scripts/setup.mjs.",
    );
  }
}

function openNodeApi(path: string): NonNullable<NodeApiExports["regionBuffer"]> {
  const module = { exports: {} as NodeApiExports };
  try {
    (process as unknown as { dlopen(module: object, path: string): void }).dlopen(module, path);
  } catch (error) {
    throw new HotpathError(
      "LIBRARY_NOT_FOUND",
      `libhotpath could not be loaded as a Node-API module from ${path}: ` +
        `${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  const regionBuffer = module.exports.regionBuffer;
  if (typeof regionBuffer !== "function") {
    throw new HotpathError(
      "UNSUPPORTED_RUNTIME",
      `${path} registered no Node-API functions: this runtime lacks Node-API.`,
    );
  }
  return regionBuffer;
}

/**
 * Opens libhotpath (once per realm; later calls return the same library). Called implicitly
 * by the first pool or arena; the public `loadLibrary` calls it first to choose the path.
 */
export function openNative(options: LoadOptions = {}): Native {
  if (loaded !== undefined) {
    if (options.path !== undefined && options.path !== loaded.path) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `libhotpath is already loaded from ${loaded.path}; it cannot be loaded again from ${options.path}.`,
      );
    }
    return loaded;
  }
  const path = locate(options);
  const native = open(path);
  verifyAbi(path, native);
  const regionBuffer = openNodeApi(path);
  loaded = {
    runtime: adapter.runtime,
    path,
    abiVersion: native.hp_abi_version(),
    symbols: native,
    regionBuffer(id, cacheToken) {
      const buffer = cacheToken === undefined ? regionBuffer(id) : regionBuffer(id, cacheToken);
      return buffer instanceof ArrayBuffer ? buffer : undefined;
    },
  };
  return loaded;
}
