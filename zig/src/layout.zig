//! The memory layout that Zig and TypeScript both read and write. `zig build mirrors` writes
//! its offsets into ffi/abi.generated.ts (abi/mirror_table.zig lists what is mirrored), and
//! TypeScript checks the library's table against that file when it loads.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("constants.zig");

/// FNV-1a (32 bits): the layout hashes of named regions and the mirror table's fingerprint.
pub const fnv_offset: u32 = 0x811c9dc5;

/// Folds `bytes` into an FNV-1a `hash` (start from `fnv_offset`).
pub fn fnv1a(hash: u32, bytes: []const u8) u32 {
    var value = hash;
    for (bytes) |byte| value = (value ^ byte) *% 0x01000193;
    return value;
}

/// First bytes of a pool region. Cache line 0 changes with allocations; cache line 1 is
/// written at creation (and `capacity`/`growths` by grow). 64-bit counters are little-endian
/// u64s that JavaScript reads and writes as two u32 words. The number of blocks in use is
/// `allocations - frees`; the high water is the larger of `high_water` and the number of
/// blocks handed out at least once since the last reset (they are a prefix: see pool.zig).
pub const PoolHeader = extern struct {
    /// First block of the free list; `capacity` (the end sentinel) when it is empty.
    free_head: u32,
    reserved_frontier: u32,
    /// The high water before the last reset.
    high_water: u32,
    reserved_hot: u32,
    allocations: u64,
    /// Blocks returned: frees, batch frees and the blocks a reset released.
    frees: u64,
    failed: u64,
    padding_hot: [24]u8,

    magic: u32,
    reserved_flags: u32,
    block_size: u32,
    block_stride: u32,
    capacity: u32,
    alignment: u32,
    /// One byte a block (BlockState), for capacity_max blocks.
    state_offset: u32,
    blocks_offset: u32,
    region_bytes: u64,
    metadata_bytes: u64,
    capacity_max: u32,
    grow_chunk: u32,
    growths: u32,
    reserved_cold: u32,

    pub const magic_value: u32 = 0x4C4F4F50; // "POOL"
};

/// The state byte of each pool block. JavaScript's fast paths compare against these values.
pub const BlockState = enum(u8) {
    /// On the free list and never handed out since creation or the last reset. Zero, so a
    /// fresh mapping needs no initialising and its untouched state pages need no commit.
    fresh = 0,
    /// On the free list, handed out before: its first 4 bytes link to the next free block.
    free = 1,
    allocated = 2,
    /// Inside one freeMany call: allocated and about to be freed. Left behind only by a call
    /// that reported Corrupted (its handle list changed under it); check() then reports it.
    releasing = 3,
    /// The state byte after the last block (index `capacity`), where the free list ends: an
    /// in-bounds value that no alloc accepts, so an empty list needs no test of its own.
    end = 255,
};

/// First bytes of an arena region. Data starts at `data_offset`, page-aligned, so any
/// alignment up to a page is an alignment of the offset alone.
pub const ArenaHeader = extern struct {
    offset: u32,
    high_water: u32,
    allocations: u64,
    failed: u64,
    resets: u64,
    padding_hot: [32]u8,

    magic: u32,
    reserved_flags: u32,
    capacity: u32,
    alignment: u32,
    data_offset: u32,
    reserved_cold: u32,
    region_bytes: u64,
    padding_cold: [32]u8,

    pub const magic_value: u32 = 0x414E4552; // "RENA"
};

comptime {
    assert(@sizeOf(PoolHeader) == constants.header_bytes);
    assert(@sizeOf(ArenaHeader) == constants.header_bytes);
    assert(@offsetOf(PoolHeader, "magic") == constants.cache_line_bytes);
    assert(@offsetOf(ArenaHeader, "magic") == constants.cache_line_bytes);
    assert(@alignOf(PoolHeader) == 8);
    assert(@alignOf(ArenaHeader) == 8);
}
