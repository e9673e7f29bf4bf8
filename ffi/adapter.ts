/**
 * What the rest of hotpath needs from a JavaScript runtime. ffi/deno.ts and ffi/bun.ts
 * implement it; nothing outside ffi/ touches `Deno.dlopen` or `bun:ffi`.
 *
 * @module
 */
import type { NativeSymbolsOf, NativeType, SymbolSpec } from "./symbols.ts";
import { HotpathError } from "./errors.ts";

/** The runtime-specific operations hotpath is built on. */
export interface RuntimeAdapter {
  readonly runtime: "deno" | "bun";
  /**
   * dlopen: the functions of `table`, typed from it. Throws the runtime's own error when the
   * file cannot be loaded or lacks a symbol.
   */
  open<T extends Record<string, SymbolSpec>>(path: string, table: T): NativeSymbolsOf<T>;
  /** A size_t argument in the form this runtime passes fastest (BigInt on Deno, number on Bun). */
  usize(value: number): number | bigint;
  fileExists(path: string): boolean;
  /** A file's bytes, or undefined if it cannot be read. */
  readBytes(path: string): Uint8Array | undefined;
  /** Writes a file through a temporary name and a rename, creating directories; an error message or undefined. */
  writeFileAtomic(path: string, bytes: Uint8Array): string | undefined;
  readText(path: string): string | undefined;
  /** An environment variable, or undefined (also when the permission is missing). */
  env(name: string): string | undefined;
  /** Runs a program to completion; never throws. */
  run(command: string, args: string[], cwd: string): { success: boolean; output: string };
}

/** Maps a neutral type name through `names`; an unknown name is a bug in the table. */
export function mapType<T>(type: NativeType, names: Record<NativeType, T>): T {
  const mapped = names[type];
  if (mapped === undefined) {
    throw new HotpathError("UNSUPPORTED_RUNTIME", `The FFI type "${type}" has no mapping on this runtime.`);
  }
  return mapped;
}
