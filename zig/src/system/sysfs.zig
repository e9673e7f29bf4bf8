//! Bounded reads of small sysfs and procfs files under a root directory ("/" for the machine,
//! a fixture tree in tests), and the kernel's list formats. Nothing here allocates: paths and
//! contents live in fixed buffers, and a file longer than its buffer is an error, not a
//! truncated answer. Every parser refuses what it does not understand (null), so a malformed
//! file degrades an answer instead of crashing it.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const affinity = @import("affinity.zig");

pub const supported = builtin.os.tag == .linux;

/// Bytes of a root directory path, and of any path built under it.
pub const root_bytes_max: u32 = 200;
pub const path_bytes_max: u32 = 512;
/// Bytes of one file: /proc/self/status and a node's meminfo are about 1.5 KiB; a CPU list of
/// 1024 CPUs written one by one is under 5 KiB.
pub const file_bytes_max: u32 = 16 * 1024;

pub const Root = struct {
    bytes: [root_bytes_max]u8 = undefined,
    length: u32 = 0,

    /// `path` is absolute without a trailing slash ("" is the machine's root).
    pub fn init(path: []const u8) ?Root {
        if (path.len >= root_bytes_max) return null;
        if (path.len > 0 and path[0] != '/') return null;
        if (std.mem.indexOfScalar(u8, path, 0) != null) return null;
        var root = Root{};
        @memcpy(root.bytes[0..path.len], path);
        root.length = @intCast(path.len);
        while (root.length > 0 and root.bytes[root.length - 1] == '/') root.length -= 1;
        return root;
    }

    pub fn prefix(root: *const Root) []const u8 {
        return root.bytes[0..root.length];
    }
};

/// A file's contents, read whole into `buffer`; null when it is missing, unreadable or longer
/// than the buffer.
pub fn read(root: *const Root, buffer: *[file_bytes_max]u8, comptime format: []const u8, args: anytype) ?[]const u8 {
    if (!supported) return null;
    var path_buffer: [path_bytes_max]u8 = undefined;
    const path = std.fmt.bufPrintSentinel(&path_buffer, "{s}" ++ format, .{root.prefix()} ++ args, 0) catch return null;
    const opened = linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true, .NOFOLLOW = false }, 0);
    if (linux.errno(opened) != .SUCCESS) return null;
    const fd: linux.fd_t = @intCast(opened);
    defer _ = linux.close(fd);
    var length: usize = 0;
    // Read to the end: a file that fills the buffer is refused, never cut.
    var reads: u32 = 0;
    while (reads < 64) : (reads += 1) {
        const got = linux.read(fd, buffer[length..].ptr, buffer.len - length);
        if (linux.errno(got) != .SUCCESS) return null;
        if (got == 0) return buffer[0..length];
        length += got;
        if (length == buffer.len) return null;
    }
    return null;
}

/// An unsigned decimal number, surrounding white space allowed.
pub fn number(text: []const u8) ?u64 {
    const trimmed = std.mem.trim(u8, text, " \t\n");
    if (trimmed.len == 0 or trimmed.len > 20) return null;
    return std.fmt.parseInt(u64, trimmed, 10) catch null;
}

/// A signed decimal number (sysfs writes -1 for "unknown" in some topology files).
pub fn signedNumber(text: []const u8) ?i64 {
    const trimmed = std.mem.trim(u8, text, " \t\n");
    if (trimmed.len == 0 or trimmed.len > 20) return null;
    return std.fmt.parseInt(i64, trimmed, 10) catch null;
}

/// A list in the kernel's format ("0-3,8,10-11", possibly empty) into a mask of ids below
/// `affinity.cpus_max`; null when malformed or naming an id past the mask.
pub fn list(text: []const u8) ?affinity.Mask {
    var mask: affinity.Mask = @splat(0);
    const trimmed = std.mem.trim(u8, text, " \t\n");
    if (trimmed.len == 0) return mask;
    var parts = std.mem.splitScalar(u8, trimmed, ',');
    var count: u32 = 0;
    while (parts.next()) |part| {
        count += 1;
        if (count > affinity.cpus_max) return null;
        const dash = std.mem.indexOfScalar(u8, part, '-');
        const first = number(if (dash) |at| part[0..at] else part) orelse return null;
        const last = if (dash) |at| number(part[at + 1 ..]) orelse return null else first;
        if (first > last or last >= affinity.cpus_max) return null;
        var id: u32 = @intCast(first);
        while (id <= last) : (id += 1) mask[id / 32] |= @as(u32, 1) << @intCast(id % 32);
    }
    return mask;
}

pub fn has(mask: *const affinity.Mask, id: u32) bool {
    assert(id < affinity.cpus_max);
    return mask[id / 32] & (@as(u32, 1) << @intCast(id % 32)) != 0;
}

/// The value of a "Key: value" line (procfs status, meminfo), or null.
pub fn field(text: []const u8, key: []const u8) ?[]const u8 {
    var lines = std.mem.splitScalar(u8, text, '\n');
    while (lines.next()) |line| {
        const colon = std.mem.indexOfScalar(u8, line, ':') orelse continue;
        const name = std.mem.trim(u8, line[0..colon], " \t");
        // Node meminfo lines read "Node 0 MemTotal:": the key is the last word.
        const last_space = std.mem.lastIndexOfAny(u8, name, " \t");
        const last_word = if (last_space) |at| name[at + 1 ..] else name;
        if (std.mem.eql(u8, last_word, key)) return std.mem.trim(u8, line[colon + 1 ..], " \t");
    }
    return null;
}

/// "123 kB" into bytes; null when malformed or past 2^53 (a JavaScript number stays exact).
pub fn kilobytes(text: []const u8) ?u64 {
    const trimmed = std.mem.trim(u8, text, " \t");
    const space = std.mem.indexOfScalar(u8, trimmed, ' ') orelse return null;
    if (!std.mem.eql(u8, std.mem.trim(u8, trimmed[space..], " \t"), "kB")) return null;
    const value = number(trimmed[0..space]) orelse return null;
    if (value > (1 << 43)) return null;
    return value * 1024;
}

/// A cache size as sysfs writes it ("32K", "1024K", "8M"); null when malformed.
pub fn size(text: []const u8) ?u64 {
    const trimmed = std.mem.trim(u8, text, " \t\n");
    if (trimmed.len < 2) return number(trimmed);
    const unit: u64 = switch (trimmed[trimmed.len - 1]) {
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        else => return number(trimmed),
    };
    const value = number(trimmed[0 .. trimmed.len - 1]) orelse return null;
    if (value > (1 << 30)) return null;
    return value * unit;
}

test "sysfs: lists, numbers, fields and sizes" {
    const mask = list("0-3,8,10-11\n").?;
    try std.testing.expectEqual(@as(u32, 0b1101_0000_1111), mask[0]);
    try std.testing.expectEqual(@as(u32, 0), affinity.countOf(&list("").?));
    try std.testing.expect(has(&list("1023").?, 1023));
    inline for (.{ "1024", "3-1", "a", "1-", "-1", "1,,2", "0-99999999999999999999" }) |bad| {
        try std.testing.expectEqual(@as(?affinity.Mask, null), list(bad));
    }
    try std.testing.expectEqual(@as(?u64, 42), number(" 42\n"));
    try std.testing.expectEqual(@as(?i64, -1), signedNumber("-1\n"));
    const status = "Name:\tdeno\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n";
    try std.testing.expectEqualStrings("0-1", field(status, "Cpus_allowed_list").?);
    const meminfo = "Node 1 MemTotal:       8000 kB\nNode 1 MemFree:        4000 kB\n";
    try std.testing.expectEqual(@as(?u64, 8000 * 1024), kilobytes(field(meminfo, "MemTotal").?));
    try std.testing.expectEqual(@as(?u64, null), kilobytes("12 MB"));
    try std.testing.expectEqual(@as(?u64, 32 << 10), size("32K\n"));
    try std.testing.expectEqual(@as(?u64, 8 << 20), size("8M"));
    try std.testing.expectEqual(@as(?u64, null), size("K"));
    try std.testing.expect(Root.init("relative") == null);
    try std.testing.expectEqualStrings("/fixture", Root.init("/fixture//").?.prefix());
}
