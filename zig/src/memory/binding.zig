//! Applies a creation config's `Placement` to a fresh mapping, after map and before the first
//! touch: `mbind` (so the pre-fault puts pages where asked), `MADV_HUGEPAGE`, and
//! `mlock2(MLOCK_ONFAULT)` (pages are locked as they are committed, growth included).
//! What the kernel actually gave is read back afterwards (system/smaps.zig and
//! system/placement.zig), never assumed: transparent huge pages may be off, a preferred node
//! may be full.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const Placement = @import("../abi/config.zig").Placement;

const supported = builtin.os.tag == .linux;
/// The huge page size MAP_HUGETLB and transparent huge pages use on x86-64 (and arm64 with 4 KiB pages).
pub const huge_page_bytes: usize = 2 << 20;
const madvise_hugepage: u32 = 14;
/// mbind's `maxnode` counts one past the bits the kernel reads: 64 nodes.
const mask_bits_passed: usize = 65;

pub const Error = error{
    /// mbind refused the nodes: none of them exists or may be used by this process.
    InvalidPlacement,
    /// mlock refused: RLIMIT_MEMLOCK (or the lack of CAP_IPC_LOCK).
    LockRefused,
    OutOfMemory,
    Unsupported,
};

/// Binds, advises and locks `memory` (a whole mapping) as `placement` asks.
pub fn apply(memory: []align(std.heap.page_size_min) u8, placement: Placement) Error!void {
    assert(placement.valid());
    assert(memory.len > 0);
    if (std.meta.eql(placement, Placement.none)) return;
    if (!supported) return error.Unsupported;
    if (placement.policy != Placement.default_policy) try bind(memory, placement);
    if (placement.huge_pages == Placement.huge_transparent) {
        // Refused when the kernel has no transparent huge pages: the report shows base pages.
        _ = linux.madvise(memory.ptr, memory.len, madvise_hugepage);
    }
    if (placement.lock == 1) {
        switch (linux.errno(linux.mlock2(memory.ptr, memory.len, .{ .ONFAULT = true }))) {
            .SUCCESS => {},
            .NOMEM, .PERM, .AGAIN => return error.LockRefused,
            .NOSYS => return error.Unsupported,
            else => return error.OutOfMemory,
        }
    }
}

fn bind(memory: []u8, placement: Placement) Error!void {
    const mask = [1]u64{placement.nodes()};
    const result = linux.syscall6(
        .mbind,
        @intFromPtr(memory.ptr),
        memory.len,
        placement.policy,
        @intFromPtr(&mask),
        mask_bits_passed,
        0,
    );
    return switch (linux.errno(result)) {
        .SUCCESS => {},
        .INVAL, .NODEV, .XDEV => error.InvalidPlacement,
        // No NUMA in the kernel, or a seccomp filter (containers) refusing the call.
        .NOSYS, .PERM => error.Unsupported,
        else => error.OutOfMemory,
    };
}

/// Undoes the lock before pages are given back (madvise DONTNEED refuses locked pages).
pub fn unlock(memory: []align(std.heap.page_size_min) u8) void {
    if (supported) _ = linux.munlock(memory.ptr, memory.len);
}

/// The soft RLIMIT_MEMLOCK in bytes, or -1 when unlimited or unknown: named by the error a
/// refused lock gives.
pub fn lockLimitBytes() f64 {
    if (!supported) return -1;
    const limit = std.posix.getrlimit(.MEMLOCK) catch return -1;
    if (limit.cur == std.posix.RLIM.INFINITY) return -1;
    return @floatFromInt(limit.cur);
}

const testing = std.testing;

test "binding: the default placement changes nothing; node 0 binds; a node past the machine is refused" {
    if (!supported) return error.SkipZigTest;
    const memory = try std.posix.mmap(null, 4 * 4096, .{ .READ = true, .WRITE = true }, .{ .TYPE = .PRIVATE, .ANONYMOUS = true }, -1, 0);
    defer std.posix.munmap(memory);
    try apply(memory, Placement.none);
    var placement = Placement.none;
    placement.policy = Placement.bind;
    placement.nodes_low = 1;
    try apply(memory, placement);
    placement.nodes_low = 0;
    placement.nodes_high = 1 << 31;
    try testing.expectError(error.InvalidPlacement, apply(memory, placement));
}
