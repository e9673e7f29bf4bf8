//! One anonymous mapping, acquired and pre-faulted at creation. Everything a pool or arena
//! does afterwards happens inside it without a system call.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const posix = std.posix;
const constants = @import("../constants.zig");
const binding = @import("binding.zig");
const Placement = @import("../abi/config.zig").Placement;

pub const page_alignment = std.heap.page_size_min;
/// Linux maps, then places (mbind, huge-page advice, mlock: memory/binding.zig), then
/// pre-faults with MADV_POPULATE_WRITE, so the first touch already follows the placement; a
/// reservation is MAP_NORESERVE and populated on demand. Elsewhere (macOS) pages are touched
/// one by one, which faults them in just the same, and placements are unsupported.
const linux = builtin.os.tag == .linux;
/// Linux 5.14+: fault pages in writable, reporting ENOMEM instead of killing the process.
const madvise_populate_write: u32 = 23;

pub const Error = binding.Error;

pub const Region = struct {
    memory: []align(page_alignment) u8,
    /// Bytes mapped past `memory`: an explicit huge-page mapping is a whole number of huge pages.
    slack_bytes: usize = 0,
    /// mlock'ed (Placement.lock): unlocked before its pages are given back.
    locked: bool = false,

    /// Maps `size_bytes` (a multiple of the page size), zeroed and populated up front so
    /// that first touches on the hot path cannot page-fault.
    pub fn map(size_bytes: u64) error{OutOfMemory}!Region {
        return mapPlaced(size_bytes, true, Placement.none) catch error.OutOfMemory;
    }

    /// Maps `size_bytes` of address space and commits none of it: a growing pool reserves its
    /// maximum once, so growth never moves a block, and commits what it uses (`populate`).
    pub fn reserve(size_bytes: u64) error{OutOfMemory}!Region {
        return mapPlaced(size_bytes, false, Placement.none) catch error.OutOfMemory;
    }

    /// `map` (populate_all) or `reserve`, placed as `placement` asks before any page is touched.
    pub fn mapPlaced(size_bytes: u64, populate_all: bool, placement: Placement) Error!Region {
        assert(size_bytes > 0);
        assert(size_bytes <= constants.region_bytes_max);
        assert(size_bytes % constants.page_bytes == 0);
        var region = try mapPages(.PRIVATE, @intCast(size_bytes), !populate_all, placement.huge_pages);
        errdefer region.unmap();
        try region.place(placement);
        if (populate_all) try region.populate(0, size_bytes);
        return region;
    }

    /// Applies `placement` to the whole mapping (memory/binding.zig); the caller pre-faults after.
    pub fn place(region: *Region, placement: Placement) Error!void {
        try binding.apply(region.mapping(), placement);
        region.locked = placement.lock == 1;
    }

    /// Everything mapped: `memory` and the slack after it.
    pub fn mapping(region: Region) []align(page_alignment) u8 {
        return region.memory.ptr[0 .. region.memory.len + region.slack_bytes];
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
            if (region.locked) binding.unlock(region.mapping());
            posix.madvise(region.memory.ptr, region.mapping().len, posix.MADV.DONTNEED) catch {};
            return;
        }
        // macOS's MADV_DONTNEED keeps the contents: map fresh zero pages over the range.
        const fixed: posix.MAP = .{ .TYPE = .PRIVATE, .ANONYMOUS = true, .FIXED = true };
        _ = posix.mmap(region.memory.ptr, region.memory.len, .{ .READ = true, .WRITE = true }, fixed, -1, 0) catch {};
    }

    /// Unmaps for good. Only once no view over the region can exist any more.
    pub fn unmap(region: Region) void {
        posix.munmap(region.mapping());
    }
};

/// Maps `length` bytes of anonymous memory of `kind` (PRIVATE or SHARED). Explicit huge pages
/// come from MAP_HUGETLB when the kernel has enough free, else base pages (the page report
/// shows which). A transparent-huge-page request gets a 2 MiB-aligned mapping, which the kernel
/// needs before it can back it with huge pages.
pub fn mapPages(kind: @FieldType(posix.MAP, "TYPE"), length: usize, no_reserve: bool, huge_pages: u32) Error!Region {
    const protection: posix.PROT = .{ .READ = true, .WRITE = true };
    var flags: posix.MAP = .{ .TYPE = kind, .ANONYMOUS = true };
    if (linux and huge_pages == Placement.huge_explicit) {
        const huge_length = std.mem.alignForward(usize, length, binding.huge_page_bytes);
        var huge = flags;
        // No NORESERVE: hugetlb pages are reserved at mmap, so a later fault cannot SIGBUS.
        huge.HUGETLB = true;
        if (posix.mmap(null, huge_length, protection, huge, -1, 0)) |memory| {
            return .{ .memory = memory[0..length], .slack_bytes = huge_length - length };
        } else |_| {}
    }
    if (linux) flags.NORESERVE = no_reserve;
    if (linux and huge_pages == Placement.huge_transparent and length >= binding.huge_page_bytes) {
        return mapAligned(length, protection, flags);
    }
    const memory = posix.mmap(null, length, protection, flags, -1, 0) catch return error.OutOfMemory;
    assert(@intFromPtr(memory.ptr) % constants.page_bytes == 0);
    return .{ .memory = memory };
}

/// Maps one huge page more than asked and trims both ends to a huge-page boundary.
fn mapAligned(length: usize, protection: posix.PROT, flags: posix.MAP) Error!Region {
    const huge = binding.huge_page_bytes;
    const wide = posix.mmap(null, length + huge, protection, flags, -1, 0) catch return error.OutOfMemory;
    const start = std.mem.alignForward(usize, @intFromPtr(wide.ptr), huge);
    const head = start - @intFromPtr(wide.ptr);
    const tail = huge - head;
    if (head > 0) posix.munmap(@alignCast(wide[0..head]));
    if (tail > 0) posix.munmap(@alignCast(wide[head + length ..][0..tail]));
    const memory: []align(page_alignment) u8 = @alignCast(wide[head..][0..length]);
    assert(@intFromPtr(memory.ptr) % huge == 0);
    return .{ .memory = memory };
}

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
