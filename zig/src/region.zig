//! One anonymous mapping, acquired and pre-faulted at creation. Everything a pool or arena
//! does afterwards happens inside it without a system call.
const std = @import("std");
const assert = std.debug.assert;
const posix = std.posix;
const constants = @import("constants.zig");

pub const page_alignment = std.heap.page_size_min;

pub const Region = struct {
    memory: []align(page_alignment) u8,

    /// Maps `size_bytes` (a multiple of the page size), zeroed and populated up front so
    /// that first touches on the hot path cannot page-fault.
    pub fn map(size_bytes: u64) error{OutOfMemory}!Region {
        assert(size_bytes > 0);
        assert(size_bytes <= constants.region_bytes_max);
        assert(size_bytes % constants.page_bytes == 0);
        const memory = posix.mmap(
            null,
            @intCast(size_bytes),
            .{ .READ = true, .WRITE = true },
            .{ .TYPE = .PRIVATE, .ANONYMOUS = true, .POPULATE = true },
            -1,
            0,
        ) catch return error.OutOfMemory;
        assert(@intFromPtr(memory.ptr) % constants.page_bytes == 0);
        return .{ .memory = memory };
    }

    /// Gives the pages back to the kernel but keeps the addresses mapped: a JavaScript view
    /// that outlives `close()` reads zeros instead of crashing the process.
    pub fn discard(region: Region) void {
        posix.madvise(region.memory.ptr, region.memory.len, posix.MADV.DONTNEED) catch {};
    }

    /// Unmaps for good. Only once no view over the region can exist any more.
    pub fn unmap(region: Region) void {
        posix.munmap(region.memory);
    }
};

test "Region: mapped memory is zeroed, page-aligned and writable" {
    const region = try Region.map(2 * constants.page_bytes);
    defer region.unmap();
    try std.testing.expectEqual(@as(usize, 2 * constants.page_bytes), region.memory.len);
    for (region.memory) |byte| try std.testing.expectEqual(@as(u8, 0), byte);
    region.memory[region.memory.len - 1] = 7;
    region.discard();
    try std.testing.expectEqual(@as(u8, 0), region.memory[region.memory.len - 1]);
}
