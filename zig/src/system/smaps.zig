//! What kind of pages back a range of this process's memory, read from /proc/self/smaps: the
//! page size of each mapping, how much of it is resident, in huge pages (transparent or
//! hugetlb) and locked. This is how a region's huge-page and lock options are verified, not
//! assumed: transparent huge pages may be off, hugetlb may have had no free pages.
//!
//! smaps has one block per mapping; a process has thousands. It is streamed through a fixed
//! buffer, at most `file_bytes_max` in all, and a line longer than the buffer is skipped.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const Status = @import("../status.zig").Status;

const supported = builtin.os.tag == .linux;
const buffer_bytes = 64 * 1024;
/// A process with 100,000 mappings writes about 40 MiB of smaps.
pub const file_bytes_max: u64 = 256 << 20;

/// What `report` writes, as f64s (what JavaScript reads).
pub const PagesReport = extern struct {
    /// Mappings that overlap the range.
    mappings: f64,
    /// The largest page size among them (KernelPageSize): 4096, or the hugetlb page size.
    page_bytes: f64,
    /// Resident bytes, huge pages included.
    resident_bytes: f64,
    /// Resident in huge pages: transparent (AnonHugePages, ShmemPmdMapped, FilePmdMapped) or hugetlb.
    huge_bytes: f64,
    locked_bytes: f64,
    /// 1 when a mapping also covers memory outside the range (the kernel merged a neighbour
    /// into it), so the byte counts include that memory.
    spills: f64,
    reserved: [2]f64,
};

const Field = enum { rss, kernel_page_size, anon_huge, shmem_pmd, file_pmd, shared_hugetlb, private_hugetlb, locked };
const field_names = [_]struct { []const u8, Field }{
    .{ "Rss:", .rss },
    .{ "KernelPageSize:", .kernel_page_size },
    .{ "AnonHugePages:", .anon_huge },
    .{ "ShmemPmdMapped:", .shmem_pmd },
    .{ "FilePmdMapped:", .file_pmd },
    .{ "Shared_Hugetlb:", .shared_hugetlb },
    .{ "Private_Hugetlb:", .private_hugetlb },
    .{ "Locked:", .locked },
};

/// Fills `out` for `address .. address+bytes`; invalid_argument when no mapping overlaps it,
/// limit_reached when smaps is longer than `file_bytes_max`.
pub fn report(address: u64, bytes: u64, out: *PagesReport) Status {
    out.* = std.mem.zeroes(PagesReport);
    if (!supported) return .unsupported;
    assert(bytes > 0);
    const end = std.math.add(u64, address, bytes) catch return .invalid_argument;
    const opened = linux.open("/proc/self/smaps", .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    if (linux.errno(opened) != .SUCCESS) return .unsupported;
    const fd: linux.fd_t = @intCast(opened);
    defer _ = linux.close(fd);
    var scanner = Scanner{ .start = address, .end = end, .out = out };
    var buffer: [buffer_bytes]u8 = undefined;
    var kept: usize = 0;
    var total: u64 = 0;
    var skipping = false;
    while (true) {
        const got = linux.read(fd, buffer[kept..].ptr, buffer.len - kept);
        if (linux.errno(got) != .SUCCESS) return .unsupported;
        if (got == 0) break;
        total += got;
        if (total > file_bytes_max) return .limit_reached;
        const filled = kept + got;
        var lines = buffer[0..filled];
        while (std.mem.indexOfScalar(u8, lines, '\n')) |newline| {
            if (!skipping) scanner.line(lines[0..newline]);
            skipping = false;
            lines = lines[newline + 1 ..];
        }
        if (lines.len == buffer.len) {
            // One line fills the buffer: drop it up to its end.
            skipping = true;
            kept = 0;
        } else {
            std.mem.copyForwards(u8, buffer[0..lines.len], lines);
            kept = lines.len;
        }
    }
    if (out.mappings == 0) return .invalid_argument;
    return .ok;
}

const Scanner = struct {
    start: u64,
    end: u64,
    out: *PagesReport,
    inside: bool = false,

    fn line(scanner: *Scanner, text: []const u8) void {
        if (mappingRange(text)) |range| {
            scanner.inside = range[0] < scanner.end and range[1] > scanner.start;
            if (!scanner.inside) return;
            scanner.out.mappings += 1;
            if (range[0] < scanner.start or range[1] > scanner.end) scanner.out.spills = 1;
            return;
        }
        if (!scanner.inside) return;
        for (field_names) |entry| {
            if (!std.mem.startsWith(u8, text, entry[0])) continue;
            const value: f64 = @floatFromInt(kilobytes(text[entry[0].len..]) orelse return);
            const out = scanner.out;
            switch (entry[1]) {
                .rss => out.resident_bytes += value,
                .kernel_page_size => out.page_bytes = @max(out.page_bytes, value),
                .anon_huge, .shmem_pmd, .file_pmd => out.huge_bytes += value,
                .shared_hugetlb, .private_hugetlb => {
                    out.huge_bytes += value;
                    out.resident_bytes += value;
                },
                .locked => out.locked_bytes += value,
            }
            return;
        }
    }
};

/// "start-end perms ..." with hexadecimal addresses: a mapping's first line.
fn mappingRange(text: []const u8) ?[2]u64 {
    const dash = std.mem.indexOfScalar(u8, text, '-') orelse return null;
    const space = std.mem.indexOfScalarPos(u8, text, dash, ' ') orelse return null;
    const start = std.fmt.parseUnsigned(u64, text[0..dash], 16) catch return null;
    const end = std.fmt.parseUnsigned(u64, text[dash + 1 .. space], 16) catch return null;
    if (end <= start) return null;
    return .{ start, end };
}

/// "    123 kB" in bytes; null for anything else.
fn kilobytes(text: []const u8) ?u64 {
    const trimmed = std.mem.trim(u8, text, " \t");
    if (!std.mem.endsWith(u8, trimmed, " kB")) return null;
    const number = std.mem.trimEnd(u8, trimmed[0 .. trimmed.len - 3], " ");
    const value = std.fmt.parseUnsigned(u64, number, 10) catch return null;
    return std.math.mul(u64, value, 1024) catch null;
}

test "smaps: a locked, populated mapping reports its pages; an unmapped range is refused" {
    if (!supported) return error.SkipZigTest;
    const length = 16 * 4096;
    const memory = try std.posix.mmap(null, length, .{ .READ = true, .WRITE = true }, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    defer std.posix.munmap(memory);
    @memset(memory, 1);
    var out: PagesReport = undefined;
    try std.testing.expectEqual(Status.ok, report(@intFromPtr(memory.ptr), length, &out));
    try std.testing.expect(out.mappings >= 1);
    try std.testing.expectEqual(@as(f64, 4096), out.page_bytes);
    try std.testing.expect(out.resident_bytes >= length);
    try std.testing.expectEqual(Status.invalid_argument, report(4096, 4096, &out));
    try std.testing.expectEqual(@as(?u64, 2048 * 1024), kilobytes("    2048 kB"));
    try std.testing.expectEqual(@as(?u64, null), kilobytes(" 12 MB"));
    try std.testing.expectEqual(@as(?[2]u64, null), mappingRange("Rss:  4 kB"));
}
