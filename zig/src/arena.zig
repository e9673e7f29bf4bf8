//! Bump allocation inside one region: alloc moves an offset forward, rewind moves it back
//! to a mark, reset moves it to zero. Offsets are relative to the data area, which starts
//! on a page boundary, so aligning an offset aligns the address.
//!
//! TypeScript bumps the same header (src/arena.ts); both sides keep these invariants:
//! offset <= capacity and offset <= high_water.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("constants.zig");
const ArenaHeader = @import("layout.zig").ArenaHeader;

pub const Options = struct {
    capacity: u32,
    alignment: u32 = 8,
    flags: u32 = 0,
};

pub const Geometry = struct {
    capacity: u32,
    alignment: u32,
    data_offset: u32,
    region_bytes: u64,

    pub fn compute(options: Options) error{InvalidArgument}!Geometry {
        if (options.capacity == 0 or options.capacity > constants.arena_capacity_max) return error.InvalidArgument;
        if (!validAlignment(options.alignment)) return error.InvalidArgument;
        if (options.flags & ~constants.flags_known != 0) return error.InvalidArgument;
        const data_offset = constants.page_bytes;
        const region_bytes = std.mem.alignForward(u64, @as(u64, data_offset) + options.capacity, constants.page_bytes);
        assert(region_bytes <= constants.region_bytes_max);
        return .{
            .capacity = options.capacity,
            .alignment = options.alignment,
            .data_offset = data_offset,
            .region_bytes = region_bytes,
        };
    }
};

pub fn validAlignment(alignment: u32) bool {
    return alignment != 0 and alignment <= constants.alignment_max and std.math.isPowerOfTwo(alignment);
}

pub const Arena = struct {
    header: *ArenaHeader,
    capacity: u32,

    pub fn format(memory: []align(std.heap.page_size_min) u8, geometry: Geometry, flags: u32) Arena {
        assert(memory.len == geometry.region_bytes);
        const header: *ArenaHeader = @ptrCast(memory.ptr);
        header.* = std.mem.zeroes(ArenaHeader);
        header.magic = ArenaHeader.magic_value;
        header.flags = flags;
        header.capacity = geometry.capacity;
        header.alignment = geometry.alignment;
        header.data_offset = geometry.data_offset;
        header.region_bytes = geometry.region_bytes;
        return .{ .header = header, .capacity = geometry.capacity };
    }

    /// Returns the offset of `size_bytes` aligned to `alignment`, or null (counted) when the
    /// arena has no room left.
    pub fn alloc(arena: Arena, size_bytes: u32, alignment: u32) error{ InvalidArgument, Corrupted }!?u32 {
        if (size_bytes == 0 or size_bytes > arena.capacity) return error.InvalidArgument;
        if (!validAlignment(alignment)) return error.InvalidArgument;
        const header = arena.header;
        const offset = header.offset;
        if (offset > arena.capacity) return error.Corrupted;

        const start = std.mem.alignForward(u64, offset, alignment);
        const end = start + size_bytes;
        if (end > arena.capacity) {
            header.failed +%= 1;
            return null;
        }
        header.offset = @intCast(end);
        header.high_water = @max(header.high_water, header.offset);
        header.allocations +%= 1;
        assert(start % alignment == 0);
        assert(header.offset <= arena.capacity);
        return @intCast(start);
    }

    /// Moves the offset back to `mark`, an offset returned by an earlier `mark()`.
    pub fn rewind(arena: Arena, mark: u32) error{ InvalidArgument, Corrupted }!void {
        const offset = arena.header.offset;
        if (offset > arena.capacity) return error.Corrupted;
        if (mark > offset) return error.InvalidArgument;
        arena.header.offset = mark;
    }

    pub fn reset(arena: Arena) void {
        arena.header.offset = 0;
        arena.header.resets +%= 1;
    }
};

const testing = std.testing;
const Region = @import("region.zig").Region;

fn testArena(capacity: u32) !struct { region: Region, arena: Arena } {
    const geometry = try Geometry.compute(.{ .capacity = capacity });
    const region = try Region.map(geometry.region_bytes);
    return .{ .region = region, .arena = Arena.format(region.memory, geometry, 0) };
}

test "Arena: bumps by size and alignment, then reports full" {
    const fixture = try testArena(256);
    defer fixture.region.unmap();
    const arena = fixture.arena;
    try testing.expectEqual(@as(?u32, 0), try arena.alloc(10, 8));
    try testing.expectEqual(@as(?u32, 16), try arena.alloc(1, 16));
    try testing.expectEqual(@as(?u32, 64), try arena.alloc(64, 64));
    try testing.expectEqual(@as(?u32, null), try arena.alloc(200, 1));
    try testing.expectEqual(@as(u64, 1), arena.header.failed);
    try testing.expectEqual(@as(u32, 128), arena.header.high_water);
}

test "Arena: rewind to a mark and reset restore capacity" {
    const fixture = try testArena(64);
    defer fixture.region.unmap();
    const arena = fixture.arena;
    _ = try arena.alloc(16, 8);
    const mark = arena.header.offset;
    _ = try arena.alloc(48, 8);
    try testing.expectEqual(@as(?u32, null), try arena.alloc(1, 1));
    try arena.rewind(mark);
    try testing.expectEqual(@as(?u32, 16), try arena.alloc(48, 8));
    try testing.expectError(error.InvalidArgument, arena.rewind(65));
    arena.reset();
    try testing.expectEqual(@as(?u32, 0), try arena.alloc(64, 1));
    try testing.expectEqual(@as(u64, 1), arena.header.resets);
}

test "Arena: bad arguments are rejected" {
    const fixture = try testArena(64);
    defer fixture.region.unmap();
    try testing.expectError(error.InvalidArgument, fixture.arena.alloc(0, 8));
    try testing.expectError(error.InvalidArgument, fixture.arena.alloc(65, 8));
    try testing.expectError(error.InvalidArgument, fixture.arena.alloc(8, 3));
    try testing.expectError(error.InvalidArgument, fixture.arena.alloc(8, 8192));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .capacity = 0 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .capacity = constants.arena_capacity_max + 1 }));
}

test "Arena: seeded model test of offsets" {
    const capacity = 1 << 16;
    const fixture = try testArena(capacity);
    defer fixture.region.unmap();
    const arena = fixture.arena;
    var prng = std.Random.DefaultPrng.init(0x5eed_0002);
    const random = prng.random();
    var model_offset: u64 = 0;
    for (0..100_000) |_| {
        const action = random.uintLessThan(u32, 100);
        if (action < 90) {
            const size = random.intRangeAtMost(u32, 1, 512);
            const alignment = @as(u32, 1) << random.uintLessThan(u5, 13);
            const start = std.mem.alignForward(u64, model_offset, alignment);
            const result = try arena.alloc(size, alignment);
            if (start + size > capacity) {
                try testing.expectEqual(@as(?u32, null), result);
            } else {
                try testing.expectEqual(@as(?u32, @intCast(start)), result);
                model_offset = start + size;
            }
        } else if (action < 95) {
            const mark: u32 = @intCast(random.uintAtMost(u64, model_offset));
            try arena.rewind(mark);
            model_offset = mark;
        } else {
            arena.reset();
            model_offset = 0;
        }
        try testing.expectEqual(model_offset, arena.header.offset);
    }
}
