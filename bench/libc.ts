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

type PointerApi = { value(pointer: unknown): bigint | number; create(address: number): unknown };
// Deno types `create` as taking a bigint; it takes a number as well (checked: value(create(n)) === BigInt(n)).
const denoPointers = (globalThis as unknown as { Deno?: { UnsafePointer: PointerApi } }).Deno?.UnsafePointer;

/** A pointer's address as a number (exact below 2^53), to pass it to another Worker. */
export function pointerAddress(pointer: NativePointer): number {
  return denoPointers ? Number(denoPointers.value(pointer)) : pointer as number;
}

/** The pointer at `address`, in this runtime's form (an object on Deno, a number on Bun). */
export function pointerAt(address: number): NativePointer {
  return denoPointers ? denoPointers.create(address) : address;
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

/**
 * Nanoseconds to turn a pointer into a number and back (what a cross-Worker handover of a
 * malloc'd block costs on top of malloc and free), measured here, median of 5 runs.
 */
export function pointerHandoverNs(libc: Libc, iterations = 200_000): number {
  const pointer = libc.mallocOf(64)();
  const times: number[] = [];
  let last: NativePointer = pointer;
  for (let run = 0; run < 5; run++) {
    const start = performance.now();
    for (let index = 0; index < iterations; index++) last = pointerAt(pointerAddress(last));
    times.push(((performance.now() - start) * 1e6) / iterations);
  }
  libc.free(pointer);
  return times.sort((a, b) => a - b)[2];
}
