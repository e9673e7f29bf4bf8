//! The C ABI of libhotpath: the only file with `export fn`. Each function checks every
//! argument that came from JavaScript and answers with a Status (or a non-negative result
//! in the same i32). Nothing JavaScript passes can reach an assertion.
//!
//! Signatures use u32, i32, f64 and, for setup only, pointers: u64 and usize arguments take
//! a slow path in Deno (see shared/PITFALLS.md, 14).
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("constants.zig");
const layout = @import("layout.zig");
const Status = @import("status.zig").Status;
const Region = @import("region.zig").Region;
const pool_module = @import("pool.zig");
const arena_module = @import("arena.zig");
const registry = @import("registry.zig");
const clock = @import("clock.zig");

export fn hp_abi_version() callconv(.c) u32 {
    return constants.abi_version;
}

export fn hp_layout_count() callconv(.c) u32 {
    return layout.table.len;
}

/// Entry `index` of the shared layout table, or handle_nil past its end.
export fn hp_layout_value(index: u32) callconv(.c) u32 {
    if (index >= layout.table.len) return constants.handle_nil;
    return layout.table[index];
}

/// Does nothing: the floor of one FFI call, for benchmarks.
export fn hp_noop() callconv(.c) void {}

/// Monotonic nanoseconds since the first call, without a system call.
export fn hp_clock_ns() callconv(.c) f64 {
    return clock.nowNs();
}

/// Creates a pool; returns its id (> 0) or a negative Status. A fixed pool passes
/// capacity_max = capacity (or 0) and grow_chunk = 0; a growing pool reserves address space
/// for capacity_max blocks and commits `capacity` of them now.
export fn hp_pool_create(
    block_size: u32,
    capacity: u32,
    capacity_max: u32,
    grow_chunk: u32,
    alignment: u32,
    flags: u32,
) callconv(.c) i32 {
    const geometry = pool_module.Geometry.compute(.{
        .block_size = block_size,
        .capacity = capacity,
        .alignment = alignment,
        .flags = flags,
        .capacity_max = capacity_max,
        .grow_chunk = grow_chunk,
    }) catch return Status.invalid_argument.code();
    const region = Region.reserve(geometry.region_bytes, geometry.committed_bytes) catch
        return Status.out_of_memory.code();
    return publish(region, .{ .pool = pool_module.Pool.format(region.memory, geometry, flags) });
}

/// Adds one chunk of blocks to a growing pool; returns the new capacity, exhausted at the
/// maximum (or for a fixed pool), or out_of_memory when the kernel refuses the pages.
export fn hp_pool_grow(id: u32) callconv(.c) i32 {
    const found = registry.lookupPool(id) orelse return Status.invalid_id.code();
    found.pool.grow(found.region) catch |failure| return switch (failure) {
        error.LimitReached => Status.exhausted.code(),
        error.OutOfMemory => Status.out_of_memory.code(),
    };
    return @intCast(found.pool.capacity);
}

/// Allocates one block; returns its handle or a negative Status (exhausted when none is free).
/// For pools driven from native code (and benchmarks): a TypeScript Pool keeps its free-list
/// head and counters in JavaScript and syncs the header only around batch calls and reset, so
/// one pool must not mix these single-block calls with TypeScript alloc/free.
export fn hp_pool_alloc(id: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    const handle = pool.alloc() catch return Status.corrupted.code();
    return if (handle) |value| @intCast(value) else Status.exhausted.code();
}

export fn hp_pool_free(id: u32, handle: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    pool.free(handle) catch |failure| return freeStatus(failure);
    return Status.ok.code();
}

/// Allocates up to `count` blocks into `out` (a u32 array of at least `count` entries);
/// returns how many, fewer when the pool runs out.
export fn hp_pool_alloc_many(id: u32, out: ?[*]u32, count: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    if (!batchValid(out, count)) return Status.invalid_argument.code();
    const handles: []u32 = if (count == 0) &.{} else out.?[0..count];
    const granted = pool.allocMany(handles) catch return Status.corrupted.code();
    return @intCast(granted);
}

/// Frees `count` handles from `handles`, all of them or, on any bad handle, none.
export fn hp_pool_free_many(id: u32, handles: ?[*]const u32, count: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    if (!batchValid(handles, count)) return Status.invalid_argument.code();
    const slice: []const u32 = if (count == 0) &.{} else handles.?[0..count];
    pool.freeMany(slice) catch |failure| return freeStatus(failure);
    return Status.ok.code();
}

export fn hp_pool_reset(id: u32) callconv(.c) i32 {
    const pool = (registry.lookup(id, .pool) orelse return Status.invalid_id.code()).pool;
    pool.reset();
    return Status.ok.code();
}

/// Creates an arena; returns its id (> 0) or a negative Status.
export fn hp_arena_create(capacity: u32, alignment: u32, flags: u32) callconv(.c) i32 {
    const geometry = arena_module.Geometry.compute(.{
        .capacity = capacity,
        .alignment = alignment,
        .flags = flags,
    }) catch return Status.invalid_argument.code();
    const region = Region.map(geometry.region_bytes) catch return Status.out_of_memory.code();
    return publish(region, .{ .arena = arena_module.Arena.format(region.memory, geometry, flags) });
}

/// Returns the offset of a new allocation or a negative Status (exhausted when full).
/// For arenas driven from native code: a TypeScript Arena keeps its offset in JavaScript and
/// writes it to the header only in stats() and close(), so one arena must not mix the two.
export fn hp_arena_alloc(id: u32, size_bytes: u32, alignment: u32) callconv(.c) i32 {
    const arena = (registry.lookup(id, .arena) orelse return Status.invalid_id.code()).arena;
    const offset = arena.alloc(size_bytes, alignment) catch |failure| return switch (failure) {
        error.InvalidArgument => Status.invalid_argument.code(),
        error.Corrupted => Status.corrupted.code(),
    };
    return if (offset) |value| @intCast(value) else Status.exhausted.code();
}

export fn hp_arena_rewind(id: u32, mark: u32) callconv(.c) i32 {
    const arena = (registry.lookup(id, .arena) orelse return Status.invalid_id.code()).arena;
    arena.rewind(mark) catch |failure| return switch (failure) {
        error.InvalidArgument => Status.invalid_argument.code(),
        error.Corrupted => Status.corrupted.code(),
    };
    return Status.ok.code();
}

export fn hp_arena_reset(id: u32) callconv(.c) i32 {
    const arena = (registry.lookup(id, .arena) orelse return Status.invalid_id.code()).arena;
    arena.reset();
    return Status.ok.code();
}

/// The first byte of a live or closed region, or null: setup only, to build one ArrayBuffer.
export fn hp_region_base(id: u32) callconv(.c) ?*anyopaque {
    const region = registry.regionOf(id) orelse return null;
    return region.memory.ptr;
}

/// The size of a live or closed region in bytes, or a negative Status.
export fn hp_region_bytes(id: u32) callconv(.c) f64 {
    const region = registry.regionOf(id) orelse return @floatFromInt(Status.invalid_id.code());
    return @floatFromInt(region.memory.len);
}

/// Closes a pool or arena: its pages are returned, its addresses stay mapped until release.
export fn hp_region_close(id: u32) callconv(.c) i32 {
    return if (registry.close(id)) Status.ok.code() else Status.invalid_id.code();
}

/// Unmaps a pool or arena. JavaScript calls it once no view over the region can remain.
export fn hp_region_release(id: u32) callconv(.c) i32 {
    return if (registry.release(id)) Status.ok.code() else Status.invalid_id.code();
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

/// A batch buffer must hold `count` u32s: present unless empty, aligned, within batch_max.
fn batchValid(pointer: ?*const anyopaque, count: u32) bool {
    if (count > constants.batch_max) return false;
    if (count == 0) return true;
    const address = @intFromPtr(pointer orelse return false);
    return address % @alignOf(u32) == 0;
}

fn freeStatus(failure: pool_module.FreeError) i32 {
    return switch (failure) {
        error.InvalidHandle => Status.invalid_handle.code(),
        error.DoubleFree => Status.double_free.code(),
        error.Corrupted => Status.corrupted.code(),
    };
}

const testing = std.testing;

test {
    _ = @import("region.zig");
    _ = @import("pool.zig");
    _ = @import("arena.zig");
    _ = @import("registry.zig");
    _ = @import("clock.zig");
}

test "exports: every function rejects ids that name nothing" {
    const bogus: u32 = 0x7fff_ffff;
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_alloc(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free(bogus, 0));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_alloc_many(bogus, null, 0));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free_many(bogus, null, 0));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_reset(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_grow(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_arena_alloc(bogus, 8, 8));
    try testing.expectEqual(Status.invalid_id.code(), hp_arena_rewind(bogus, 0));
    try testing.expectEqual(Status.invalid_id.code(), hp_arena_reset(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_region_close(bogus));
    try testing.expectEqual(Status.invalid_id.code(), hp_region_release(bogus));
    try testing.expectEqual(@as(?*anyopaque, null), hp_region_base(bogus));
    try testing.expectEqual(@as(f64, -2), hp_region_bytes(bogus));
    try testing.expectEqual(constants.handle_nil, hp_layout_value(hp_layout_count()));
}

test "exports: a pool id is not an arena id, and closed ids are refused" {
    const pool_id: u32 = @intCast(hp_pool_create(64, 16, 0, 0, 8, 0));
    defer _ = hp_region_release(pool_id);
    try testing.expectEqual(Status.invalid_id.code(), hp_arena_alloc(pool_id, 8, 8));
    const handle = hp_pool_alloc(pool_id);
    try testing.expect(handle >= 0);
    try testing.expectEqual(Status.ok.code(), hp_region_close(pool_id));
    try testing.expectEqual(Status.invalid_id.code(), hp_pool_free(pool_id, @intCast(handle)));
    try testing.expect(hp_region_base(pool_id) != null);
}

test "exports: batch calls check their buffers" {
    const pool_id: u32 = @intCast(hp_pool_create(8, 4, 0, 0, 8, 0));
    defer _ = hp_region_release(pool_id);
    var handles: [8]u32 = undefined;
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, null, 2));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_alloc_many(pool_id, &handles, constants.batch_max + 1));
    try testing.expectEqual(@as(i32, 4), hp_pool_alloc_many(pool_id, &handles, 8));
    try testing.expectEqual(Status.ok.code(), hp_pool_free_many(pool_id, &handles, 4));
    try testing.expectEqual(Status.double_free.code(), hp_pool_free_many(pool_id, &handles, 1));
}

test "exports: bad creation arguments come back as invalid_argument" {
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(0, 16, 0, 0, 8, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(64, 16, 0, 0, 12, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(64, 16, 8, 0, 8, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(64, 16, 32, 0, 8, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_pool_create(64, 16, 16, 4, 8, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_arena_create(0, 8, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_arena_create(64, 0, 0));
    const arena_id: u32 = @intCast(hp_arena_create(64, 8, 0));
    defer _ = hp_region_release(arena_id);
    try testing.expectEqual(Status.invalid_argument.code(), hp_arena_alloc(arena_id, 0, 8));
    try testing.expectEqual(Status.invalid_argument.code(), hp_arena_alloc(arena_id, 8, 5));
    try testing.expectEqual(@as(i32, 0), hp_arena_alloc(arena_id, 64, 1));
    try testing.expectEqual(Status.exhausted.code(), hp_arena_alloc(arena_id, 1, 1));
}
