/**
 * The Bun adapter: `bun:ffi`, loaded by dynamic import so that Deno never resolves it.
 * Memory reaches JavaScript through Node-API (ffi/library.ts), never `toBuffer` or
 * `toArrayBuffer` (shared/PITFALLS.md 2).
 *
 * @module
 */
import type { RuntimeAdapter } from "./adapter.ts";
import { mapType } from "./adapter.ts";
import type { NativeSymbolsOf, NativeType, SymbolSpec } from "./symbols.ts";

/** The part of `bun:ffi` hotpath uses. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
    // deno-lint-ignore no-explicit-any
  ): { symbols: Record<string, (...args: any[]) => any> };
}

interface BunGlobal {
  spawnSync(
    command: string[],
    options: { cwd: string; stdout: "pipe"; stderr: "pipe" },
  ): { success: boolean; stdout: Uint8Array; stderr: Uint8Array };
  file(path: string): { size: number };
}

const bunTypes: Record<NativeType, string> = {
  u32: "u32",
  i32: "i32",
  f64: "f64",
  void: "void",
  pointer: "ptr",
  buffer: "ptr",
  usize: "u64",
};

/** Builds the adapter for Bun 1.x. */
export async function loadBunAdapter(): Promise<RuntimeAdapter> {
  const specifier = "bun:ffi";
  const ffi = (await import(specifier)) as BunFfi;
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  const fs = await import("node:fs");
  const decoder = new TextDecoder();
  return {
    runtime: "bun",
    open<T extends Record<string, SymbolSpec>>(path: string, table: T): NativeSymbolsOf<T> {
      const spec: Record<string, { args: string[]; returns: string }> = {};
      for (const [name, entry] of Object.entries<SymbolSpec>(table)) {
        spec[name] = {
          args: entry.parameters.map((type) => mapType(type, bunTypes)),
          returns: mapType(entry.result, bunTypes),
        };
      }
      // bun:ffi returns untyped functions; the spec above maps the table's types one to one.
      return ffi.dlopen(path, spec).symbols as unknown as NativeSymbolsOf<T>;
    },
    usize(value) {
      return value;
    },
    fileExists(path) {
      try {
        return fs.statSync(path).isFile();
      } catch {
        return false;
      }
    },
    readBytes(path) {
      try {
        return new Uint8Array(fs.readFileSync(path));
      } catch {
        return undefined;
      }
    },
    writeFileAtomic(path, bytes) {
      const temporary = `${path}.${crypto.randomUUID()}.tmp`; // unique: Workers share a pid
      try {
        fs.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        fs.writeFileSync(temporary, bytes);
        fs.renameSync(temporary, path);
        return undefined;
      } catch (error) {
        fs.rmSync(temporary, { force: true });
        return error instanceof Error ? error.message : String(error);
      }
    },
    readText(path) {
      try {
        return fs.readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
    },
    env(name) {
      return (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env[name];
    },
    run(command, args, cwd) {
      try {
        const result = bun.spawnSync([command, ...args], { cwd, stdout: "pipe", stderr: "pipe" });
        return { success: result.success, output: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
      } catch (error) {
        return { success: false, output: String(error) };
      }
    },
  };
}
