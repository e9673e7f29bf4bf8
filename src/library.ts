/**
 * Loading the native library and describing what was loaded.
 *
 * @module
 */
import { type LoadOptions, openNative } from "../ffi/library.ts";
import { regionsMapped } from "./region.ts";
import { HotpathError } from "./errors.ts";
import { describe, readOptions } from "./validate.ts";

export type { LoadOptions };

/** What `libraryInfo()` reports. */
export interface LibraryInfo {
  /** The runtime hotpath detected. */
  runtime: "deno" | "bun";
  /** Path of the loaded libhotpath. */
  path: string;
  /** ABI version of the loaded library. */
  abiVersion: number;
  /** Pools and arenas mapped now, including closed ones whose views are not yet collected. */
  regionsMapped: number;
}

/**
 * Loads libhotpath now instead of at the first pool or arena; the only way to pass an
 * explicit path. Search order otherwise: `HOTPATH_LIB`, the library built inside the package,
 * `zig build`. Throws LIBRARY_NOT_FOUND with what to run, ABI_MISMATCH or LAYOUT_MISMATCH.
 *
 * @example
 * ```ts
 * import { loadLibrary } from "@hotpath/core";
 * loadLibrary({ build: false });
 * ```
 */
export function loadLibrary(options: LoadOptions = {}): LibraryInfo {
  const where = "loadLibrary";
  const given = readOptions(where, options, ["path", "build"]);
  if (given.path !== undefined && (typeof given.path !== "string" || given.path.length === 0)) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: path must be a non-empty string; got ${describe(given.path)}.`,
    );
  }
  if (given.build !== undefined && typeof given.build !== "boolean") {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: build must be true or false; got ${describe(given.build)}.`);
  }
  openNative({ path: given.path as string | undefined, build: given.build as boolean | undefined });
  return libraryInfo();
}

/**
 * Describes the loaded library (loading it if needed).
 *
 * @example
 * ```ts
 * import { libraryInfo } from "@hotpath/core";
 * console.log(libraryInfo().runtime);
 * ```
 */
export function libraryInfo(): LibraryInfo {
  const native = openNative();
  return { runtime: native.runtime, path: native.path, abiVersion: native.abiVersion, regionsMapped: regionsMapped() };
}
