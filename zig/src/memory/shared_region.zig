//! The backings of a shared region: shared anonymous memory (every Worker of this process
//! maps the same pages) and a named file (`/dev/shm/<name>` or any path: every process of the
//! same user can open it, from Deno or Bun). Both are mapped in full (`MAP_SHARED`) and commit
//! pages as they are populated, so a growing pool reserves its maximum once and never moves.
//!
//! A named file is created with O_EXCL and mode 0600, its committed bytes allocated with
//! `fallocate` before any page is touched: on a full tmpfs a touch would raise SIGBUS, while
//! fallocate answers ENOSPC. An opened file is untrusted: owner, mode and size are checked here,
//! its header by the caller before any use.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const constants = @import("../constants.zig");
const region_module = @import("region.zig");
const Region = region_module.Region;
const Placement = @import("../abi/config.zig").Placement;

const supported = builtin.os.tag == .linux;

pub const Error = error{
    OutOfMemory,
    NoSpace,
    AlreadyExists,
    NotFound,
    PermissionDenied,
    InvalidPath,
    Unsupported,
    InvalidPlacement,
    LockRefused,
};

/// Longest path accepted, including the `/dev/shm/` prefix a bare name gets.
pub const path_bytes_max = 256;

/// Maps `region_bytes` of shared anonymous memory, places it and pre-faults the first
/// `committed` bytes.
pub fn mapAnonymous(region_bytes: u64, committed: u64, placement: Placement) Error!Region {
    assertSizes(region_bytes, committed);
    var region = try region_module.mapPages(.SHARED, @intCast(region_bytes), true, placement.huge_pages);
    errdefer region.unmap();
    try region.place(placement);
    region.populate(0, committed) catch return error.OutOfMemory;
    return region;
}

/// A mapped named file and its descriptor, kept open for growth (`allocateFd`).
pub const Named = struct { region: Region, fd: linux.fd_t };

/// Creates file `path` (O_EXCL, 0600) of `region_bytes`, allocates its first `committed`
/// bytes, maps it shared, places it and pre-faults them. Nothing is left behind on failure.
/// A file cannot have explicit huge pages (that needs hugetlbfs): it gets base pages, and the
/// page report says so.
pub fn createNamed(path: [:0]const u8, region_bytes: u64, committed: u64, placement: Placement) Error!Named {
    assertSizes(region_bytes, committed);
    if (!supported) return error.Unsupported;
    const flags: linux.O = .{ .ACCMODE = .RDWR, .CREAT = true, .EXCL = true, .CLOEXEC = true, .NOFOLLOW = true };
    const opened = linux.open(path, flags, 0o600);
    switch (linux.errno(opened)) {
        .SUCCESS => {},
        .EXIST => return error.AlreadyExists,
        .ACCES, .PERM, .ROFS => return error.PermissionDenied,
        .NOENT, .NOTDIR, .NAMETOOLONG, .LOOP, .ISDIR => return error.InvalidPath,
        .NOSPC, .DQUOT => return error.NoSpace,
        else => return error.OutOfMemory,
    }
    const fd: linux.fd_t = @intCast(opened);
    errdefer _ = linux.close(fd);
    errdefer _ = linux.unlink(path);
    if (linux.errno(linux.ftruncate(fd, @intCast(region_bytes))) != .SUCCESS) return error.NoSpace;
    try allocateFd(fd, 0, committed);
    var region = try mapFile(fd, region_bytes);
    errdefer region.unmap();
    try region.place(placement);
    region.populate(0, committed) catch return error.NoSpace;
    return .{ .region = region, .fd = fd };
}

/// Allocates file bytes `from .. to` before their pages are touched (creation, growth).
pub fn allocateFd(fd: linux.fd_t, from: u64, to: u64) Error!void {
    assert(from < to);
    if (!supported) return error.Unsupported;
    return switch (linux.errno(linux.fallocate(fd, 0, @intCast(from), @intCast(to - from)))) {
        .SUCCESS => {},
        // A file system without fallocate: populate reports what it cannot commit.
        .OPNOTSUPP, .NOSYS => {},
        .NOSPC, .DQUOT, .FBIG => error.NoSpace,
        else => error.OutOfMemory,
    };
}

/// Closes a named region's descriptor (after unmapping it).
pub fn closeFd(fd: linux.fd_t) void {
    assert(fd >= 0);
    _ = linux.close(fd);
}

/// What an opened named file is, before its header has been checked.
pub const Opened = struct {
    fd: linux.fd_t,
    size: u64,

    pub fn close(opened: Opened) void {
        closeFd(opened.fd);
    }

    /// Reads the file's first `out.len` bytes (its header); false when the file is shorter.
    pub fn readHeader(opened: Opened, out: []u8) bool {
        if (opened.size < out.len) return false;
        const read = linux.pread(opened.fd, out.ptr, out.len, 0);
        return linux.errno(read) == .SUCCESS and read == out.len;
    }

    /// Maps the whole file, whose size the caller checked against its header.
    pub fn map(opened: Opened) Error!Region {
        return mapFile(opened.fd, opened.size);
    }
};

/// Opens an existing named file read-write: it must be a regular file of this user with no
/// permission for anybody else, and no larger than a region may be.
pub fn openNamed(path: [:0]const u8) Error!Opened {
    return openNamedAs(path, .RDWR);
}

/// `openNamed` for reading only (`.RDONLY`) or for reading and writing (`.RDWR`).
pub fn openNamedAs(path: [:0]const u8, access: std.posix.ACCMODE) Error!Opened {
    if (!supported) return error.Unsupported;
    // NONBLOCK and NOCTTY: a FIFO or a terminal at that path must not block or become ours
    // before the type check below refuses it.
    const flags: linux.O = .{ .ACCMODE = access, .CLOEXEC = true, .NOFOLLOW = true, .NONBLOCK = true, .NOCTTY = true };
    const opened = linux.open(path, flags, 0);
    switch (linux.errno(opened)) {
        .SUCCESS => {},
        .NOENT => return error.NotFound,
        .ACCES, .PERM, .ROFS, .LOOP => return error.PermissionDenied,
        .NOTDIR, .NAMETOOLONG, .ISDIR => return error.InvalidPath,
        else => return error.OutOfMemory,
    }
    const fd: linux.fd_t = @intCast(opened);
    errdefer _ = linux.close(fd);
    var status: linux.Statx = undefined;
    const mask: linux.STATX = .{ .TYPE = true, .MODE = true, .UID = true, .SIZE = true };
    if (linux.errno(linux.statx(fd, "", linux.AT.EMPTY_PATH, mask, &status)) != .SUCCESS) return error.OutOfMemory;
    if (status.mode & linux.S.IFMT != linux.S.IFREG) return error.InvalidPath;
    if (status.uid != linux.geteuid() or status.mode & 0o077 != 0) return error.PermissionDenied;
    return .{ .fd = fd, .size = status.size };
}

/// True when `path` names the very file open as `fd` (same device and inode): a path that
/// arrives from elsewhere (a descriptor) is believed only if it does.
pub fn sameFile(fd: linux.fd_t, path: [:0]const u8) bool {
    if (!supported or fd < 0) return false;
    const mask: linux.STATX = .{ .INO = true };
    var open_file: linux.Statx = undefined;
    var named: linux.Statx = undefined;
    if (linux.errno(linux.statx(fd, "", linux.AT.EMPTY_PATH, mask, &open_file)) != .SUCCESS) return false;
    if (linux.errno(linux.statx(linux.AT.FDCWD, path, linux.AT.SYMLINK_NOFOLLOW, mask, &named)) != .SUCCESS) return false;
    return open_file.ino == named.ino and open_file.dev_major == named.dev_major and open_file.dev_minor == named.dev_minor;
}

/// Removes a name; regions mapped from it stay mapped until closed.
pub fn unlinkNamed(path: [:0]const u8) Error!void {
    if (!supported) return error.Unsupported;
    return switch (linux.errno(linux.unlink(path))) {
        .SUCCESS => {},
        .NOENT => error.NotFound,
        .ACCES, .PERM, .ROFS => error.PermissionDenied,
        else => error.InvalidPath,
    };
}

/// The bytes an unprivileged user may still allocate on the file system holding `path`'s
/// directory, or null when unknown.
pub fn freeBytes(directory: [:0]const u8) ?u64 {
    if (!supported) return null;
    var info: StatFs = undefined;
    const result = linux.syscall2(.statfs, @intFromPtr(directory.ptr), @intFromPtr(&info));
    if (linux.errno(result) != .SUCCESS) return null;
    return std.math.mul(u64, info.available_blocks, info.block_size) catch std.math.maxInt(u64);
}

/// `struct statfs` of 64-bit Linux: every field a long except the fsid pair.
const StatFs = extern struct {
    type: i64,
    block_size: u64,
    blocks: u64,
    free_blocks: u64,
    available_blocks: u64,
    files: u64,
    free_files: u64,
    fsid: [2]i32,
    name_max: i64,
    fragment_size: i64,
    flags: i64,
    spare: [4]i64,
};

fn mapFile(fd: linux.fd_t, region_bytes: u64) Error!Region {
    const memory = std.posix.mmap(null, @intCast(region_bytes), .{ .READ = true, .WRITE = true }, .{ .TYPE = .SHARED }, fd, 0) catch
        return error.OutOfMemory;
    return .{ .memory = memory };
}

fn assertSizes(region_bytes: u64, committed: u64) void {
    assert(region_bytes > 0 and region_bytes <= constants.region_bytes_max);
    assert(region_bytes % constants.page_bytes == 0);
    assert(committed > 0 and committed <= region_bytes);
    assert(committed % constants.page_bytes == 0);
}

/// Replaces a shared mapping by private zero pages at the same addresses: views that outlive
/// the region read zeros, and the shared pages are no longer held by this process. (madvise
/// DONTNEED does not zero a shared mapping: its pages belong to the file.)
/// False if the kernel refused (the shared pages then stay mapped, still valid memory).
pub fn zeroOver(region: Region) bool {
    const fixed: std.posix.MAP = .{ .TYPE = .PRIVATE, .ANONYMOUS = true, .FIXED = true, .NORESERVE = true };
    const all = region.mapping();
    _ = std.posix.mmap(all.ptr, all.len, .{ .READ = true, .WRITE = true }, fixed, -1, 0) catch
        return false;
    return true;
}

const testing = std.testing;

test "shared_region: a named file is exclusive, private to its user, shared between mappings" {
    if (!supported) return error.SkipZigTest;
    var name: [64]u8 = undefined;
    const path = try std.mem.printSentinel(&name, "/dev/shm/hotpath-zig-test-{d}", .{linux.getpid()}, 0);
    const bytes = 4 * constants.page_bytes;
    const named = try createNamed(path, bytes, constants.page_bytes, Placement.none);
    const region = named.region;
    defer unlinkNamed(path) catch {};
    defer closeFd(named.fd);
    defer region.unmap();
    try testing.expectError(error.AlreadyExists, createNamed(path, bytes, constants.page_bytes, Placement.none));
    const opened = try openNamed(path);
    defer opened.close();
    try testing.expectEqual(@as(u64, bytes), opened.size);
    const second = try opened.map();
    defer second.unmap();
    region.memory[100] = 42;
    try testing.expectEqual(@as(u8, 42), second.memory[100]);
    try testing.expect(zeroOver(second));
    try testing.expectEqual(@as(u8, 0), second.memory[100]);
    try testing.expectEqual(@as(u8, 42), region.memory[100]);
    try testing.expect((freeBytes("/dev/shm") orelse 0) > 0);
    try testing.expectError(error.NotFound, openNamed("/dev/shm/hotpath-zig-test-absent"));
}
