/**
 * The C ABI of libhotpath as one runtime-neutral table. Each entry gives the Zig signature in
 * a comment; ffi/deno.ts and ffi/bun.ts map these type names exactly and throw on any other.
 * The JavaScript type of every function is derived from its entry (`NativeSymbols`), so a
 * signature is written once. Hot signatures use u32/i32/f64 only (shared/PITFALLS.md 3, 14).
 *
 * @module
 */

/**
 * Parameter and result types the adapters know. `buffer` is a typed array passed by address
 * (any alignment: the library checks); `pointer` and `usize` are for foreign C functions in
 * benchmarks (libc): hotpath's own ABI never uses them.
 */
export type NativeType = "u32" | "i32" | "f64" | "void" | "buffer" | "pointer" | "usize";

/** One foreign function: its parameter types and its result type. */
export interface SymbolSpec {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
  /** Deno only: run on a worker thread and return a Promise (Bun has no such calls and runs it
   * synchronously, so callers use such a symbol on Deno only). */
  readonly nonblocking?: true;
}

/** An opaque native pointer as the runtime represents it (an object in Deno, a number in Bun). */
export type NativePointer = unknown;

/** The JavaScript value of each native type, as both runtimes pass and return it. */
type JsValue<T extends NativeType> = T extends "u32" | "i32" | "f64" ? number
  : T extends "void" ? void
  : T extends "buffer" ? ArrayBufferView | null
  : T extends "usize" ? number | bigint
  : NativePointer;

/** The JavaScript arguments of a parameter list (a homomorphic map keeps it a tuple). */
type JsArguments<P extends readonly NativeType[]> = {
  -readonly [K in keyof P]: P[K] extends NativeType ? JsValue<P[K]> : never;
};

/** The function an entry describes. */
export type NativeFunction<S extends SymbolSpec> = (
  ...args: JsArguments<S["parameters"]>
) => S["nonblocking"] extends true ? Promise<JsValue<S["result"]>> : JsValue<S["result"]>;

/** Every function of a table, typed from its entries. */
export type NativeSymbolsOf<T extends Record<string, SymbolSpec>> = { readonly [K in keyof T]: NativeFunction<T[K]> };

/** Every symbol of libhotpath that hotpath calls through FFI. */
export const symbols = {
  /** fn hp_abi_version() u32 */
  hp_abi_version: { parameters: [], result: "u32" },
  /** fn hp_abi_fingerprint() u32 */
  hp_abi_fingerprint: { parameters: [], result: "u32" },
  /** fn hp_layout_count() u32 */
  hp_layout_count: { parameters: [], result: "u32" },
  /** fn hp_layout_value(index: u32) f64 */
  hp_layout_value: { parameters: ["u32"], result: "f64" },
  /** fn hp_noop() void */
  hp_noop: { parameters: [], result: "void" },
  /** fn hp_clock_ns() f64 */
  hp_clock_ns: { parameters: [], result: "f64" },
  /** fn hp_clock_tsc_ns() f64 */
  hp_clock_tsc_ns: { parameters: [], result: "f64" },
  /** fn hp_clock_info(out: ?*anyopaque, out_bytes: u32) i32 */
  hp_clock_info: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_pool_create(config: ?[*]const u8, config_bytes: u32) i32 */
  hp_pool_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_pool_grow(id: u32) i32 */
  hp_pool_grow: { parameters: ["u32"], result: "i32" },
  /** fn hp_pool_alloc(id: u32) i32 */
  hp_pool_alloc: { parameters: ["u32"], result: "i32" },
  /** fn hp_pool_free(id: u32, handle: u32) i32 */
  hp_pool_free: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_pool_alloc_many(id: u32, out: ?*anyopaque, out_length: u32, count: u32) i32 */
  hp_pool_alloc_many: { parameters: ["u32", "buffer", "u32", "u32"], result: "i32" },
  /** fn hp_pool_free_many(id: u32, handles: ?*anyopaque, handles_length: u32, count: u32) i32 */
  hp_pool_free_many: { parameters: ["u32", "buffer", "u32", "u32"], result: "i32" },
  /** fn hp_pool_reset(id: u32) i32 */
  hp_pool_reset: { parameters: ["u32"], result: "i32" },
  /** fn hp_arena_create(config: ?[*]const u8, config_bytes: u32) i32 */
  hp_arena_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_region_address(id: u32) f64 */
  hp_region_address: { parameters: ["u32"], result: "f64" },
  /** fn hp_region_bytes(id: u32) f64 */
  hp_region_bytes: { parameters: ["u32"], result: "f64" },
  /** fn hp_region_close(id: u32) i32 */
  hp_region_close: { parameters: ["u32"], result: "i32" },
  /** fn hp_regions_mapped() u32 */
  hp_regions_mapped: { parameters: [], result: "u32" },
  /** fn hp_shared_pool_create(config: ?[*]const u8, config_bytes: u32, path: ?[*]const u8, path_bytes: u32) i32 */
  hp_shared_pool_create: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_shared_pool_open(path: ?[*]const u8, path_bytes: u32) i32 */
  hp_shared_pool_open: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_shared_pool_attach(id: u32) i32 */
  hp_shared_pool_attach: { parameters: ["u32"], result: "i32" },
  /** fn hp_shared_cache_claim(id: u32) i32 */
  hp_shared_cache_claim: { parameters: ["u32"], result: "i32" },
  /** fn hp_shared_cache_close(id: u32, token: u32) i32 */
  hp_shared_cache_close: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_refill(id: u32, token: u32) i32 */
  hp_shared_refill: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_flush(id: u32, token: u32) i32 */
  hp_shared_flush: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_collect(id: u32, token: u32) i32 */
  hp_shared_collect: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_recover(id: u32, token: u32) i32 */
  hp_shared_recover: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_cache_release(id: u32, token: u32) i32 */
  hp_shared_cache_release: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_shared_path_matches(id: u32, path: ?[*]const u8, path_bytes: u32) i32 */
  hp_shared_path_matches: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_shared_reclaim(id: u32) f64 */
  hp_shared_reclaim: { parameters: ["u32"], result: "f64" },
  /** fn hp_shared_grow(id: u32) i32 */
  hp_shared_grow: { parameters: ["u32"], result: "i32" },
  /** fn hp_shared_stats(id: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_shared_stats: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_shared_geometry(id: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_shared_geometry: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_shared_cache_info(id: u32, index: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_shared_cache_info: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_shared_verify(id: u32) i32 */
  hp_shared_verify: { parameters: ["u32"], result: "i32" },
  /** fn hp_shared_unlink(path: ?[*]const u8, path_bytes: u32) i32 */
  hp_shared_unlink: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_shared_free_bytes(path: ?[*]const u8, path_bytes: u32) f64 */
  hp_shared_free_bytes: { parameters: ["buffer", "u32"], result: "f64" },
  /** fn hp_ring_create(config: ?[*]const u8, config_bytes: u32, path: ?[*]const u8, path_bytes: u32) i32 */
  hp_ring_create: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_ring_open(path: ?[*]const u8, path_bytes: u32) i32 */
  hp_ring_open: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_ring_attach(id: u32) i32 */
  hp_ring_attach: { parameters: ["u32"], result: "i32" },
  /** fn hp_ring_attachment(id: u32) i32 */
  hp_ring_attachment: { parameters: ["u32"], result: "i32" },
  /** fn hp_ring_geometry(id: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_ring_geometry: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_ring_role_claim(id: u32, kind: u32, gating: u32, attachment: u32) i32 */
  hp_ring_role_claim: { parameters: ["u32", "u32", "u32", "u32"], result: "i32" },
  /** fn hp_ring_role_release(id: u32, token: u32) i32 */
  hp_ring_role_release: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_ring_park(id: u32, token: u32, selector: u32, expected: i32, timeout_ms: f64) i32 */
  hp_ring_park: { parameters: ["u32", "u32", "u32", "i32", "f64"], result: "i32" },
  /** fn hp_ring_park_async(id: u32, token: u32, selector: u32, expected: i32, timeout_ms: f64) i32 (Deno: a Promise) */
  hp_ring_park_async: { parameters: ["u32", "u32", "u32", "i32", "f64"], result: "i32", nonblocking: true },
  /** fn hp_ring_wake(id: u32, selector: u32) i32 */
  hp_ring_wake: { parameters: ["u32", "u32"], result: "i32" },
  /** fn hp_ring_reap(id: u32) i32 */
  hp_ring_reap: { parameters: ["u32"], result: "i32" },
  /** fn hp_yield() void */
  hp_yield: { parameters: [], result: "void" },
  /** fn hp_affinity_get(out: ?[*]u8, out_bytes: u32) i32 */
  hp_affinity_get: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_affinity_set(mask: ?[*]const u8, mask_bytes: u32) i32 */
  hp_affinity_set: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_affinity_allowed(out: ?[*]u8, out_bytes: u32) i32 */
  hp_affinity_allowed: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_current_cpu() i32 */
  hp_current_cpu: { parameters: [], result: "i32" },
  /** fn hp_current_node() i32 */
  hp_current_node: { parameters: [], result: "i32" },
  /** fn hp_numa_topology(root: ?[*]const u8, root_bytes: u32, out: ?[*]u8, out_bytes: u32) i32 */
  hp_numa_topology: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_numa_where(memory: ?[*]const u8, memory_bytes: f64, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_numa_where: { parameters: ["buffer", "f64", "buffer", "u32"], result: "i32" },
  /** fn hp_pages_report(memory: ?[*]const u8, memory_bytes: f64, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_pages_report: { parameters: ["buffer", "f64", "buffer", "u32"], result: "i32" },
  /** fn hp_memory_lock_limit() f64 */
  hp_memory_lock_limit: { parameters: [], result: "f64" },
  /** fn hp_stats_attach(path: ?[*]const u8, path_bytes: u32, command: ?[*]const u8, command_bytes: u32) i32 */
  hp_stats_attach: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_stats_detach() i32 */
  hp_stats_detach: { parameters: [], result: "i32" },
  /** fn hp_stats_claim(kind: u32, node: i32, name: ?[*]const u8, name_bytes: u32) i32 */
  hp_stats_claim: { parameters: ["u32", "i32", "buffer", "u32"], result: "i32" },
  /** fn hp_stats_publish(index: u32, counters: ?[*]const u8, counters_bytes: u32, interval_ms: u32) i32 */
  hp_stats_publish: { parameters: ["u32", "buffer", "u32", "u32"], result: "i32" },
  /** fn hp_stats_release(index: u32) i32 */
  hp_stats_release: { parameters: ["u32"], result: "i32" },
  /** fn hp_stats_read(path: ?[*]const u8, path_bytes: u32, out: ?[*]u8, out_bytes: u32) i32 */
  hp_stats_read: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_stats_list(path: ?[*]const u8, path_bytes: u32, out: ?[*]u8, out_bytes: u32) i32 */
  hp_stats_list: { parameters: ["buffer", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_stats_remove_dead(path: ?[*]const u8, path_bytes: u32) i32 */
  hp_stats_remove_dead: { parameters: ["buffer", "u32"], result: "i32" },
  /** fn hp_ring_stats(id: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_ring_stats: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  /** fn hp_ring_role_info(id: u32, index: u32, out: ?*anyopaque, out_bytes: u32) i32 */
  hp_ring_role_info: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  /** fn hp_ring_path_matches(id: u32, path: ?[*]const u8, path_bytes: u32) i32 */
  hp_ring_path_matches: { parameters: ["u32", "buffer", "u32"], result: "i32" },
} as const satisfies Record<string, SymbolSpec>;

/** The functions of libhotpath, called the same way on every runtime. */
export type NativeSymbols = NativeSymbolsOf<typeof symbols>;
