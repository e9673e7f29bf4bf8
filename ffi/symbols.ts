/**
 * The C ABI of libhotpath as one runtime-neutral table. Each entry gives the Zig type of every
 * parameter in a comment; ffi/deno.ts and ffi/bun.ts map these type names exactly and throw on
 * any other. Hot signatures use u32/i32/f64 only (shared/PITFALLS.md 3, 14).
 *
 * @module
 */

/**
 * Parameter and result types the adapters know. `buffer` is a Uint32Array passed by address;
 * `usize` is for foreign C functions only (libc in benchmarks): hotpath's own ABI never uses it.
 */
export type NativeType = "u32" | "i32" | "f64" | "void" | "pointer" | "buffer" | "usize";

/** One foreign function: its parameter types and its result type. */
export interface SymbolSpec {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
}

/** Every symbol hotpath calls. */
export const symbols = {
  /** fn hp_abi_version() u32 */
  hp_abi_version: { parameters: [], result: "u32" },
  /** fn hp_layout_count() u32 */
  hp_layout_count: { parameters: [], result: "u32" },
  /** fn hp_layout_value(index: u32) u32 */
  hp_layout_value: { parameters: ["u32"], result: "u32" },
  /** fn hp_noop() void */
  hp_noop: { parameters: [], result: "void" },
  /** fn hp_clock_ns() f64 */
  hp_clock_ns: { parameters: [], result: "f64" },
  /** fn hp_pool_create(block_size, capacity, capacity_max, grow_chunk, alignment, flags: u32) i32 */
  hp_pool_create: { parameters: ["u32", "u32", "u32", "u32", "u32", "u32"], result: "i32" },
  /** fn hp_pool_grow(id: u32) i32 */
  hp_pool_grow: { parameters: ["u32"], result: "i32" },
  /** fn hp_pool_alloc(id: u32) i32 */
  hp_pool_alloc: { parameters: ["u32"], result: "i32" },
  /** fn hp_pool_free(id: u32, handle: u32) i32 */
  hp_pool_free: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_pool_alloc_many(id: u32, out: ?[*]u32, count: u32) i32 */
  hp_pool_alloc_many: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_pool_free_many(id: u32, handles: ?[*]const u32, count: u32) i32 */
  hp_pool_free_many: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_pool_reset(id: u32) i32 */
  hp_pool_reset: { parameters: ["u32"], result: "i32" },
  /** fn hp_arena_create(capacity: u32, alignment: u32, flags: u32) i32 */
  hp_arena_create: { parameters: ["u32", "u32", "u32"], result: "i32" },
  /** fn hp_arena_alloc(id: u32, size_bytes: u32, alignment: u32) i32 */
  hp_arena_alloc: { parameters: ["u32", "u32", "u32"], result: "i32" },
  /** fn hp_arena_rewind(id: u32, mark: u32) i32 */
  hp_arena_rewind: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_arena_reset(id: u32) i32 */
  hp_arena_reset: { parameters: ["u32"], result: "i32" },
  /** fn hp_region_base(id: u32) ?*anyopaque — setup only */
  hp_region_base: { parameters: ["u32"], result: "pointer" },
  /** fn hp_region_bytes(id: u32) f64 */
  hp_region_bytes: { parameters: ["u32"], result: "f64" },
  /** fn hp_region_close(id: u32) i32 */
  hp_region_close: { parameters: ["u32"], result: "i32" },
  /** fn hp_region_release(id: u32) i32 */
  hp_region_release: { parameters: ["u32"], result: "i32" },
  /** fn hp_regions_mapped() u32 */
  hp_regions_mapped: { parameters: [], result: "u32" },
} as const satisfies Record<string, SymbolSpec>;

/** An opaque native pointer as the runtime represents it (an object in Deno, a number in Bun). */
export type NativePointer = unknown;

/** The functions of libhotpath, called the same way on every runtime. */
export interface NativeSymbols {
  hp_abi_version(): number;
  hp_layout_count(): number;
  hp_layout_value(index: number): number;
  hp_noop(): void;
  hp_clock_ns(): number;
  hp_pool_create(
    blockSize: number,
    capacity: number,
    capacityMax: number,
    growChunk: number,
    alignment: number,
    flags: number,
  ): number;
  hp_pool_grow(id: number): number;
  hp_pool_alloc(id: number): number;
  hp_pool_free(id: number, handle: number): number;
  hp_pool_alloc_many(id: number, out: Uint32Array, count: number): number;
  hp_pool_free_many(id: number, handles: Uint32Array, count: number): number;
  hp_pool_reset(id: number): number;
  hp_arena_create(capacity: number, alignment: number, flags: number): number;
  hp_arena_alloc(id: number, sizeBytes: number, alignment: number): number;
  hp_arena_rewind(id: number, mark: number): number;
  hp_arena_reset(id: number): number;
  hp_region_base(id: number): NativePointer;
  hp_region_bytes(id: number): number;
  hp_region_close(id: number): number;
  hp_region_release(id: number): number;
  hp_regions_mapped(): number;
}
