//! One anonymous mapping, acquired and pre-faulted at creation. Everything a pool or arena
//! does afterwards happens inside it without a system call.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const posix = std.posix;
const constants = @import("../constants.zig");

pub const page_alignment = std.heap.page_size_min;
/// Linux commits and pre-faults at mmap (MAP_POPULATE), reserves without commit
/// (MAP_NORESERVE) and populates on demand (MADV_POPULATE_WRITE). Elsewhere (macOS) pages are
/// touched one by one, which faults them in just the same.
const linux = builtin.os.tag == .linux;
/// Linux 5.14+: fault pages in writable, reporting ENOMEM instead of killing the process.
const madvise_populate_write: u32 = 23;

pub const Region = struct {
    memory: []align(page_alignment) u8,

    /// Maps `size_bytes` (a multiple of the page size), zeroed and populated up front so
    /// that first touches on the hot path cannot page-fault.
    pub fn map(size_bytes: u64) error{OutOfMemory}!Region {
        return mapped(size_bytes, true);
    }

    /// Maps `size_bytes` of address space and commits none of it: a growing pool reserves its
    /// maximum once, so growth never moves a block, and commits what it uses (`populate`).
    pub fn reserve(size_bytes: u64) error{OutOfMemory}!Region {
        return mapped(size_bytes, false);
    }

    fn mapped(size_bytes: u64, populate_all: bool) error{OutOfMemory}!Region {
        assert(size_bytes > 0);
        assert(size_bytes <= constants.region_bytes_max);
        assert(size_bytes % constants.page_bytes == 0);
        var flags: posix.MAP = .{ .TYPE = .PRIVATE, .ANONYMOUS = true };
        if (linux) {
            flags.POPULATE = populate_all;
            flags.NORESERVE = !populate_all;
        }
        const memory = posix.mmap(null, @intCast(size_bytes), .{ .READ = true, .WRITE = true }, flags, -1, 0) catch
            return error.OutOfMemory;
        assert(@intFromPtr(memory.ptr) % constants.page_bytes == 0);
        const region: Region = .{ .memory = memory };
        if (!linux and populate_all) region.touch(0, memory.len);
        return region;
    }

    /// Faults in every page of `from .. from+length` by writing to it.
    fn touch(region: Region, from: usize, length: usize) void {
        var offset: usize = 0;
        while (offset < length) : (offset += constants.page_bytes) {
            const byte: *volatile u8 = &region.memory[from + offset];
            byte.* = byte.*;
        }
    }

    /// Commits and pre-faults the pages of bytes `from .. to` (page multiples), so the hot
    /// path never page-faults on them. Fails cleanly when the kernel has no memory left.
    pub fn populate(region: Region, from: u64, to: u64) error{OutOfMemory}!void {
        assert(from < to);
        assert(to <= region.memory.len);
        assert(from % constants.page_bytes == 0 and to % constants.page_bytes == 0);
        const start: [*]align(page_alignment) u8 = @alignCast(region.memory.ptr + @as(usize, @intCast(from)));
        const length: usize = @intCast(to - from);
        if (!linux) return region.touch(@intCast(from), length);
        posix.madvise(start, length, madvise_populate_write) catch |failure| switch (failure) {
            // Kernels before 5.14 lack MADV_POPULATE_WRITE: touch every page instead.
            error.InvalidSyscall => region.touch(@intCast(from), length),
            else => return error.OutOfMemory,
        };
    }

    /// Gives the pages back to the kernel but keeps the addresses mapped: a JavaScript view
    /// that outlives `close()` reads zeros instead of crashing the process.
    pub fn discard(region: Region) void {
        if (linux) {
            posix.madvise(region.memory.ptr, region.memory.len, posix.MADV.DONTNEED) catch {};
            return;
        }
        // macOS's MADV_DONTNEED keeps the contents: map fresh zero pages over the range.
        const fixed: posix.MAP = .{ .TYPE = .PRIVATE, .ANONYMOUS = true, .FIXED = true };
        _ = posix.mmap(region.memory.ptr, region.memory.len, .{ .READ = true, .WRITE = true }, fixed, -1, 0) catch {};
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

test "Region: a reservation commits only what is populated, and grows in place" {
    const region = try Region.reserve(64 * constants.page_bytes);
    defer region.unmap();
    const base = region.memory.ptr;
    try region.populate(0, constants.page_bytes);
    region.memory[0] = 1;
    try region.populate(constants.page_bytes, 8 * constants.page_bytes);
    region.memory[8 * constants.page_bytes - 1] = 2;
    try std.testing.expectEqual(base, region.memory.ptr);
    try std.testing.expectEqual(@as(u8, 1), region.memory[0]);
    try std.testing.expectEqual(@as(u8, 0), region.memory[constants.page_bytes]);
}
