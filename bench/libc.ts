/**
 * libc's malloc and free through the runtime's FFI: the competitor hotpath's benchmarks run
 * side by side with pools. Declared with their real C types (size_t, void*), called the way
 * each runtime passes them fastest.
 *
 * @module
 */
import { adapter } from "../ffi/runtime.ts";
import type { NativePointer, SymbolSpec } from "../ffi/symbols.ts";

const libcSymbols = {
  /** void *malloc(size_t size) */
  malloc: { parameters: ["usize"], result: "pointer" },
  /** void free(void *pointer) */
  free: { parameters: ["pointer"], result: "void" },
} as const satisfies Record<string, SymbolSpec>;

/** malloc and free, with the size argument converted once. */
export interface Libc {
  /** Returns a function that mallocs `size` bytes per call. */
  mallocOf(size: number): () => NativePointer;
  free(pointer: NativePointer): void;
}

/** Opens the C library of this (glibc) system. */
export function openLibc(path = "libc.so.6"): Libc {
  const symbols = adapter.open(path, libcSymbols);
  const malloc = symbols.malloc;
  return {
    mallocOf(size) {
      const argument = adapter.usize(size);
      return () => malloc(argument);
    },
    free: symbols.free,
  };
}
