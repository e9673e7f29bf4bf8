//! Who is running, and is it still alive: the identity a SharedPool cache records for its
//! owner (a Worker is one OS thread of one process), so that another thread or process can
//! tell an abandoned cache from a busy one.
//!
//! Pids and tids are reused, so an identity also holds the start time of the process and of
//! the thread (field 22 of /proc/<pid>/task/<tid>/stat, in clock ticks since boot): a reused
//! number with another start time is a different owner. Linux only; elsewhere every owner
//! reads as `unknown`, which callers treat as alive (never reclaim what might be in use).
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;

const supported = builtin.os.tag == .linux;

pub const Identity = extern struct {
    pid: u32,
    tid: u32,
    process_start: u64,
    thread_start: u64,
};

pub const Verdict = enum { alive, dead, unknown };

/// Longest stat line read: the comm field is at most 64 bytes, the numbers before field 22
/// about 200.
const stat_bytes_max = 1024;

/// The calling thread's identity; start times are 0 where procfs cannot be read.
pub fn current() Identity {
    if (!supported) return .{ .pid = 0, .tid = 0, .process_start = 0, .thread_start = 0 };
    const pid: u32 = @intCast(linux.getpid());
    const tid: u32 = @intCast(linux.gettid());
    var path: [64]u8 = undefined;
    return .{
        .pid = pid,
        .tid = tid,
        .process_start = startTime(taskPath(&path, pid, pid)) orelse 0,
        .thread_start = startTime(taskPath(&path, pid, tid)) orelse 0,
    };
}

/// Whether the owner named by `identity` still runs. Never `dead` by mistake: when procfs
/// gives no answer, a process that `kill(pid, 0)` still finds is `unknown`.
pub fn check(identity: Identity) Verdict {
    if (!supported) return .unknown;
    if (identity.pid == 0 or identity.pid > std.math.maxInt(i32)) return .dead;
    if (identity.tid == 0 or identity.tid > std.math.maxInt(i32)) return .dead;
    var path: [64]u8 = undefined;
    const process_start = startTime(taskPath(&path, identity.pid, identity.pid));
    if (process_start) |start| {
        if (identity.process_start != 0 and start != identity.process_start) return .dead; // pid reused
        const thread_start = startTime(taskPath(&path, identity.pid, identity.tid)) orelse return .dead;
        if (identity.thread_start != 0 and thread_start != identity.thread_start) return .dead; // tid reused
        return .alive;
    }
    const status = linux.kill(@intCast(identity.pid), @fromBackingInt(@intCast(0)));
    return if (linux.errno(status) == .SRCH) .dead else .unknown;
}

fn taskPath(buffer: *[64]u8, pid: u32, tid: u32) [:0]const u8 {
    return std.mem.printSentinel(buffer, "/proc/{d}/task/{d}/stat", .{ pid, tid }, 0) catch unreachable;
}

/// Field 22 (starttime) of a stat file, or null when it cannot be read or parsed.
fn startTime(path: [:0]const u8) ?u64 {
    const opened = linux.open(path, .{ .ACCMODE = .RDONLY, .CLOEXEC = true }, 0);
    if (linux.errno(opened) != .SUCCESS) return null;
    const fd: linux.fd_t = @intCast(opened);
    defer _ = linux.close(fd);
    var buffer: [stat_bytes_max]u8 = undefined;
    const read = linux.read(fd, &buffer, buffer.len);
    if (linux.errno(read) != .SUCCESS or read == 0) return null;
    return parseStartTime(buffer[0..read]);
}

/// Field 22 of a stat line. The command name (field 2) may hold spaces and parentheses, so
/// fields are counted from the last ')'.
fn parseStartTime(line: []const u8) ?u64 {
    const close = std.mem.lastIndexOfScalar(u8, line, ')') orelse return null;
    var fields = std.mem.tokenizeScalar(u8, line[close + 1 ..], ' ');
    var number: u32 = 3; // the first field after ')' is field 3 (state)
    while (fields.next()) |field| : (number += 1) {
        if (number == 22) return std.fmt.parseInt(u64, field, 10) catch null;
    }
    return null;
}

test "liveness: this thread is alive, a finished thread and a made-up pid are dead" {
    if (!supported) return error.SkipZigTest;
    const me = current();
    try std.testing.expect(me.process_start != 0 and me.thread_start != 0);
    try std.testing.expectEqual(Verdict.alive, check(me));
    var other: Identity = undefined;
    const thread = try std.Thread.spawn(.{}, struct {
        fn run(out: *Identity) void {
            out.* = current();
        }
    }.run, .{&other});
    thread.join();
    try std.testing.expect(other.tid != me.tid);
    try std.testing.expectEqual(Verdict.dead, check(other));
    var reused = me;
    reused.thread_start += 1;
    try std.testing.expectEqual(Verdict.dead, check(reused));
    try std.testing.expectEqual(Verdict.dead, check(.{ .pid = 0, .tid = 1, .process_start = 0, .thread_start = 0 }));
}

test "liveness: stat lines with spaces and parentheses in the name" {
    const line = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20";
    try std.testing.expectEqual(@as(?u64, 777), parseStartTime(line));
    try std.testing.expectEqual(@as(?u64, null), parseStartTime("42 (x) S 1 2"));
    try std.testing.expectEqual(@as(?u64, null), parseStartTime("no parenthesis"));
}
