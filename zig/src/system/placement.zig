//! Where memory is: the NUMA node of each page of a range, asked of the kernel with
//! move_pages in query mode (no page moves; pages not faulted in yet read as not present).
//! A range longer than `sample_pages_max` pages is sampled at an even stride, so one call
//! makes at most sample_pages_max / batch_pages system calls whatever the range.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const Status = @import("../status.zig").Status;

const supported = builtin.os.tag == .linux;

pub const nodes_max: u32 = 64;
pub const sample_pages_max: u64 = 1 << 16;
const batch_pages = 1024;

/// What `whereIs` counts, as f64s (what JavaScript reads): the header, then pages by node.
pub const Counts = extern struct {
    /// Pages the range touches, and how many of them were asked about (every `stride`-th).
    pages: f64,
    sampled: f64,
    stride: f64,
    page_bytes: f64,
    /// Sampled pages not in memory yet (never touched), and pages on a node >= nodes_max or
    /// that the kernel could not tell (not a mapped address, for one).
    not_present: f64,
    other: f64,
    by_node: [nodes_max]f64,
};

pub fn whereIs(address: usize, bytes: u64, counts: *Counts) Status {
    counts.* = std.mem.zeroes(Counts);
    if (!supported) return .unsupported;
    if (bytes == 0) return .invalid_argument;
    const page_bytes: u64 = std.heap.pageSize();
    const first_page = address / page_bytes;
    const end = std.math.add(u64, address, bytes) catch return .invalid_argument;
    const pages = (end - 1) / page_bytes - first_page + 1;
    const stride = std.math.divCeil(u64, pages, sample_pages_max) catch unreachable;
    counts.pages = @floatFromInt(pages);
    counts.stride = @floatFromInt(stride);
    counts.page_bytes = @floatFromInt(page_bytes);
    var addresses: [batch_pages]usize = undefined;
    var status: [batch_pages]i32 = undefined;
    var page: u64 = 0;
    while (page < pages) {
        var count: usize = 0;
        while (count < batch_pages and page < pages) : (page += stride) {
            addresses[count] = @intCast((first_page + page) * page_bytes);
            count += 1;
        }
        const result = linux.syscall6(.move_pages, 0, count, @intFromPtr(&addresses), 0, @intFromPtr(&status), 0);
        switch (linux.errno(result)) {
            .SUCCESS => {},
            .NOSYS, .PERM => return .unsupported,
            else => return .invalid_argument,
        }
        for (status[0..count]) |node| {
            if (node >= 0 and node < nodes_max) {
                counts.by_node[@intCast(node)] += 1;
            } else if (node == -@as(i32, @backingInt(linux.E.NOENT))) {
                counts.not_present += 1;
            } else {
                counts.other += 1;
            }
        }
        counts.sampled += @floatFromInt(count);
    }
    assert(counts.sampled <= @as(f64, @floatFromInt(sample_pages_max)));
    return .ok;
}

test "placement: touched pages are on a node, untouched ones not present, long ranges sampled" {
    if (!supported) return error.SkipZigTest;
    const page_bytes = std.heap.pageSize();
    const memory = try std.heap.page_allocator.alignedAlloc(u8, .fromByteUnits(std.heap.page_size_max), 8 * page_bytes);
    defer std.heap.page_allocator.free(memory);
    @memset(memory[0 .. 4 * page_bytes], 1);
    var counts: Counts = undefined;
    const status = whereIs(@intFromPtr(memory.ptr), memory.len, &counts);
    if (status == .unsupported) return error.SkipZigTest; // a kernel without NUMA
    try std.testing.expectEqual(Status.ok, status);
    try std.testing.expectEqual(@as(f64, 8), counts.pages);
    var on_nodes: f64 = 0;
    for (counts.by_node) |value| on_nodes += value;
    try std.testing.expect(on_nodes >= 4);
    try std.testing.expectEqual(@as(f64, 8), on_nodes + counts.not_present + counts.other);
    try std.testing.expectEqual(Status.ok, whereIs(@intFromPtr(memory.ptr), 1 << 40, &counts));
    try std.testing.expectEqual(@as(f64, sample_pages_max), counts.sampled);
    try std.testing.expectEqual(Status.invalid_argument, whereIs(std.math.maxInt(usize) - 10, 100, &counts));
}
