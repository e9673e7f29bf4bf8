//! FFI exports of the system layer: the calling thread's CPU affinity and the CPU and NUMA
//! node it runs on. Masks cross as `affinity.mask_words` little-endian u32 words (bit i for
//! CPU i), at any alignment: they are copied, never cast.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const Status = @import("../status.zig").Status;
const affinity = @import("../system/affinity.zig");
const sysfs = @import("../system/sysfs.zig");
const topology = @import("../system/topology.zig");
const placement = @import("../system/placement.zig");
const smaps = @import("../system/smaps.zig");
const binding = @import("../memory/binding.zig");

const mask_bytes: u32 = @sizeOf(affinity.Mask);

comptime {
    // Masks are copied byte for byte between the kernel's words and the u32 words JS reads.
    assert(builtin.cpu.arch.endian() == .little);
    assert(mask_bytes == affinity.mask_words * 4);
}

/// The calling thread's mask into `out` (exactly `mask_bytes` bytes); how many CPUs it holds.
export fn hp_affinity_get(out: ?[*]u8, out_bytes: u32) callconv(.c) i32 {
    return maskInto(out, out_bytes, affinity.get);
}

/// The CPUs the kernel lets the calling thread use (online, in its cpuset) into `out`; how many.
export fn hp_affinity_allowed(out: ?[*]u8, out_bytes: u32) callconv(.c) i32 {
    return maskInto(out, out_bytes, affinity.allowed);
}

/// Copies the mask `read` gives into `out` (exactly `mask_bytes` bytes, any alignment).
fn maskInto(out: ?[*]u8, out_bytes: u32, comptime read: fn (*affinity.Mask) i32) i32 {
    if (out_bytes != mask_bytes) return Status.invalid_argument.code();
    const target = out orelse return Status.invalid_argument.code();
    var mask: affinity.Mask = undefined;
    const count = read(&mask);
    if (count < 0) return count;
    @memcpy(target[0..mask_bytes], std.mem.asBytes(&mask));
    return count;
}

/// Sets the calling thread's mask from `mask` (exactly `mask_bytes` bytes). Refused, with the
/// previous mask kept: an empty mask, or one naming a CPU the kernel does not allow.
export fn hp_affinity_set(mask: ?[*]const u8, mask_bytes_given: u32) callconv(.c) i32 {
    if (mask_bytes_given != mask_bytes) return Status.invalid_argument.code();
    const source = mask orelse return Status.invalid_argument.code();
    var wanted: affinity.Mask = undefined;
    @memcpy(std.mem.asBytes(&wanted), source[0..mask_bytes]);
    return affinity.set(&wanted).code();
}

/// The CPU the calling thread runs on, or `unsupported`.
export fn hp_current_cpu() callconv(.c) i32 {
    const cpu = affinity.currentCpu() orelse return Status.unsupported.code();
    return @intCast(cpu);
}

/// The NUMA node the calling thread runs on (0 on a machine without NUMA), or `unsupported`.
export fn hp_current_node() callconv(.c) i32 {
    const node = affinity.currentNode() orelse return Status.unsupported.code();
    return @intCast(node);
}

/// The NUMA and CPU topology under `root` ("" for this machine; a fixture tree in tests) as a
/// JSON document in `out`; its length, `exhausted` when `out` is too small, `unsupported` off
/// Linux.
export fn hp_numa_topology(root: ?[*]const u8, root_bytes: u32, out: ?[*]u8, out_bytes: u32) callconv(.c) i32 {
    if (!sysfs.supported) return Status.unsupported.code();
    if (root_bytes >= sysfs.root_bytes_max) return Status.invalid_argument.code();
    if (out_bytes == 0 or out_bytes > topology.document_bytes_max) return Status.invalid_argument.code();
    const target = out orelse return Status.invalid_argument.code();
    const path: []const u8 = if (root_bytes == 0) "" else (root orelse return Status.invalid_argument.code())[0..root_bytes];
    const parsed_root = sysfs.Root.init(path) orelse return Status.invalid_argument.code();
    var document = topology.Out{ .buffer = target[0..out_bytes] };
    topology.write(&parsed_root, &document);
    if (document.full) return Status.exhausted.code();
    assert(document.length <= out_bytes);
    return @intCast(document.length);
}

/// Bytes a range query accepts: 2^53, where an f64 stops being exact.
const range_bytes_max: f64 = 9007199254740992;

/// A question about a range of this process's memory and the record the answer goes into.
fn RangeQuery(comptime Out: type) type {
    return struct { address: usize, bytes: u64, out: *Out };
}

/// Checks a range query's arguments: a non-null address, a whole number of bytes from 1 to
/// 2^53, and `out` exactly one 8-byte aligned `Out`. The memory itself is never read.
fn rangeQuery(comptime Out: type, memory: ?[*]const u8, memory_bytes: f64, out: ?*anyopaque, out_bytes: u32) ?RangeQuery(Out) {
    const address = @intFromPtr(memory orelse return null);
    if (!(memory_bytes >= 1 and memory_bytes <= range_bytes_max)) return null;
    if (@floor(memory_bytes) != memory_bytes) return null;
    if (out_bytes != @sizeOf(Out)) return null;
    const raw = @intFromPtr(out orelse return null);
    if (raw % @alignOf(Out) != 0) return null;
    return .{ .address = address, .bytes = @intFromFloat(memory_bytes), .out = @ptrFromInt(raw) };
}

/// Counts the NUMA node of each page of `memory_bytes` bytes at `memory` (sampled past 2^16
/// pages) into `out`, a placement.Counts (8-byte aligned, exactly its size). Asks the kernel
/// only (move_pages in query mode): the memory itself is never read.
export fn hp_numa_where(memory: ?[*]const u8, memory_bytes: f64, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const query = rangeQuery(placement.Counts, memory, memory_bytes, out, out_bytes) orelse
        return Status.invalid_argument.code();
    return placement.whereIs(query.address, query.bytes, query.out).code();
}

/// What kind of pages back `memory_bytes` bytes at `memory` (/proc/self/smaps): page size,
/// resident, huge and locked bytes, into `out`, a smaps.PagesReport (8-byte aligned, exactly
/// its size). `invalid_argument` when no mapping overlaps the range.
export fn hp_pages_report(memory: ?[*]const u8, memory_bytes: f64, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const query = rangeQuery(smaps.PagesReport, memory, memory_bytes, out, out_bytes) orelse
        return Status.invalid_argument.code();
    return smaps.report(query.address, query.bytes, query.out).code();
}

/// The soft RLIMIT_MEMLOCK in bytes, -1 when unlimited or unknown (named by a refused lock).
export fn hp_memory_lock_limit() callconv(.c) f64 {
    return binding.lockLimitBytes();
}

test "system exports: wrong sizes and null buffers are refused" {
    var buffer: [mask_bytes + 1]u8 = undefined;
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_affinity_get(&buffer, mask_bytes + 1));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_affinity_get(null, mask_bytes));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_affinity_set(&buffer, 4));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_affinity_set(null, mask_bytes));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_affinity_allowed(&buffer, 0));
    if (builtin.os.tag != .linux) return;
    // Unaligned, through the copy.
    const count = hp_affinity_get(buffer[1..].ptr, mask_bytes);
    try std.testing.expect(count >= 1);
    try std.testing.expectEqual(Status.ok.code(), hp_affinity_set(buffer[1..].ptr, mask_bytes));
    try std.testing.expect(hp_current_cpu() >= 0);
    try std.testing.expect(hp_current_node() >= 0);
}
