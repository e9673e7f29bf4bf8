//! The C ABI of SharedPool (memory/shared_pool.zig), beside abi/exports.zig and under the same
//! rules: every argument from JavaScript is checked, every answer is a Status or a
//! non-negative result in one i32 (or f64), and nothing JavaScript passes reaches an assertion.
//!
//! Paths arrive as bytes with a length (no NUL), must be absolute and at most
//! `shared_path_bytes_max - 1` bytes; TypeScript turns a bare name into `/dev/shm/<name>`.
const std = @import("std");
const constants = @import("../constants.zig");
const config = @import("config.zig");
const Status = @import("../status.zig").Status;
const registry = @import("../memory/registry.zig");
const shared_region = @import("../memory/shared_region.zig");
const shared_pool = @import("../memory/shared_pool.zig");
const layout = @import("../memory/shared_pool_layout.zig");
const SharedPool = shared_pool.SharedPool;
const liveness = @import("../system/liveness.zig");
const epochs = @import("../memory/shared_epochs.zig");
const recovery = @import("../memory/shared_recovery.zig");

/// Entries `hp_shared_stats` writes, in this order (mirrored to TypeScript by field name).
pub const StatsOut = extern struct {
    capacity: f64,
    capacity_max: f64,
    free_listed: f64,
    cached: f64,
    homed: f64,
    in_use: f64,
    high_water: f64,
    caches_live: f64,
    caches_dead: f64,
    refills: f64,
    flushes: f64,
    reclaimed_blocks: f64,
    reclaimed_caches: f64,
    failed: f64,
    grows: f64,
    grow_failures: f64,
    retired_freed: f64,
    epoch: f64,
    retired: f64,
    limbo: f64,
    stuck_readers: f64,
    blocking_ms: f64,
    interrupted_batches: f64,
    reserved: f64,
};

/// What `hp_shared_geometry` writes: the geometry this process validated and uses.
pub const GeometryOut = extern struct {
    block_size: f64,
    alignment: f64,
    capacity: f64,
    capacity_max: f64,
    grow_chunk: f64,
    caches_max: f64,
    cache_capacity: f64,
    block_stride: f64,
    cache_stride: f64,
    owners_offset: f64,
    caches_offset: f64,
    blocks_offset: f64,
    region_bytes: f64,
    retire_capacity: f64,
    retire_offset: f64,
    limbo_entries: f64,
    homes_offset: f64,
    bitmaps_offset: f64,
    bitmap_words: f64,
    reserved: f64,
};

/// What `hp_shared_cache_info` writes about one cache slot.
pub const CacheInfoOut = extern struct {
    state: f64,
    generation: f64,
    pid: f64,
    tid: f64,
    count: f64,
    /// 0 alive, 1 dead, 2 unknown (see system/liveness.zig).
    verdict: f64,
    reserved: [2]f64,
};

pub const Path = struct { bytes: [constants.shared_path_bytes_max:0]u8, length: u32 };

pub fn pathOf(pointer: ?[*]const u8, length: u32) ?Path {
    if (length == 0 or length >= constants.shared_path_bytes_max) return null;
    const source = pointer orelse return null;
    var path: Path = .{ .bytes = @splat(0), .length = length };
    @memcpy(path.bytes[0..length], source[0..length]);
    if (path.bytes[0] != '/' or std.mem.indexOfScalar(u8, path.bytes[0..length], 0) != null) return null;
    return path;
}

pub fn sentinel(path: *const Path) [:0]const u8 {
    return path.bytes[0..path.length :0];
}

pub fn regionStatus(failure: shared_region.Error) i32 {
    return switch (failure) {
        error.OutOfMemory => Status.out_of_memory.code(),
        error.NoSpace => Status.no_space.code(),
        error.AlreadyExists => Status.already_exists.code(),
        error.NotFound => Status.not_found.code(),
        error.PermissionDenied => Status.permission_denied.code(),
        error.InvalidPath => Status.invalid_path.code(),
        error.Unsupported => Status.unsupported.code(),
        error.InvalidPlacement => Status.placement_refused.code(),
        error.LockRefused => Status.lock_refused.code(),
    };
}

/// Creates a shared pool from a SharedPoolConfig: in shared anonymous memory when
/// `path_bytes` is 0, else in a new file at `path` (O_EXCL, 0600). Returns its id or a Status.
export fn hp_shared_pool_create(
    config_pointer: ?[*]const u8,
    config_bytes: u32,
    path_pointer: ?[*]const u8,
    path_bytes: u32,
) callconv(.c) i32 {
    const options = config.read(config.SharedPoolConfig, config_pointer, config_bytes) orelse
        return Status.invalid_argument.code();
    const geometry = shared_pool.Geometry.compute(layout.paramsOf(options)) catch
        return Status.invalid_argument.code();
    const committed = geometry.committedBytes(geometry.params.capacity);
    return createNamedOrAnonymous(path_pointer, path_bytes, geometry, committed, options.placement, sharedPoolFormat);
}

fn sharedPoolFormat(memory: []align(std.heap.page_size_min) u8, geometry: shared_pool.Geometry, fd: i32) registry.Object {
    return .{ .shared_pool = SharedPool.format(memory, geometry, fd) };
}

/// Maps `geometry.region_bytes` of shared anonymous memory (`path_bytes` 0) or of a new file at
/// `path` (O_EXCL, 0600), places it, commits its first `committed` bytes, and registers
/// `format(memory, geometry, fd)`. Returns its id or a Status.
pub fn createNamedOrAnonymous(
    path_pointer: ?[*]const u8,
    path_bytes: u32,
    geometry: anytype,
    committed: u64,
    placement: config.Placement,
    comptime format: anytype,
) i32 {
    if (path_bytes == 0) {
        const region = shared_region.mapAnonymous(geometry.region_bytes, committed, placement) catch |failure|
            return regionStatus(failure);
        return publish(region, format(region.memory, geometry, -1), null);
    }
    const path = pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    const named = shared_region.createNamed(sentinel(&path), geometry.region_bytes, committed, placement) catch |failure|
        return regionStatus(failure);
    return publish(named.region, format(named.region.memory, geometry, named.fd), &path);
}

/// Opens the shared pool in file `path`, created by this or another process. The file is
/// untrusted: owner, mode, size and every header field are checked before it is mapped.
export fn hp_shared_pool_open(path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    return openNamed(path_pointer, path_bytes, shared_pool.Header, shared_pool.checkHeader, sharedPoolOver);
}

fn sharedPoolOver(memory: []align(std.heap.page_size_min) u8, geometry: shared_pool.Geometry, fd: i32) registry.Object {
    return .{ .shared_pool = SharedPool.over(memory, geometry, fd) };
}

/// Opens the named region at `path` whose header is a `Header` that `check` validates (the
/// file is untrusted: owner, mode, size and every header field are checked before it is
/// mapped), and registers `over(memory, geometry, fd)`. Returns its id or a Status.
pub fn openNamed(
    path_pointer: ?[*]const u8,
    path_bytes: u32,
    comptime Header: type,
    comptime check: anytype,
    comptime over: anytype,
) i32 {
    const path = pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    const opened = shared_region.openNamed(sentinel(&path)) catch |failure| return regionStatus(failure);
    var header: [@sizeOf(Header)]u8 align(8) = undefined;
    if (!opened.readHeader(&header)) {
        opened.close();
        return Status.corrupted.code();
    }
    const geometry = check(&header, opened.size) catch |failure| {
        opened.close();
        return switch (failure) {
            error.Incompatible => Status.incompatible.code(),
            error.Corrupted => Status.corrupted.code(),
        };
    };
    const region = opened.map() catch |failure| {
        opened.close();
        return regionStatus(failure);
    };
    return publish(region, over(region.memory, geometry, opened.fd), null);
}

pub fn publish(region: @import("../memory/region.zig").Region, object: registry.Object, created: ?*const Path) i32 {
    const id = registry.insert(region, object) orelse {
        region.unmap();
        const fd = switch (object) {
            .shared_pool => |pool| pool.fd,
            .ring => |ring| ring.fd,
            else => -1,
        };
        if (fd >= 0) shared_region.closeFd(fd);
        if (created) |path| shared_region.unlinkNamed(sentinel(path)) catch {};
        return Status.limit_reached.code();
    };
    return @intCast(id);
}

/// Adds this realm (a Worker of this process) to a live shared pool; it detaches with
/// hp_region_close.
export fn hp_shared_pool_attach(id: u32) callconv(.c) i32 {
    return if (registry.attachRealm(id, .shared_pool)) Status.ok.code() else Status.invalid_id.code();
}

/// Claims a cache for the calling thread; returns its token (generation << 8 | index).
export fn hp_shared_cache_claim(id: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const token = pool.claimCache() orelse return Status.limit_reached.code();
    return @intCast(token.generation << 8 | token.index);
}

fn tokenOf(value: u32) shared_pool.CacheToken {
    return .{ .index = value & 0xff, .generation = value >> 8 };
}

/// Returns a cache's handles to the pool and closes it; its views then read a closed count.
export fn hp_shared_cache_close(id: u32, token: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const closed = pool.closeCache(tokenOf(token)) catch return Status.corrupted.code();
    return if (closed) Status.ok.code() else Status.invalid_argument.code();
}

/// Called when a realm's buffer over the pool is freed: its cache slot becomes free.
pub fn releaseCache(id: u32, token: u32) void {
    const pool = registry.lookupShared(id) orelse return;
    _ = pool.releaseCache(tokenOf(token));
}

/// Runs `operation` on the cache `token` names, if that cache is still this token's (a stale
/// token names a slot another Worker may have claimed since).
fn cacheCall(id: u32, token: u32, comptime operation: fn (*const SharedPool, u32) error{ Corrupted, Closed }!u32) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const cache = tokenOf(token);
    _ = shared_pool.liveSlot(pool, cache) orelse return Status.invalid_argument.code();
    const count = operation(pool, cache.index) catch |failure| return switch (failure) {
        error.Corrupted => Status.corrupted.code(),
        error.Closed => Status.invalid_id.code(),
    };
    return @intCast(count);
}

/// Refills the cache of `token` to half full; returns its count (0: the pool is exhausted).
export fn hp_shared_refill(id: u32, token: u32) callconv(.c) i32 {
    return cacheCall(id, token, SharedPool.refill);
}

/// Flushes the cache of `token` down to half full; returns its count.
export fn hp_shared_flush(id: u32, token: u32) callconv(.c) i32 {
    return cacheCall(id, token, SharedPool.flush);
}

/// Frees a cache slot at once (its realm never made views of it: a refused attach).
export fn hp_shared_cache_release(id: u32, token: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    return if (pool.releaseCache(tokenOf(token))) Status.ok.code() else Status.invalid_argument.code();
}

/// Returns the caches of dead owners to the pool; how many blocks came back.
export fn hp_shared_reclaim(id: u32) callconv(.c) f64 {
    const pool = registry.lookupShared(id) orelse return @floatFromInt(Status.invalid_id.code());
    return @floatFromInt(pool.reclaimAbandoned());
}

/// Advances the epoch as far as readers allow and frees the safe retired blocks of cache
/// `index` and of the limbo table; returns the entries left in the cache's ring.
export fn hp_shared_collect(id: u32, token: u32) callconv(.c) i32 {
    return cacheCall(id, token, epochs.collect);
}

/// Returns blocks stranded by a process killed inside a batch call; only while every other
/// cache's owner is dead (busy otherwise). Returns how many came back.
export fn hp_shared_recover(id: u32, token: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const cache = tokenOf(token);
    _ = shared_pool.liveSlot(pool, cache) orelse return Status.invalid_argument.code();
    const strays = recovery.recover(pool, cache.index, std.heap.page_allocator) catch |failure| return switch (failure) {
        error.Busy => Status.busy.code(),
        error.Corrupted => Status.corrupted.code(),
        error.OutOfMemory => Status.out_of_memory.code(),
    };
    return @intCast(strays);
}

/// Commits the next chunk of a growing pool; returns the capacity, or exhausted.
export fn hp_shared_grow(id: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    if (!pool.grow()) return Status.exhausted.code();
    return @intCast(pool.stats().capacity);
}

pub fn outOf(comptime T: type, pointer: ?*anyopaque, bytes: u32) ?*T {
    if (bytes != @sizeOf(T)) return null;
    const address = @intFromPtr(pointer orelse return null);
    if (address % @alignOf(T) != 0) return null;
    return @ptrFromInt(address);
}

/// Writes a StatsOut into `out` (8-byte aligned, exactly its size).
export fn hp_shared_stats(id: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const target = outOf(StatsOut, out, out_bytes) orelse return Status.invalid_argument.code();
    const stats = pool.stats();
    target.* = std.mem.zeroes(StatsOut);
    inline for (@typeInfo(shared_pool.Stats).@"struct".field_names) |name| {
        @field(target, name) = @floatFromInt(@field(stats, name));
    }
    return Status.ok.code();
}

/// Writes the validated geometry (GeometryOut) into `out`.
export fn hp_shared_geometry(id: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const target = outOf(GeometryOut, out, out_bytes) orelse return Status.invalid_argument.code();
    const g = pool.geometry;
    target.* = std.mem.zeroes(GeometryOut);
    inline for (@typeInfo(shared_pool.Params).@"struct".field_names) |name| {
        @field(target, name) = @floatFromInt(@field(g.params, name));
    }
    const derived = .{
        "block_stride",  "cache_stride",   "owners_offset", "caches_offset",
        "blocks_offset", "region_bytes",   "retire_offset", "limbo_entries",
        "homes_offset",  "bitmaps_offset", "bitmap_words",
    };
    inline for (derived) |name| {
        @field(target, name) = @floatFromInt(@field(g, name));
    }
    return Status.ok.code();
}

/// Writes what cache slot `index` holds (CacheInfoOut) into `out`.
export fn hp_shared_cache_info(id: u32, index: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    if (index >= pool.geometry.params.caches_max) return Status.invalid_argument.code();
    const target = outOf(CacheInfoOut, out, out_bytes) orelse return Status.invalid_argument.code();
    const slot = pool.cache(index);
    const state = @atomicLoad(u32, &slot.state, .acquire);
    const owner = slot.owner;
    target.* = std.mem.zeroes(CacheInfoOut);
    target.state = @floatFromInt(state & 3);
    target.generation = @floatFromInt(state >> 2 & ((1 << 22) - 1));
    target.pid = @floatFromInt(owner.pid);
    target.tid = @floatFromInt(owner.tid);
    target.count = @floatFromInt(@atomicLoad(u32, &slot.count, .acquire));
    target.verdict = if (state & 3 == 0) 2 else @floatFromInt(@backingInt(liveness.check(owner)));
    return Status.ok.code();
}

/// While nothing runs: checks that every block is exactly once free, cached or allocated;
/// returns the blocks in use, or corrupted. Allocates one bit per block while it runs.
export fn hp_shared_verify(id: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const in_use = pool.verify(std.heap.page_allocator) catch |failure| return switch (failure) {
        error.Corrupted => Status.corrupted.code(),
        error.OutOfMemory => Status.out_of_memory.code(),
    };
    return @intCast(in_use);
}

/// 1 when `path` names the file of named pool `id` (the same inode), else 0; a negative Status
/// for a bad id or path.
export fn hp_shared_path_matches(id: u32, path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    const pool = registry.lookupShared(id) orelse return Status.invalid_id.code();
    const path = pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    return @intFromBool(shared_region.sameFile(pool.fd, sentinel(&path)));
}

/// Removes the name `path`; processes that have the pool open keep it.
export fn hp_shared_unlink(path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    const path = pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    shared_region.unlinkNamed(sentinel(&path)) catch |failure| return regionStatus(failure);
    return Status.ok.code();
}

/// Bytes this user may still allocate on the file system of directory `path`, or -1 if unknown.
export fn hp_shared_free_bytes(path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) f64 {
    const path = pathOf(path_pointer, path_bytes) orelse return -1;
    const free = shared_region.freeBytes(sentinel(&path)) orelse return -1;
    return @floatFromInt(free);
}

comptime {
    std.debug.assert(@sizeOf(StatsOut) % 8 == 0);
    std.debug.assert(@typeInfo(shared_pool.Stats).@"struct".field_names.len < @typeInfo(StatsOut).@"struct".field_names.len);
}
