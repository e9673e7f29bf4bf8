//! Creation options, passed by pointer as one `extern struct` each (setup is not hot), so the
//! options that shared memory, NUMA and huge pages add later extend a struct instead of a
//! positional argument list. TypeScript writes them through the offsets in
//! ffi/abi.generated.ts. `config_bytes` must equal the struct's size and every reserved word
//! must be zero: a caller built against another layout is refused, never misread.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");

/// Where and how a region's pages are placed, part of every creation config (memory/binding.zig
/// applies it between map and pre-fault).
pub const Placement = extern struct {
    /// 0 the kernel's default (first touch), then Linux's MPOL_* numbering:
    /// 1 preferred (the one node in `nodes`, others when it is full), 2 bind (only `nodes`),
    /// 3 interleave (pages spread across `nodes`).
    policy: u32,
    /// Node bitmask, nodes 0-31 and 32-63; zero for the default policy.
    nodes_low: u32,
    nodes_high: u32,
    /// 0 base pages, 1 transparent (MADV_HUGEPAGE), 2 explicit (MAP_HUGETLB, base pages when
    /// the kernel has none free).
    huge_pages: u32,
    /// 1: mlock the region, its pages locked as they are committed.
    lock: u32,

    pub const default_policy: u32 = 0;
    pub const preferred: u32 = 1;
    pub const bind: u32 = 2;
    pub const interleave: u32 = 3;
    pub const huge_none: u32 = 0;
    pub const huge_transparent: u32 = 1;
    pub const huge_explicit: u32 = 2;

    pub const none: Placement = std.mem.zeroes(Placement);

    pub fn nodes(placement: Placement) u64 {
        return @as(u64, placement.nodes_high) << 32 | placement.nodes_low;
    }

    /// True when the fields are within their documented values and agree with each other.
    pub fn valid(placement: Placement) bool {
        if (placement.huge_pages > huge_explicit or placement.lock > 1) return false;
        return switch (placement.policy) {
            default_policy => placement.nodes() == 0,
            preferred => @popCount(placement.nodes()) == 1,
            bind, interleave => placement.nodes() != 0,
            else => false,
        };
    }
};

pub const PoolConfig = extern struct {
    config_bytes: u32,
    block_size: u32,
    /// Blocks committed at creation.
    capacity: u32,
    /// The most blocks `grow` may reach: `capacity` (or 0) for a fixed pool.
    capacity_max: u32,
    /// Blocks one `grow` adds; 0 for a fixed pool.
    grow_chunk: u32,
    alignment: u32,
    placement: Placement,
    reserved: [5]u32,
};

pub const SharedPoolConfig = extern struct {
    config_bytes: u32,
    block_size: u32,
    capacity: u32,
    /// `capacity` for a fixed pool.
    capacity_max: u32,
    /// 0 for a fixed pool.
    grow_chunk: u32,
    alignment: u32,
    /// Workers and processes that may attach at once (one cache each).
    caches_max: u32,
    /// Handles per cache.
    cache_capacity: u32,
    /// Retired blocks per cache before it collects.
    retire_capacity: u32,
    placement: Placement,
    reserved: [2]u32,
};

pub const RingConfig = extern struct {
    config_bytes: u32,
    /// 1 SPSC, 2 MPMC, 3 broadcast (ring/ring_layout.zig `Kind`).
    kind: u32,
    slot_bytes: u32,
    /// Alignment of each slot's payload: 1, 2, 4 or 8.
    slot_align: u32,
    /// A power of two.
    capacity: u32,
    /// Producers and consumers attached at once (2 for SPSC).
    roles_max: u32,
    /// Broadcast: 0 a slow consumer blocks the producer, 1 it is cut loose.
    policy: u32,
    /// MPMC: how long a claimed slot may stay uncommitted before consumers skip it.
    unblock_timeout_ms: u32,
    placement: Placement,
    reserved: [3]u32,
};

pub const ArenaConfig = extern struct {
    config_bytes: u32,
    capacity: u32,
    alignment: u32,
    placement: Placement,
    reserved: [8]u32,
};

comptime {
    assert(@sizeOf(PoolConfig) == constants.config_bytes);
    assert(@sizeOf(ArenaConfig) == constants.config_bytes);
    assert(@sizeOf(SharedPoolConfig) == constants.config_bytes);
    assert(@sizeOf(RingConfig) == constants.config_bytes);
    assert(@alignOf(PoolConfig) == 4);
    assert(@alignOf(ArenaConfig) == 4);
}

/// Copies a config from caller memory of any alignment; null unless it is exactly one `T`
/// with `config_bytes` set, every reserved word zero and a valid placement.
pub fn read(comptime T: type, bytes: ?[*]const u8, length: u32) ?T {
    if (length != @sizeOf(T)) return null;
    const source = bytes orelse return null;
    var config: T = undefined;
    @memcpy(std.mem.asBytes(&config), source[0..@sizeOf(T)]);
    if (config.config_bytes != @sizeOf(T)) return null;
    for (config.reserved) |word| if (word != 0) return null;
    if (!config.placement.valid()) return null;
    return config;
}

test "config: only an exact, zero-reserved config is read, from any alignment" {
    var storage: [@sizeOf(PoolConfig) + 1]u8 align(8) = @splat(0);
    const unaligned = storage[1..];
    var config = std.mem.zeroes(PoolConfig);
    config.config_bytes = @sizeOf(PoolConfig);
    config.block_size = 64;
    @memcpy(unaligned, std.mem.asBytes(&config));
    try std.testing.expectEqual(@as(u32, 64), read(PoolConfig, unaligned.ptr, @sizeOf(PoolConfig)).?.block_size);
    try std.testing.expect(read(PoolConfig, unaligned.ptr, @sizeOf(PoolConfig) - 1) == null);
    try std.testing.expect(read(PoolConfig, null, @sizeOf(PoolConfig)) == null);
    unaligned[@offsetOf(PoolConfig, "reserved")] = 1;
    try std.testing.expect(read(PoolConfig, unaligned.ptr, @sizeOf(PoolConfig)) == null);
    unaligned[@offsetOf(PoolConfig, "reserved")] = 0;
    unaligned[0] = 63;
    try std.testing.expect(read(PoolConfig, unaligned.ptr, @sizeOf(PoolConfig)) == null);
}
