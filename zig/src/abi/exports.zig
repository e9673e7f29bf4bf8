//! The C ABI of libhotpath called through FFI: the only file with FFI `export fn`s (the
//! Node-API entry is abi/napi.zig). Each function checks every argument that came from
//! JavaScript and answers with a Status (or a non-negative result in the same i32). Nothing
//! JavaScript passes can reach an assertion.
//!
//! Pointer parameters are `?*const anyopaque` or `?[*]const u8`: a typed pointer such as
//! `?[*]u32` promises alignment, and ReleaseFast deletes a check of what the type promises
//! (shared/PITFALLS.md 16). Each is checked for null, alignment and length, then cast.
//! Scalars are u32, i32 and f64 only: u64 and usize take a slow path in Deno (PITFALLS 14).
//!
//! Contract for native callers (JavaScript keeps ids private, so it cannot break it): an id is
//! used by one thread at a time, and is not closed by one thread while another uses it, since
//! lookups take no lock. A slot's generation wraps after 65,535 reuses (about 10^9 creations
//! with the slot cursor rotating over 16,384 slots), after which a very old id could name a
//! newer region of the same slot.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const mirror = @import("mirror_table.zig");
const config = @import("config.zig");
const Status = @import("../status.zig").Status;
const region_module = @import("../memory/region.zig");
const Region = region_module.Region;
const pool_module = @import("../memory/pool.zig");
const arena_module = @import("../memory/arena.zig");
const registry = @import("../memory/registry.zig");
const clock = @import("../system/clock.zig");

export fn hp_abi_version() callconv(.c) u32 {
    return constants.abi_version;
}

/// FNV-1a over every name and value of the layout table (abi/mirror_table.zig).
export fn hp_abi_fingerprint() callconv(.c) u32 {
    return mirror.fingerprint;
}

export fn hp_layout_count() callconv(.c) u32 {
    return @intCast(mirror.entries.len);
}

/// Value of entry `index` of the layout table, or NaN past its end.
export fn hp_layout_value(index: u32) callconv(.c) f64 {
    if (index >= mirror.entries.len) return std.math.nan(f64);
    return @floatFromInt(mirror.entries[index].value);
}

/// Does nothing: the floor of one FFI call, for benchmarks.
export fn hp_noop() callconv(.c) void {}

/// Monotonic nanoseconds since the first call, without a system call.
export fn hp_clock_ns() callconv(.c) f64 {
    return clock.nowNs();
}

/// Creates a pool from a PoolConfig (abi/config.zig) of `config_bytes` bytes at any
/// alignment; returns its id (> 0) or a negative Status.
export fn hp_pool_create(config_pointer: ?[*]const u8, config_bytes: u32) callconv(.c) i32 {
    const options = config.read(config.PoolConfig, config_pointer, config_bytes) orelse
        return Status.invalid_argument.code();
    const geometry = pool_module.Geometry.compute(.{
        .block_size = options.block_size,
        .capacity = options.capacity,
        .alignment = options.alignment,
        .capacity_max = options.capacity_max,
        .grow_chunk = options.grow_chunk,
    }) catch return Status.invalid_argument.code();
    const grows = pool_module.Geometry.grows(geometry);
    const region = Region.mapPlaced(geometry.region_bytes, !grows, options.placement) catch |failure|
        return mapStatus(failure);
    if (grows) {
        pool_module.Geometry.commit(geometry, region, geometry.capacity) catch {
            region.unmap();
            return Status.out_of_memory.code();
        };
    }
    return publish(region, .{ .pool = pool_module.Pool.format(region.memory, geometry) });
}

/// Adds one chunk of blocks to a growing pool; returns the new capacity, exhausted at the
/// maximum (or for a fixed pool), or out_of_memory when the kernel refuses the pages.
export fn hp_pool_grow(id: u32) callconv(.c) i32 {
    const found = registry.lookupPool(id) orelse return Status.invalid_id.code();
    found.pool.grow(found.region) catch |failure| return switch (failure) {
        error.LimitReached => Status.exhausted.code(),
        error.OutOfMemory => Status.out_of_memory.code(),
        error.Corrupted => Status.corrupted.code(),
    };
    return @intCast(found.pool.capacity);
}

/// Allocates one block; returns its handle or a negative Status (exhausted when none is free).
/// For native callers and the one-FFI-call-per-operation benchmark: a TypeScript Pool keeps its
/// free-list head and counters in JavaScript and syncs the header only around batch calls,
/// reset and grow, so one pool must not mix these single-block calls with TypeScript alloc/free.
export fn hp_pool_alloc(id: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    const handle = pool.alloc() catch return Status.corrupted.code();
    return if (handle) |value| @intCast(value) else Status.exhausted.code();
}

/// Frees one block (see hp_pool_alloc).
export fn hp_pool_free(id: u32, handle: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    pool.free(handle) catch |failure| return freeStatus(failure);
    return Status.ok.code();
}

/// Allocates up to `count` blocks into `out`, a u32 array (4-byte aligned) of `out_length`
/// entries; returns how many, fewer when the pool runs out.
export fn hp_pool_alloc_many(id: u32, out: ?*anyopaque, out_length: u32, count: u32) callconv(.c) i32 {
    const found = registry.lookupPool(id) orelse return Status.invalid_id.code();
    const handles = batch(out, out_length, count, found.region) orelse return Status.invalid_argument.code();
    const granted = found.pool.allocMany(handles) catch return Status.corrupted.code();
    return @intCast(granted);
}

/// Frees the first `count` of `handles` (a u32 array of `handles_length` entries): all of
/// them or, on any bad handle, none.
export fn hp_pool_free_many(id: u32, handles: ?*anyopaque, handles_length: u32, count: u32) callconv(.c) i32 {
    const found = registry.lookupPool(id) orelse return Status.invalid_id.code();
    const slice = batch(handles, handles_length, count, found.region) orelse return Status.invalid_argument.code();
    found.pool.freeMany(slice) catch |failure| return freeStatus(failure);
    return Status.ok.code();
}

/// Frees every block (counted as frees); returns corrupted if the header was overwritten.
export fn hp_pool_reset(id: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    pool.reset() catch return Status.corrupted.code();
    return Status.ok.code();
}

/// Creates an arena from an ArenaConfig; returns its id (> 0) or a negative Status.
export fn hp_arena_create(config_pointer: ?[*]const u8, config_bytes: u32) callconv(.c) i32 {
    const options = config.read(config.ArenaConfig, config_pointer, config_bytes) orelse
        return Status.invalid_argument.code();
    const geometry = arena_module.Geometry.compute(.{
        .capacity = options.capacity,
        .alignment = options.alignment,
    }) catch return Status.invalid_argument.code();
    const region = Region.mapPlaced(geometry.region_bytes, true, options.placement) catch |failure|
        return mapStatus(failure);
    return publish(region, .{ .arena = arena_module.Arena.format(region.memory, geometry) });
}

/// The address of the first byte of a live or closed region as an exact f64 (user-space
/// addresses are below 2^47), or a negative Status: for `ptr()`, never dereferenced here.
export fn hp_region_address(id: u32) callconv(.c) f64 {
    const region = registry.regionOf(id) orelse return @floatFromInt(Status.invalid_id.code());
    return @floatFromInt(@intFromPtr(region.memory.ptr));
}

/// The size of a live or closed region in bytes, or a negative Status.
export fn hp_region_bytes(id: u32) callconv(.c) f64 {
    const region = registry.regionOf(id) orelse return @floatFromInt(Status.invalid_id.code());
    return @floatFromInt(region.memory.len);
}

/// Closes a pool or arena: its pages go back to the kernel now; the mapping goes when the
/// last JavaScript view of it is collected (at once if there is none).
export fn hp_region_close(id: u32) callconv(.c) i32 {
    return if (registry.close(id)) Status.ok.code() else Status.invalid_id.code();
}

/// Regions mapped right now, live or closed.
export fn hp_regions_mapped() callconv(.c) u32 {
    return registry.mappedCount();
}

/// Stores a formatted region; returns its id, or limit_reached (after unmapping it) when no slot is free.
fn publish(region: Region, object: registry.Object) i32 {
    const id = registry.insert(region, object) orelse {
        region.unmap();
        return Status.limit_reached.code();
    };
    return @intCast(id);
}

/// The first `count` u32s of a caller's array of `length` entries: null unless count <=
/// length <= batch_max, the array is present and 4-byte aligned, and it does not overlap the
/// pool's own region (handles written into free blocks would overwrite their links, and links
/// written by a free would overwrite the handles still to be read).
fn batch(pointer: ?*anyopaque, length: u32, count: u32, region: Region) ?[]u32 {
    if (count > length or length > constants.batch_max) return null;
    if (count == 0) return &.{};
    const address = @intFromPtr(pointer orelse return null);
    if (address % @alignOf(u32) != 0) return null;
    const end = address + @as(usize, count) * @sizeOf(u32);
    const region_start = @intFromPtr(region.memory.ptr);
    if (address < region_start + region.memory.len and end > region_start) return null;
    const items: [*]u32 = @ptrFromInt(address);
    return items[0..count];
}

/// The status of a mapping the kernel refused, or whose placement it refused.
pub fn mapStatus(failure: region_module.Error) i32 {
    return switch (failure) {
        error.OutOfMemory => Status.out_of_memory.code(),
        error.InvalidPlacement => Status.placement_refused.code(),
        error.LockRefused => Status.lock_refused.code(),
        error.Unsupported => Status.unsupported.code(),
    };
}

fn freeStatus(failure: pool_module.FreeError) i32 {
    return switch (failure) {
        error.InvalidHandle => Status.invalid_handle.code(),
        error.DoubleFree => Status.double_free.code(),
        error.Corrupted => Status.corrupted.code(),
    };
}

const testing = std.testing;

fn poolConfig(block_size: u32, capacity: u32, capacity_max: u32, grow_chunk: u32, alignment: u32) config.PoolConfig {
    var result = std.mem.zeroes(config.PoolConfig);
    result.config_bytes = @sizeOf(config.PoolConfig);
    result.block_size = block_size;
    result.capacity = capacity;
    result.capacity_max = capacity_max;
    result.grow_chunk = grow_chunk;
    result.alignment = alignment;
    return result;
}

fn createPool(block_size: u32, capacity: u32, capacity_max: u32, grow_chunk: u32, alignment: u32) i32 {
    const options = poolConfig(block_size, capacity, capacity_max, grow_chunk, alignment);
    return hp_pool_create(std.mem.asBytes(&options), @sizeOf(config.PoolConfig));
}

test "exports: every function rejects ids that name nothing" {
    const bogus: u32 = 0x7fff_ffff;
    var handles: [1]u32 = .{0};
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_alloc(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free(bogus, 0));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_alloc_many(bogus, &handles, 1, 1));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free_many(bogus, &handles, 1, 1));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_reset(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_grow(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_region_close(bogus));
    try testing.expectEqual(@as(f64, -2), hp_region_address(bogus));
    try testing.expectEqual(@as(f64, -2), hp_region_bytes(bogus));
    try testing.expect(std.math.isNan(hp_layout_value(hp_layout_count())));
}

test "exports: a closed id is refused everywhere" {
    const pool_id: u32 = @intCast(createPool(64, 16, 0, 0, 8));
    const handle = hp_pool_alloc(pool_id);
    try testing.expect(handle >= 0);
    try testing.expectEqual(Status.ok.code(), hp_region_close(pool_id));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free(pool_id, @intCast(handle)));
    try testing.expectEqual(Status.invalid_id.code(), hp_region_close(pool_id));
    try testing.expectEqual(@as(f64, -2), hp_region_bytes(pool_id));
}

test "exports: batch calls check presence, alignment and length of their buffers" {
    const pool_id: u32 = @intCast(createPool(8, 4, 0, 0, 8));
    defer _ = hp_region_close(pool_id);
    var storage: [9]u32 = @splat(0);
    const unaligned: *anyopaque = @ptrFromInt(@intFromPtr(&storage) + 1);
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, null, 2, 2));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, unaligned, 8, 1));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, &storage, 2, 3));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, &storage, constants.batch_max + 1, 1));
    try testing.expectEqual(@as(i32, 0), hp_pool_alloc_many(pool_id, null, 0, 0));
    try testing.expectEqual(@as(i32, 4), hp_pool_alloc_many(pool_id, &storage, 8, 8));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_free_many(pool_id, unaligned, 4, 4));
    try testing.expectEqual(Status.ok.code(), hp_pool_free_many(pool_id, &storage, 8, 4));
    try testing.expectEqual(Status.double_free.code(), hp_pool_free_many(pool_id, &storage, 8, 1));
}

test "exports: bad creation configs come back as invalid_argument" {
    try testing.expectEqual(Status.invalid_argument.code(), createPool(0, 16, 0, 0, 8));
    try testing.expectEqual(Status.invalid_argument.code(), createPool(64, 16, 0, 0, 12));
    try testing.expectEqual(Status.invalid_argument.code(), createPool(64, 16, 8, 0, 8));
    try testing.expectEqual(Status.invalid_argument.code(), createPool(64, 16, 32, 0, 8));
    try testing.expectEqual(Status.invalid_argument.code(), createPool(64, 16, 16, 4, 8));
    const options = poolConfig(64, 16, 0, 0, 8);
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(null, @sizeOf(config.PoolConfig)));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(std.mem.asBytes(&options), 63));
    var arena = std.mem.zeroes(config.ArenaConfig);
    arena.config_bytes = @sizeOf(config.ArenaConfig);
    arena.alignment = 8;
    try testing.expectEqual(Status.invalid_argument.code(), hp_arena_create(std.mem.asBytes(&arena), @sizeOf(config.ArenaConfig)));
    arena.capacity = 64;
    const arena_id = hp_arena_create(std.mem.asBytes(&arena), @sizeOf(config.ArenaConfig));
    try testing.expect(arena_id > 0);
    try testing.expectEqual(Status.ok.code(), hp_region_close(@intCast(arena_id)));
}
