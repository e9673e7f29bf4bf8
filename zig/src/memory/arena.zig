//! The region of an arena: a header and a data area that starts on a page boundary, so
//! aligning an offset aligns the address. TypeScript bumps the offset (src/arena.ts) and
//! writes its counters to the header for native readers; Zig only lays the region out.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const ArenaHeader = @import("../layout.zig").ArenaHeader;

pub const Options = struct {
    capacity: u32,
    alignment: u32 = 8,
};

pub const Geometry = struct {
    capacity: u32,
    alignment: u32,
    data_offset: u32,
    region_bytes: u64,

    pub fn compute(options: Options) error{InvalidArgument}!Geometry {
        if (options.capacity == 0 or options.capacity > constants.arena_capacity_max) return error.InvalidArgument;
        if (!validAlignment(options.alignment)) return error.InvalidArgument;
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

    pub fn format(memory: []align(std.heap.page_size_min) u8, geometry: Geometry) Arena {
        assert(memory.len == geometry.region_bytes);
        const header: *ArenaHeader = @ptrCast(memory.ptr);
        header.* = std.mem.zeroes(ArenaHeader);
        header.magic = ArenaHeader.magic_value;
        header.capacity = geometry.capacity;
        header.alignment = geometry.alignment;
        header.data_offset = geometry.data_offset;
        header.region_bytes = geometry.region_bytes;
        return .{ .header = header, .capacity = geometry.capacity };
    }
};

const testing = std.testing;

test "Arena: geometry checks its options and starts data on a page" {
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .capacity = 0 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .capacity = constants.arena_capacity_max + 1 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .capacity = 64, .alignment = 3 }));
    const geometry = try Geometry.compute(.{ .capacity = 5000 });
    try testing.expectEqual(@as(u32, constants.page_bytes), geometry.data_offset);
    try testing.expectEqual(@as(u64, 3 * constants.page_bytes), geometry.region_bytes);
}
