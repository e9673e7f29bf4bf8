//! The Node-API side of libhotpath: Deno and Bun load the same shared library twice, by FFI
//! (abi/exports.zig) and as a Node-API module (`process.dlopen`), for one thing FFI cannot
//! do: an ArrayBuffer over native memory whose finalizer belongs to the backing store.
//! `regionBuffer(id)` attaches a holder to the region (memory/registry.zig) and returns an
//! external ArrayBuffer over all of it; when the engine frees that backing store, after any
//! `transfer()`, `structuredClone` or `postMessage` and when a Worker ends, the holder drops.
//!
//! Node-API functions are found in the host process at call time (dlsym), so the library
//! links no Node-API symbol and still loads by FFI alone. Nothing here trusts its arguments.
const std = @import("std");
const assert = std.debug.assert;
const registry = @import("../memory/registry.zig");
const shared_exports = @import("shared_exports.zig");
const ring_exports = @import("ring_exports.zig");

const Env = ?*opaque {};
const Value = ?*opaque {};
const CallbackInfo = ?*opaque {};
const napi_ok: c_int = 0;

const Finalize = *const fn (Env, ?*anyopaque, ?*anyopaque) callconv(.c) void;
const Callback = *const fn (Env, CallbackInfo) callconv(.c) Value;

const Api = struct {
    create_function: *const fn (Env, ?[*]const u8, usize, Callback, ?*anyopaque, *Value) callconv(.c) c_int,
    set_named_property: *const fn (Env, Value, [*:0]const u8, Value) callconv(.c) c_int,
    get_cb_info: *const fn (Env, CallbackInfo, *usize, ?[*]Value, ?*Value, ?*?*anyopaque) callconv(.c) c_int,
    get_value_double: *const fn (Env, Value, *f64) callconv(.c) c_int,
    create_external_arraybuffer: *const fn (Env, ?*anyopaque, usize, ?Finalize, ?*anyopaque, *Value) callconv(.c) c_int,

    /// Every Node-API function used, from the host; null if the host has no Node-API.
    fn find() ?Api {
        var api: Api = undefined;
        inline for (@typeInfo(Api).@"struct".field_names) |name| {
            const symbol = std.c.dlsym(null, "napi_" ++ name) orelse return null;
            @field(api, name) = @ptrCast(@alignCast(symbol));
        }
        return api;
    }
};

/// Called by the host when the module is loaded; adds `regionBuffer` to `exports`.
export fn napi_register_module_v1(env: Env, exports: Value) callconv(.c) Value {
    const api = Api.find() orelse return exports;
    var function: Value = null;
    if (api.create_function(env, "regionBuffer", "regionBuffer".len, regionBuffer, null, &function) != napi_ok) {
        return exports;
    }
    _ = api.set_named_property(env, exports, "regionBuffer", function);
    return exports;
}

/// regionBuffer(id: number, cacheToken?: number): ArrayBuffer | undefined. Undefined for
/// anything but the id of a live region (JavaScript turns that into a HotpathError). A shared
/// pool's buffer carries its realm's cache token: when the buffer goes, so does the cache.
fn regionBuffer(env: Env, info: CallbackInfo) callconv(.c) Value {
    const api = Api.find() orelse return null;
    var argc: usize = 2;
    var argv: [2]Value = .{ null, null };
    if (api.get_cb_info(env, info, &argc, &argv, null, null) != napi_ok or argc < 1) return null;
    const id = positiveInt(api, env, argv[0]) orelse return null;
    const token: u32 = if (argc >= 2) positiveInt(api, env, argv[1]) orelse return null else 0;
    if (@sizeOf(usize) < 8 and token != 0) return null;
    const region = registry.attach(id) orelse return null;
    var buffer: Value = null;
    const hint: *anyopaque = @ptrFromInt(@as(usize, id) | @as(usize, token) << (@bitSizeOf(usize) / 2));
    const status = api.create_external_arraybuffer(env, region.memory.ptr, region.memory.len, release, hint, &buffer);
    if (status != napi_ok or buffer == null) {
        registry.drop(id);
        return null;
    }
    return buffer;
}

/// An integer in 1 .. 2^31-1, or null.
fn positiveInt(api: Api, env: Env, value: Value) ?u32 {
    var number: f64 = 0;
    if (api.get_value_double(env, value, &number) != napi_ok) return null;
    if (!(number >= 1 and number <= std.math.maxInt(i32)) or @trunc(number) != number) return null;
    return @intFromFloat(number);
}

/// The backing store of one region buffer was freed: free its cache, if any, and drop its
/// hold. May run on any thread.
fn release(env: Env, data: ?*anyopaque, hint: ?*anyopaque) callconv(.c) void {
    _ = env;
    _ = data;
    const half = @bitSizeOf(usize) / 2;
    const value = @intFromPtr(hint);
    const id: usize = value & ((@as(usize, 1) << half) - 1);
    const token: usize = value >> half;
    assert(id > 0 and id <= std.math.maxInt(i32));
    // A token is a shared pool's cache or a ring object's attachment; each ignores other kinds.
    if (token != 0) {
        shared_exports.releaseCache(@intCast(id), @intCast(token));
        ring_exports.releaseAttachment(@intCast(id), @intCast(token));
    }
    registry.drop(@intCast(id));
}
