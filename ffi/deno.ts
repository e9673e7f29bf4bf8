/**
 * The Deno adapter: `Deno.dlopen` and `Deno.UnsafePointerView`.
 *
 * @module
 */
import type { RuntimeAdapter } from "./adapter.ts";
import { mapType } from "./adapter.ts";
import type { NativeSymbolsOf, NativeType, SymbolSpec } from "./symbols.ts";

const denoTypes: Record<NativeType, Deno.NativeResultType> = {
  u32: "u32",
  i32: "i32",
  f64: "f64",
  void: "void",
  pointer: "pointer",
  buffer: "buffer",
  usize: "usize",
};

function denoInterface(table: Record<string, SymbolSpec>): Deno.ForeignLibraryInterface {
  const result: Record<string, Deno.ForeignFunction> = {};
  for (const [name, spec] of Object.entries(table)) {
    result[name] = {
      parameters: spec.parameters.map((type) => mapType(type, denoTypes) as Deno.NativeType),
      result: mapType(spec.result, denoTypes),
      ...(spec.nonblocking ? { nonblocking: true } : {}),
    };
  }
  return result;
}

/** The adapter for Deno 2.x. */
export const denoAdapter: RuntimeAdapter = {
  runtime: "deno",
  open<T extends Record<string, SymbolSpec>>(path: string, table: T): NativeSymbolsOf<T> {
    // Deno types its symbols from Deno's own type names; ours are mapped one to one above,
    // so the table's own derived types describe the same functions.
    return Deno.dlopen(path, denoInterface(table)).symbols as unknown as NativeSymbolsOf<T>;
  },
  // Only a BigInt takes Deno's fast path for 64-bit parameters (shared/PITFALLS.md 14).
  usize(value) {
    return BigInt(value);
  },
  fileExists(path) {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  },
  readBytes(path) {
    try {
      return Deno.readFileSync(path);
    } catch {
      return undefined;
    }
  },
  writeFileAtomic(path, bytes) {
    const temporary = `${path}.${crypto.randomUUID()}.tmp`; // unique: Workers share a pid
    try {
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      Deno.writeFileSync(temporary, bytes);
      Deno.renameSync(temporary, path);
      return undefined;
    } catch (error) {
      try {
        Deno.removeSync(temporary);
      } catch { /* never written */ }
      return error instanceof Error ? error.message : String(error);
    }
  },
  readText(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  },
  env(name) {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  },
  run(command, args, cwd) {
    try {
      const result = new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" }).outputSync();
      const decoder = new TextDecoder();
      return { success: result.success, output: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
    } catch (error) {
      return { success: false, output: String(error) };
    }
  },
};
