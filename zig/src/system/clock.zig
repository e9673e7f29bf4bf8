//! A cheap monotonic clock for latency harnesses: clock_gettime through the vDSO (no system
//! call), in nanoseconds since the library was first asked, returned as an exact f64.
const std = @import("std");
const assert = std.debug.assert;

var epoch_ns: std.atomic.Value(u64) = .init(0);

/// CLOCK_MONOTONIC in nanoseconds since boot (not this clock's epoch): comparable between processes.
pub fn monotonicNs() u64 {
    var now: std.c.timespec = undefined;
    const result = std.c.clock_gettime(.MONOTONIC, &now);
    assert(result == 0);
    return @as(u64, @intCast(now.sec)) * std.time.ns_per_s + @as(u64, @intCast(now.nsec));
}

/// The epoch, in `monotonicNs` units, fixed by the first read of any clock of the library (this
/// one or the TSC clock, which shares it); `now` is a reading taken just before.
pub fn epochNs(now: u64) u64 {
    const epoch = epoch_ns.load(.monotonic);
    if (epoch != 0) return epoch;
    // The first caller, of any thread, fixes the epoch; the others read theirs.
    return epoch_ns.cmpxchgStrong(0, now, .monotonic, .monotonic) orelse now;
}

/// Nanoseconds since the first call. Exact in an f64 for 104 days of process life.
pub fn nowNs() f64 {
    const now = monotonicNs();
    const epoch = epochNs(now);
    assert(now >= epoch);
    return @floatFromInt(now - epoch);
}

test "clock: never goes backwards" {
    var previous = nowNs();
    for (0..10_000) |_| {
        const now = nowNs();
        try std.testing.expect(now >= previous);
        previous = now;
    }
}
