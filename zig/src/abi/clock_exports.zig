//! FFI exports of the TSC clock (system/tsc_clock.zig). The monotonic clock's export,
//! hp_clock_ns, stays in exports.zig.
const std = @import("std");
const assert = std.debug.assert;
const Status = @import("../status.zig").Status;
const tsc_clock = @import("../system/tsc_clock.zig");

/// Nanoseconds since the library's first clock read, on the time stamp counter where it is
/// trusted, else CLOCK_MONOTONIC (as hp_clock_ns). The first call of the process calibrates
/// (about 20 ms); call hp_clock_info first to pay that outside a timed section.
export fn hp_clock_tsc_ns() callconv(.c) f64 {
    return tsc_clock.nowNs();
}

/// Which clock hp_clock_tsc_ns reads and why, into `out`: a tsc_clock.Info, 8-byte aligned,
/// exactly its size. Calibrates first if no read has. `busy` if another thread's calibration
/// has not ended within two seconds.
export fn hp_clock_info(out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    if (out_bytes != @sizeOf(tsc_clock.Info)) return Status.invalid_argument.code();
    const raw = @intFromPtr(out orelse return Status.invalid_argument.code());
    if (raw % @alignOf(tsc_clock.Info) != 0) return Status.invalid_argument.code();
    const info: *tsc_clock.Info = @ptrFromInt(raw);
    if (!tsc_clock.info(info)) return Status.busy.code();
    return Status.ok.code();
}

test "clock exports: wrong sizes, null and unaligned buffers are refused" {
    var words: [9]f64 = undefined;
    const bytes = std.mem.sliceAsBytes(&words);
    const size: u32 = @sizeOf(tsc_clock.Info);
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_clock_info(bytes.ptr, size - 8));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_clock_info(bytes.ptr, size + 8));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_clock_info(null, size));
    try std.testing.expectEqual(Status.invalid_argument.code(), hp_clock_info(bytes[4..].ptr, size));
    try std.testing.expectEqual(Status.ok.code(), hp_clock_info(bytes.ptr, size));
    const source = words[0];
    try std.testing.expect(source == 0 or source == 1);
    assert(words[1] >= 0);
}

test "clock exports: the TSC clock never goes backwards and keeps pace with the monotonic clock" {
    const clock = @import("../system/clock.zig");
    const start_tsc = hp_clock_tsc_ns();
    const start = clock.nowNs();
    var previous = start_tsc;
    for (0..100_000) |_| {
        const now = hp_clock_tsc_ns();
        try std.testing.expect(now >= previous);
        previous = now;
    }
    const pause = std.c.timespec{ .sec = 0, .nsec = 50 * std.time.ns_per_ms };
    _ = std.c.nanosleep(&pause, null);
    const elapsed_tsc = hp_clock_tsc_ns() - start_tsc;
    const elapsed = clock.nowNs() - start;
    try std.testing.expect(@abs(elapsed_tsc - elapsed) <= elapsed * 0.02 + 1000);
}
