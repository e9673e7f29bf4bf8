//! FFI exports of the counter directory (monitoring/stats_directory.zig). The publishing side
//! is process-wide: the first thread to attach creates `/dev/shm/hotpath-stats-<pid>` (or the
//! path it gives), later threads (Workers) share it, the last to detach unmaps and removes it.
//! Writers take one process-wide mutex (claims and publications are off the hot path, a few
//! per object per second). The reading side (`hp_stats_read`) needs no attachment: it reads any
//! process's directory through a read-only descriptor (never a mapping), copies every claimed
//! entry under its sequence lock and judges whether the process and each publishing thread still
//! run.
const std = @import("std");
const assert = std.debug.assert;
const MutexGuard = @import("../system/mutex_guard.zig").MutexGuard;
const linux = std.os.linux;
const Status = @import("../status.zig").Status;
const constants = @import("../constants.zig");
const shared = @import("shared_exports.zig");
const shared_region = @import("../memory/shared_region.zig");
const Region = @import("../memory/region.zig").Region;
const Placement = @import("config.zig").Placement;
const liveness = @import("../system/liveness.zig");
const clock = @import("../system/clock.zig");
const directory_module = @import("../monitoring/stats_directory.zig");
const Directory = directory_module.Directory;

/// What `hp_stats_read` writes first: the header, whether the process runs, how many entries follow.
pub const StatsReadOut = extern struct {
    header: directory_module.Header,
    verdict: u32,
    count: u32,
    /// CLOCK_MONOTONIC at the read, in ns.
    now_ns: f64,
};

/// One claimed entry as `hp_stats_read` copies it.
pub const StatsEntryOut = extern struct {
    entry: directory_module.Entry,
    /// liveness.Verdict of the publishing thread: 0 alive, 1 dead, 2 unknown.
    verdict: u32,
    /// 1 when the copy is consistent, 0 when a writer held the entry for every attempt.
    consistent: u32,
    /// ns since its last publication, -1 before the first.
    age_ns: f64,
};

/// Bytes `hp_stats_read` needs in `out`: room for every entry.
pub const read_out_bytes: u32 = @sizeOf(StatsReadOut) + constants.stats_entries_max * @sizeOf(StatsEntryOut);

comptime {
    assert(@sizeOf(StatsReadOut) % 8 == 0 and @sizeOf(StatsEntryOut) % 8 == 0);
}

/// Longest command line recorded is `command_bytes_max`; longer ones are cut, larger inputs refused.
const text_bytes_max: u32 = 4096;

/// Threads attached at once. A thread that ends attached (a terminated Worker) holds its place
/// until a detach finds it dead, so the last live thread to detach still removes the file.
const attachments_max = constants.stats_entries_max;

var mutex: std.c.pthread_mutex_t = .{};
var attached: u32 = 0;
var attachments: [attachments_max]liveness.Identity = undefined;
var published: ?struct { region: Region, path: shared.Path } = null;
threadlocal var thread_identity: ?liveness.Identity = null;

/// The calling thread's identity, read from procfs once per thread.
fn me() liveness.Identity {
    if (thread_identity) |identity| return identity;
    const identity = liveness.current();
    thread_identity = identity;
    return identity;
}

fn directory() ?*Directory {
    const current = published orelse return null;
    return @ptrCast(@alignCast(current.region.memory.ptr));
}

fn textOf(pointer: ?[*]const u8, length: u32) ?[]const u8 {
    if (length == 0) return "";
    if (length > text_bytes_max) return null;
    const source = pointer orelse return null;
    return source[0..length];
}

/// Attaches the calling thread to this process's directory at `path`, creating it on the first
/// attach (a file left by a dead process of the same pid is replaced). `command` (cut to
/// `command_bytes_max`) names the process for readers. Returns how many attachments there are.
export fn hp_stats_attach(path_pointer: ?[*]const u8, path_bytes: u32, command_pointer: ?[*]const u8, command_bytes: u32) callconv(.c) i32 {
    const path = directoryPath(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    if (pidOf(std.fs.path.basename(shared.sentinel(&path))) != @as(u32, @intCast(linux.getpid()))) {
        return Status.invalid_path.code(); // a process publishes under its own pid only
    }
    const command = textOf(command_pointer, command_bytes) orelse return Status.invalid_argument.code();
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    if (published) |current| {
        if (!std.mem.eql(u8, shared.sentinel(&current.path), shared.sentinel(&path))) return Status.invalid_argument.code();
        if (attached == attachments_max) forgetDeadAttachments();
        if (attached == attachments_max) return Status.limit_reached.code();
        attachments[attached] = me();
        attached += 1;
        return @intCast(attached);
    }
    assert(attached == 0);
    const named = createReplacingDead(shared.sentinel(&path)) catch |failure| return shared.regionStatus(failure);
    shared_region.closeFd(named.fd);
    const thread = me();
    const process: liveness.Identity = .{
        .pid = thread.pid,
        .tid = thread.pid,
        .process_start = thread.process_start,
        .thread_start = thread.process_start, // the main thread started with the process
    };
    directory_module.format(@ptrCast(@alignCast(named.region.memory.ptr)), process, command, clock.monotonicNs());
    published = .{ .region = named.region, .path = path };
    attachments[0] = thread;
    attached = 1;
    return 1;
}

fn removeAttachment(index: usize) void {
    assert(index < attached);
    attached -= 1;
    attachments[index] = attachments[attached];
}

/// Drops the attachments of threads that ended without detaching.
fn forgetDeadAttachments() void {
    var index: usize = 0;
    while (index < attached) {
        if (liveness.check(attachments[index]) == .dead) removeAttachment(index) else index += 1;
    }
}

fn createReplacingDead(path: [:0]const u8) shared_region.Error!shared_region.Named {
    const bytes = directory_module.file_bytes;
    return shared_region.createNamed(path, bytes, bytes, Placement.none) catch |failure| {
        if (failure != error.AlreadyExists or removeDead(path) != .ok) return failure;
        return shared_region.createNamed(path, bytes, bytes, Placement.none);
    };
}

/// Detaches the calling thread; the last live thread to detach unmaps the directory and removes
/// its file. Returns how many attachments remain (`invalid_id` for a thread not attached).
export fn hp_stats_detach() callconv(.c) i32 {
    const identity = me();
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const current = published orelse return Status.invalid_id.code();
    assert(attached > 0);
    const index = for (attachments[0..attached], 0..) |attachment, index| {
        if (std.meta.eql(attachment, identity)) break index;
    } else return Status.invalid_id.code();
    removeAttachment(index);
    forgetDeadAttachments();
    if (attached == 0) {
        shared_region.unlinkNamed(shared.sentinel(&current.path)) catch {};
        current.region.unmap();
        published = null;
    }
    return @intCast(attached);
}

/// NUMA nodes an entry can name (Linux's MAX_NUMNODES is at most 1024).
const nodes_max = 1024;

/// Claims an entry for one object of `kind` (1 .. kinds_max) placed on `node` (-1: none) named
/// `name` (cut to `stats_name_bytes_max`). Returns the entry's index, or `limit_reached` when
/// every entry is taken (the directory counts it).
export fn hp_stats_claim(kind: u32, node: i32, name_pointer: ?[*]const u8, name_bytes: u32) callconv(.c) i32 {
    if (kind == 0 or kind > directory_module.kinds_max) return Status.invalid_argument.code();
    if (node < -1 or node >= nodes_max) return Status.invalid_argument.code();
    const name = textOf(name_pointer, name_bytes) orelse return Status.invalid_argument.code();
    const identity = me();
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const target = directory() orelse return Status.invalid_id.code();
    const index = directory_module.claim(target, identity, .{ .kind = kind, .node = node, .name = name }) orelse
        return Status.limit_reached.code();
    return @intCast(index);
}

/// Publishes `stats_counters_max` f64 counters (exactly that many bytes, any alignment) into
/// entry `index`, which the calling thread must hold; `interval_ms` is the publisher's cadence.
export fn hp_stats_publish(index: u32, counters_pointer: ?[*]const u8, counters_bytes: u32, interval_ms: u32) callconv(.c) i32 {
    var counters: [directory_module.counters_max]f64 = undefined;
    if (counters_bytes != @sizeOf(@TypeOf(counters))) return Status.invalid_argument.code();
    const source = counters_pointer orelse return Status.invalid_argument.code();
    if (interval_ms == 0 or interval_ms > constants.stats_interval_ms_max) return Status.invalid_argument.code();
    @memcpy(std.mem.asBytes(&counters), source[0..counters_bytes]);
    const identity = me();
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const target = directory() orelse return Status.invalid_id.code();
    if (!directory_module.holds(target, index, identity)) return Status.invalid_handle.code();
    const interval_ns = @as(u64, interval_ms) * std.time.ns_per_ms;
    directory_module.publish(target, index, &counters, clock.monotonicNs(), interval_ns);
    return Status.ok.code();
}

/// Frees entry `index`, which the calling thread must hold.
export fn hp_stats_release(index: u32) callconv(.c) i32 {
    const identity = me();
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const target = directory() orelse return Status.invalid_id.code();
    if (!directory_module.holds(target, index, identity)) return Status.invalid_handle.code();
    directory_module.release(target, index);
    return Status.ok.code();
}

/// Copies the directory at `path` (any process's) into `out` (exactly `read_out_bytes`, any
/// alignment): a StatsReadOut, then one StatsEntryOut per claimed entry. Returns how many.
/// `incompatible` for a file that is not a directory of this layout, or one truncated meanwhile.
/// The file is read through its descriptor, never mapped: any process of the user can truncate
/// it, and a mapping read past the new end raises SIGBUS in the reader.
export fn hp_stats_read(path_pointer: ?[*]const u8, path_bytes: u32, out: ?[*]u8, out_bytes: u32) callconv(.c) i32 {
    const path = directoryPath(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    if (out_bytes != read_out_bytes) return Status.invalid_argument.code();
    const target = out orelse return Status.invalid_argument.code();
    const opened = shared_region.openNamedAs(shared.sentinel(&path), .RDONLY) catch |failure|
        return shared.regionStatus(failure);
    defer opened.close();
    if (opened.size != directory_module.file_bytes) return Status.incompatible.code();
    // One copy of the whole file (into `out`, which is larger) for the header and to find the
    // entries worth copying again under their sequence locks.
    const snapshot = target[0..@sizeOf(Directory)];
    if (!readAt(opened.fd, snapshot, 0)) return Status.incompatible.code();
    var summary: StatsReadOut = .{ .header = undefined, .verdict = 0, .count = 0, .now_ns = 0 };
    @memcpy(std.mem.asBytes(&summary.header), snapshot[0..@sizeOf(directory_module.Header)]);
    if (!directory_module.headerValid(&summary.header)) return Status.incompatible.code();
    var wanted: std.StaticBitSet(directory_module.entries_max) = .empty;
    for (0..directory_module.entries_max) |index| {
        const entry: *align(1) const directory_module.Entry = @ptrCast(snapshot[entryOffset(@intCast(index))..]);
        if (entry.claim != 0 or entry.sequence & 1 == 1) wanted.set(index);
    }
    const now = clock.monotonicNs();
    summary.verdict = @backingInt(liveness.check(summary.header.owner));
    summary.now_ns = @floatFromInt(now);
    var verdicts: VerdictCache = .{};
    var indices = wanted.iterator(.{});
    while (indices.next()) |index| {
        var copy: StatsEntryOut = undefined;
        const consistent = copyEntry(opened.fd, @intCast(index), &copy.entry) orelse return Status.incompatible.code();
        copy.consistent = @intFromBool(consistent);
        if (copy.entry.claim == 0) continue;
        copy.verdict = verdicts.check(copy.entry.owner);
        const published_ns = copy.entry.published_ns;
        copy.age_ns = if (published_ns == 0) -1 else @floatFromInt(now -| published_ns);
        const offset = @sizeOf(StatsReadOut) + summary.count * @sizeOf(StatsEntryOut);
        @memcpy(target[offset..][0..@sizeOf(StatsEntryOut)], std.mem.asBytes(&copy));
        summary.count += 1;
    }
    @memcpy(target[0..@sizeOf(StatsReadOut)], std.mem.asBytes(&summary));
    return @intCast(summary.count);
}

comptime {
    // `out` holds a snapshot of the file, used up (header, entries wanted) before entries go over it.
    assert(read_out_bytes >= @sizeOf(Directory));
    assert(@sizeOf(StatsEntryOut) >= @sizeOf(directory_module.Entry));
}

fn entryOffset(index: u32) u64 {
    assert(index < directory_module.entries_max);
    return @sizeOf(directory_module.Header) + @as(u64, index) * @sizeOf(directory_module.Entry);
}

fn readAt(fd: linux.fd_t, bytes: []u8, offset: u64) bool {
    const read = linux.pread(fd, bytes.ptr, bytes.len, @intCast(offset));
    return linux.errno(read) == .SUCCESS and read == bytes.len;
}

/// Copies entry `index` of the directory open as `fd` under its sequence lock (as
/// `stats_directory.readEntry` does in memory): false when a writer held it for every attempt,
/// null when the file no longer holds it (truncated).
fn copyEntry(fd: linux.fd_t, index: u32, out: *directory_module.Entry) ?bool {
    const offset = entryOffset(index);
    for (0..directory_module.read_attempts_max) |_| {
        var before: u64 = undefined;
        var after: u64 = undefined;
        if (!readAt(fd, std.mem.asBytes(&before), offset)) return null;
        if (!readAt(fd, std.mem.asBytes(out), offset)) return null;
        if (!readAt(fd, std.mem.asBytes(&after), offset)) return null;
        if (before == after and before & 1 == 0 and out.sequence == before) return true;
        std.atomic.spinLoopHint();
    }
    return false;
}

/// Entries of one thread share its identity: judge each identity once per read.
const VerdictCache = struct {
    last: ?liveness.Identity = null,
    verdict: u32 = 0,

    fn check(cache: *VerdictCache, identity: liveness.Identity) u32 {
        if (cache.last) |last| {
            if (std.meta.eql(last, identity)) return cache.verdict;
        }
        cache.last = identity;
        cache.verdict = @backingInt(liveness.check(identity));
        return cache.verdict;
    }
};

/// Most pids `hp_stats_list` reports in one call.
pub const list_pids_max: u32 = 4096;
const file_prefix = "hotpath-stats-";

/// Writes the pid of every counter directory in the directory `path` (file names
/// `hotpath-stats-<pid>`) into `out` as u32 words (any alignment, at most `list_pids_max`);
/// returns how many. Listing here, not in JavaScript, because Deno wants --allow-all for /dev.
export fn hp_stats_list(path_pointer: ?[*]const u8, path_bytes: u32, out: ?[*]u8, out_bytes: u32) callconv(.c) i32 {
    const path = shared.pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    if (out_bytes == 0 or out_bytes % 4 != 0 or out_bytes > list_pids_max * 4) return Status.invalid_argument.code();
    const target = out orelse return Status.invalid_argument.code();
    const flags: linux.O = .{ .ACCMODE = .RDONLY, .DIRECTORY = true, .CLOEXEC = true };
    const opened = linux.open(shared.sentinel(&path), flags, 0);
    switch (linux.errno(opened)) {
        .SUCCESS => {},
        .NOENT => return Status.not_found.code(),
        .ACCES, .PERM => return Status.permission_denied.code(),
        else => return Status.invalid_path.code(),
    }
    const fd: linux.fd_t = @intCast(opened);
    defer _ = linux.close(fd);
    var buffer: [8192]u8 align(8) = undefined;
    var count: u32 = 0;
    // Bounded: a directory of more than 2^16 reads of 8 KiB is not a directory of counters.
    for (0..1 << 16) |_| {
        const read = linux.getdents64(fd, &buffer, buffer.len);
        if (linux.errno(read) != .SUCCESS) return Status.invalid_path.code();
        if (read == 0) break;
        var offset: usize = 0;
        while (offset < read) {
            const entry: *align(1) const linux.dirent64 = @ptrCast(&buffer[offset]);
            assert(entry.reclen > 0 and offset + entry.reclen <= read);
            const name = std.mem.sliceTo(@as([*:0]const u8, @ptrCast(&buffer[offset + @offsetOf(linux.dirent64, "name")])), 0);
            offset += entry.reclen;
            const pid = pidOf(name) orelse continue;
            if (count * 4 == out_bytes) return @intCast(count);
            std.mem.writeInt(u32, target[count * 4 ..][0..4], pid, .little);
            count += 1;
        }
    }
    return @intCast(count);
}

/// An absolute path whose file name is a counter directory's (`hotpath-stats-<pid>`): no other
/// file is ever created, read or removed through these exports.
fn directoryPath(pointer: ?[*]const u8, length: u32) ?shared.Path {
    const path = shared.pathOf(pointer, length) orelse return null;
    _ = pidOf(std.fs.path.basename(shared.sentinel(&path))) orelse return null;
    return path;
}

fn pidOf(name: []const u8) ?u32 {
    if (!std.mem.startsWith(u8, name, file_prefix)) return null;
    const digits = name[file_prefix.len..];
    if (digits.len == 0 or digits.len > 7 or digits[0] == '0') return null;
    const pid = std.fmt.parseInt(u32, digits, 10) catch return null;
    return if (pid < 1 << 22) pid else null;
}

/// Removes the directory at `path` when its process is dead: `ok` when removed, `busy` when it
/// runs (or cannot be judged), `incompatible` for a file that is not a directory (never removed).
export fn hp_stats_remove_dead(path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    const path = directoryPath(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    return removeDead(shared.sentinel(&path)).code();
}

fn removeDead(path: [:0]const u8) Status {
    const opened = shared_region.openNamedAs(path, .RDONLY) catch |failure| return @fromBackingInt(@intCast(shared.regionStatus(failure)));
    defer opened.close();
    var header: directory_module.Header = undefined;
    if (opened.size != directory_module.file_bytes) return .incompatible;
    if (!opened.readHeader(std.mem.asBytes(&header)) or !directory_module.headerValid(&header)) return .incompatible;
    if (liveness.check(header.owner) != .dead) return .busy;
    // A new process of the same pid may have replaced the file since it was opened: only the
    // file judged dead is removed (the window left is between this check and the unlink).
    if (!shared_region.sameFile(opened.fd, path)) return .busy;
    shared_region.unlinkNamed(path) catch |failure| return @fromBackingInt(@intCast(shared.regionStatus(failure)));
    return .ok;
}

const testing = std.testing;

test "stats exports: attach, claim, publish, read, release, detach" {
    if (@import("builtin").os.tag != .linux) return error.SkipZigTest;
    var name: [64]u8 = undefined;
    const path = try std.fmt.bufPrint(&name, "/dev/shm/hotpath-stats-{d}", .{linux.getpid()});
    var other_name: [64]u8 = undefined;
    const other = try std.fmt.bufPrint(&other_name, "/tmp/hotpath-stats-{d}", .{linux.getpid()});
    try testing.expectEqual(@as(i32, 1), hp_stats_attach(path.ptr, @intCast(path.len), "zig test", 8));
    try testing.expectEqual(@as(i32, 2), hp_stats_attach(path.ptr, @intCast(path.len), null, 0));
    try testing.expectEqual(Status.invalid_argument.code(), hp_stats_attach(other.ptr, @intCast(other.len), null, 0));
    try testing.expectEqual(Status.invalid_path.code(), hp_stats_attach("/tmp/hotpath-stats-1", 20, null, 0));
    try testing.expectEqual(Status.invalid_path.code(), hp_stats_read("/etc/passwd", 11, null, 0));
    try testing.expectEqual(Status.invalid_path.code(), hp_stats_remove_dead("/dev/shm/x", 10));
    const index = hp_stats_claim(1, 0, "orders", 6);
    try testing.expect(index >= 0);
    var counters: [directory_module.counters_max]f64 = @splat(7);
    const bytes = std.mem.asBytes(&counters);
    try testing.expectEqual(Status.ok.code(), hp_stats_publish(@intCast(index), bytes, bytes.len, 250));
    try testing.expectEqual(Status.invalid_handle.code(), hp_stats_publish(@intCast(index + 1), bytes, bytes.len, 250));
    try testing.expectEqual(Status.invalid_argument.code(), hp_stats_publish(@intCast(index), bytes, 8, 250));
    try testing.expectEqual(Status.invalid_argument.code(), hp_stats_claim(0, 0, null, 0));
    const out = try testing.allocator.alloc(u8, read_out_bytes);
    defer testing.allocator.free(out);
    try testing.expectEqual(@as(i32, 1), hp_stats_read(path.ptr, @intCast(path.len), out.ptr, read_out_bytes));
    const read: *align(1) const StatsEntryOut = @ptrCast(out[@sizeOf(StatsReadOut)..].ptr);
    try testing.expectEqual(@as(f64, 7), read.entry.counters[3]);
    try testing.expectEqual(@as(u32, 1), read.consistent);
    try testing.expectEqual(Status.busy.code(), hp_stats_remove_dead(path.ptr, @intCast(path.len)));
    var pids: [list_pids_max]u32 = undefined;
    const listed = hp_stats_list("/dev/shm", 8, @ptrCast(&pids), @sizeOf(@TypeOf(pids)));
    try testing.expect(listed >= 0);
    try testing.expect(std.mem.indexOfScalar(u32, pids[0..@intCast(listed)], @intCast(linux.getpid())) != null);
    try testing.expectEqual(Status.not_found.code(), hp_stats_list("/dev/shm/absent-dir", 19, @ptrCast(&pids), 4));
    try testing.expectEqual(Status.invalid_argument.code(), hp_stats_list("/dev/shm", 8, @ptrCast(&pids), 6));
    try testing.expectEqual(@as(?u32, 42), pidOf("hotpath-stats-42"));
    try testing.expectEqual(@as(?u32, null), pidOf("hotpath-stats-042"));
    try testing.expectEqual(@as(?u32, null), pidOf("hotpath-stats-99999999"));
    try testing.expectEqual(@as(?u32, null), pidOf("hotpath-stats-"));
    try testing.expectEqual(Status.ok.code(), hp_stats_release(@intCast(index)));
    try testing.expectEqual(Status.invalid_handle.code(), hp_stats_release(@intCast(index)));
    try testing.expectEqual(@as(i32, 1), hp_stats_detach());
    try testing.expectEqual(@as(i32, 0), hp_stats_detach());
    try testing.expectEqual(Status.invalid_id.code(), hp_stats_detach());
    try testing.expectEqual(Status.not_found.code(), hp_stats_read(path.ptr, @intCast(path.len), out.ptr, read_out_bytes));
}

test "stats exports: a thread that ended attached does not keep the file alive" {
    if (@import("builtin").os.tag != .linux) return error.SkipZigTest;
    var name: [64]u8 = undefined;
    const path = try std.fmt.bufPrint(&name, "/tmp/hotpath-stats-{d}", .{linux.getpid()});
    try testing.expectEqual(@as(i32, 1), hp_stats_attach(path.ptr, @intCast(path.len), null, 0));
    const thread = try std.Thread.spawn(.{}, struct {
        fn run(file: []const u8) void {
            assert(hp_stats_attach(file.ptr, @intCast(file.len), null, 0) == 2);
            assert(hp_stats_claim(1, -1, "left", 4) >= 0); // never released either
        }
    }.run, .{path});
    thread.join();
    const out = try testing.allocator.alloc(u8, read_out_bytes);
    defer testing.allocator.free(out);
    try testing.expectEqual(@as(i32, 1), hp_stats_read(path.ptr, @intCast(path.len), out.ptr, read_out_bytes));
    const read: *align(1) const StatsEntryOut = @ptrCast(out[@sizeOf(StatsReadOut)..].ptr);
    try testing.expectEqual(@as(u32, @backingInt(liveness.Verdict.dead)), read.verdict);
    try testing.expectEqual(@as(i32, 0), hp_stats_detach());
    try testing.expectEqual(Status.not_found.code(), hp_stats_read(path.ptr, @intCast(path.len), out.ptr, read_out_bytes));
}
