//! The memory layout that Zig and TypeScript both read and write. `zig build mirrors` writes
//! its offsets into ffi/abi.generated.ts (abi/mirror_table.zig lists what is mirrored), and
//! TypeScript checks the library's table against that file when it loads.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("constants.zig");

/// First bytes of a pool region. Cache line 0 changes on every alloc and free; cache
/// line 1 is written once at creation. 64-bit counters are little-endian u64s so that
/// JavaScript can bump their low word as a u32 and carry into the high word.
pub const PoolHeader = extern struct {
    free_head: u32,
    in_use: u32,
    high_water: u32,
    reserved_hot: u32,
    allocations: u64,
    failed: u64,
    padding_hot: [32]u8,

    magic: u32,
    reserved_flags: u32,
    block_size: u32,
    block_stride: u32,
    capacity: u32,
    alignment: u32,
    bitmap_offset: u32,
    blocks_offset: u32,
    region_bytes: u64,
    metadata_bytes: u64,
    capacity_max: u32,
    grow_chunk: u32,
    growths: u32,
    reserved_cold: u32,

    pub const magic_value: u32 = 0x4C4F4F50; // "POOL"
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
