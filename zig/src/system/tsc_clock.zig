//! A clock on the time stamp counter, calibrated once against CLOCK_MONOTONIC, with the same
//! epoch as clock.zig (nanoseconds since the library's first clock read, exact as an f64 for
//! 104 days). Where the counter is not trusted (tsc.zig) it reads clock.zig instead.
//!
//! Calibration: the first read (or `info`) pairs the counter with CLOCK_MONOTONIC, sleeps
//! `window_ns`, pairs them again, and keeps ns = anchor + (ticks - anchor_ticks) * multiplier
//! >> 32. Each pairing is the tightest of `bracket_tries` brackets of two counter reads around
//! one clock_gettime; their widths bound the error. The rate is never corrected afterwards, so
//! this clock and CLOCK_MONOTONIC (which NTP slews) drift apart by up to the calibration error
//! plus any slew: parts per million of the time since calibration.
//!
//! Never backwards on one thread: on top of synchronised counters (the kernel's verdict), each
//! thread keeps its last reading and never returns less. Across threads, readings are as
//! ordered as the counters themselves, which the kernel checked to within its warp test.
const std = @import("std");
const assert = std.debug.assert;
const clock = @import("clock.zig");
const tsc = @import("tsc.zig");
const ClockFallback = tsc.ClockFallback;

pub const shift = 32;
/// How long the calibration sleeps between its two pairings.
pub const window_ns: u64 = 20 * std.time.ns_per_ms;
pub const bracket_tries: u32 = 8;
/// Sleeps the calibration retries after a signal cut one short.
const sleeps_max: u32 = 16;
/// Plausible counter rates: 100 MHz to 20 GHz.
pub const ticks_per_us_min: f64 = 100;
pub const ticks_per_us_max: f64 = 20_000;
/// The largest calibration error accepted, in parts per million of an interval.
pub const error_ppm_max: f64 = 200;
/// How long `info` waits for another thread's calibration: 1 ms at a time.
const wait_ms_max: u32 = 2000;

pub const ClockSource = enum(u8) { monotonic = 0, tsc = 1 };

/// What `info` writes, as f64s (what JavaScript reads).
pub const Info = extern struct {
    /// A ClockSource.
    source: f64,
    /// A ClockFallback (0 when `source` is tsc).
    fallback: f64,
    /// 1 when CPUID reports an invariant TSC.
    invariant_tsc: f64,
    /// 1 when CPUID reports RDTSCP.
    rdtscp: f64,
    /// A KernelClocksource: 1 tsc, 0 another, -1 unknown.
    kernel_clocksource: f64,
    /// Counter ticks per microsecond (its rate in MHz); 0 when not calibrated.
    ticks_per_us: f64,
    /// Bound on the calibrated rate's relative error; 0 when not calibrated.
    calibration_error_ppm: f64,
    /// Nanoseconds between the calibration's two pairings; 0 when not calibrated.
    calibration_window_ns: f64,
};

comptime {
    assert(@sizeOf(Info) == 64);
}

/// The counter and CLOCK_MONOTONIC read together.
pub const Pairing = struct { ticks: u64, ns: u64, width_ticks: u64 };

pub const Calibration = struct {
    multiplier: u64,
    anchor_ticks: u64,
    /// CLOCK_MONOTONIC at `anchor_ticks`.
    anchor_ns: u64,
    ticks_per_us: f64,
    error_ppm: f64,
    window_ns: u64,

    pub fn plausible(calibration: *const Calibration) bool {
        return calibration.ticks_per_us >= ticks_per_us_min and calibration.ticks_per_us <= ticks_per_us_max and
            calibration.error_ppm <= error_ppm_max;
    }
};

/// The rate between two pairings, anchored at the later; null unless both advanced.
pub fn fromPairings(start: Pairing, end: Pairing) ?Calibration {
    if (end.ns <= start.ns or end.ticks <= start.ticks) return null;
    const ticks = end.ticks - start.ticks;
    const ns = end.ns - start.ns;
    const ticks_f: f64 = @floatFromInt(ticks);
    // Each pairing's ticks are uncertain by half its bracket.
    const uncertain_ticks: f64 = @as(f64, @floatFromInt(start.width_ticks)) / 2 + @as(f64, @floatFromInt(end.width_ticks)) / 2;
    const multiplier = ((@as(u128, ns) << shift) + ticks / 2) / ticks;
    if (multiplier > std.math.maxInt(u64)) return null;
    return .{
        .multiplier = @intCast(multiplier),
        .anchor_ticks = end.ticks,
        .anchor_ns = end.ns,
        .ticks_per_us = ticks_f * std.time.ns_per_us / @as(f64, @floatFromInt(ns)),
        .error_ppm = uncertain_ticks / ticks_f * 1e6,
        .window_ns = ns,
    };
}

/// Nanoseconds since `anchor_ticks` at `ticks`, rounded; 0 before it, saturated far past it.
pub fn scale(calibration: *const Calibration, ticks: u64) u64 {
    const delta = ticks -| calibration.anchor_ticks;
    const ns = (@as(u128, delta) * calibration.multiplier + (1 << (shift - 1))) >> shift;
    return @intCast(@min(ns, std.math.maxInt(u64)));
}

const State = enum(u8) { unknown, calibrating, tsc, monotonic };

/// Published with .release once `current`, `fallback`, `evidence` and `offset_ns` are
/// written; readers load it with .acquire before reading them.
var state: std.atomic.Value(State) = .init(.unknown);
var current: Calibration = undefined;
var calibrated = false;
var fallback: ClockFallback = .none;
var evidence: tsc.Evidence = undefined;
/// `current.anchor_ns` on this clock's epoch.
var offset_ns: u64 = 0;
/// This thread's last reading: none is ever less.
threadlocal var last_ns: u64 = 0;

/// Nanoseconds since the epoch. The first call of the process calibrates (about 20 ms).
pub fn nowNs() f64 {
    if (state.load(.acquire) != .tsc) return slowNowNs();
    return clamped(offset_ns +| scale(&current, tsc.readTicks()));
}

fn clamped(ns: u64) f64 {
    if (ns < last_ns) return @floatFromInt(last_ns);
    last_ns = ns;
    return @floatFromInt(ns);
}

/// Before calibration, during another thread's, and on the fallback: CLOCK_MONOTONIC.
noinline fn slowNowNs() f64 {
    if (state.load(.acquire) == .unknown) calibrateOnce();
    if (state.load(.acquire) == .tsc) return nowNs();
    const now = clock.monotonicNs();
    const epoch = clock.epochNs(now);
    assert(now >= epoch);
    return clamped(now - epoch);
}

/// Decides and calibrates, if no thread has begun to; returns at once otherwise.
fn calibrateOnce() void {
    if (state.cmpxchgStrong(.unknown, .calibrating, .acquire, .monotonic) != null) return;
    evidence = tsc.gather();
    fallback = tsc.decide(evidence);
    if (fallback == .none) {
        if (calibrate()) |result| {
            current = result;
            calibrated = true;
            if (!result.plausible()) fallback = .calibration_failed;
        } else fallback = .calibration_failed;
    }
    if (fallback == .none) {
        const epoch = clock.epochNs(current.anchor_ns);
        assert(current.anchor_ns >= epoch);
        offset_ns = current.anchor_ns - epoch;
    }
    state.store(if (fallback == .none) .tsc else .monotonic, .release);
}

fn calibrate() ?Calibration {
    if (comptime !tsc.supported) unreachable;
    const start = pair();
    var sleeps: u32 = 0;
    while (sleeps < sleeps_max) : (sleeps += 1) {
        const elapsed = clock.monotonicNs() - start.ns;
        if (elapsed >= window_ns) break;
        const left = window_ns - elapsed;
        const pause = std.c.timespec{ .sec = 0, .nsec = @intCast(left) };
        _ = std.c.nanosleep(&pause, null);
    }
    return fromPairings(start, pair());
}

/// The tightest of `bracket_tries` brackets: counter, CLOCK_MONOTONIC, counter.
fn pair() Pairing {
    if (comptime !tsc.supported) unreachable;
    var best = Pairing{ .ticks = 0, .ns = 0, .width_ticks = std.math.maxInt(u64) };
    for (0..bracket_tries) |_| {
        const before = tsc.readTicks();
        const ns = clock.monotonicNs();
        const after = tsc.readTicks();
        if (after < before) continue;
        if (after - before < best.width_ticks) best = .{ .ticks = before + (after - before) / 2, .ns = ns, .width_ticks = after - before };
    }
    return best;
}

/// Fills `out` after calibrating if needed; false if another thread's calibration did not end
/// within `wait_ms_max`.
pub fn info(out: *Info) bool {
    calibrateOnce();
    var waited: u32 = 0;
    while (state.load(.acquire) == .calibrating) : (waited += 1) {
        if (waited == wait_ms_max) return false;
        const pause = std.c.timespec{ .sec = 0, .nsec = std.time.ns_per_ms };
        _ = std.c.nanosleep(&pause, null);
    }
    const source: ClockSource = if (state.load(.acquire) == .tsc) .tsc else .monotonic;
    assert((source == .tsc) == (fallback == .none));
    out.* = .{
        .source = @floatFromInt(@backingInt(source)),
        .fallback = @floatFromInt(@backingInt(fallback)),
        .invariant_tsc = @floatFromInt(@intFromBool(evidence.invariant_tsc)),
        .rdtscp = @floatFromInt(@intFromBool(evidence.rdtscp)),
        .kernel_clocksource = @floatFromInt(@backingInt(evidence.clocksource)),
        .ticks_per_us = if (calibrated) current.ticks_per_us else 0,
        .calibration_error_ppm = if (calibrated) current.error_ppm else 0,
        .calibration_window_ns = if (calibrated) @floatFromInt(current.window_ns) else 0,
    };
    return true;
}

test "tsc clock: a 2.7 GHz counter calibrates to its rate, and scaling is exact at the anchor" {
    const start = Pairing{ .ticks = 1_000_000, .ns = 5_000_000, .width_ticks = 100 };
    const end = Pairing{ .ticks = 1_000_000 + 54_000_000, .ns = 5_000_000 + 20_000_000, .width_ticks = 60 };
    const result = fromPairings(start, end).?;
    try std.testing.expect(result.plausible());
    try std.testing.expectApproxEqRel(@as(f64, 2700), result.ticks_per_us, 1e-12);
    try std.testing.expectApproxEqRel(@as(f64, 80.0 / 54_000_000.0 * 1e6), result.error_ppm, 1e-9);
    try std.testing.expectEqual(@as(u64, 20_000_000), result.window_ns);
    try std.testing.expectEqual(@as(u64, 0), scale(&result, end.ticks));
    try std.testing.expectEqual(@as(u64, 0), scale(&result, start.ticks));
    try std.testing.expectEqual(@as(u64, 1_000_000_000), scale(&result, end.ticks + 2_700_000_000));
    // An hour later, off by no more than the fixed-point rounding of the rate (half a unit of
    // the multiplier: 0.3 ppb here, a thousandth of a good calibration's error).
    const hour_ns = scale(&result, end.ticks + 2_700_000_000 * 3600);
    const rounding_ns = 3600 * std.time.ns_per_s / (2 * result.multiplier) + 1;
    try std.testing.expect(@abs(@as(i64, @intCast(hour_ns)) - 3600 * std.time.ns_per_s) <= rounding_ns);
    try std.testing.expect(scale(&result, std.math.maxInt(u64)) > hour_ns);
}

test "tsc clock: implausible calibrations are refused" {
    const start = Pairing{ .ticks = 1000, .ns = 1000, .width_ticks = 10 };
    // Time or the counter standing still.
    try std.testing.expectEqual(null, fromPairings(start, .{ .ticks = 1000, .ns = 2000, .width_ticks = 10 }));
    try std.testing.expectEqual(null, fromPairings(start, .{ .ticks = 2000, .ns = 1000, .width_ticks = 10 }));
    // 1 MHz: too slow for a TSC.
    const slow = fromPairings(start, .{ .ticks = 1000 + 20_000, .ns = 1000 + 20_000_000, .width_ticks = 10 }).?;
    try std.testing.expect(!slow.plausible());
    // Brackets 30 us wide in a 20 ms window: 1500 ppm.
    const loose = fromPairings(
        .{ .ticks = 0, .ns = 0, .width_ticks = 81_000 },
        .{ .ticks = 54_000_000, .ns = 20_000_000, .width_ticks = 81_000 },
    ).?;
    try std.testing.expect(!loose.plausible());
}

test "tsc clock: this machine's info is consistent with its evidence" {
    var out: Info = undefined;
    try std.testing.expect(info(&out));
    const source: ClockSource = @fromBackingInt(@intCast(@as(u8, @intFromFloat(out.source))));
    const reason: ClockFallback = @fromBackingInt(@intCast(@as(u8, @intFromFloat(out.fallback))));
    try std.testing.expectEqual(source == .tsc, reason == .none);
    if (source == .tsc) {
        try std.testing.expectEqual(@as(f64, 1), out.invariant_tsc);
        try std.testing.expect(out.ticks_per_us >= ticks_per_us_min);
        try std.testing.expect(out.calibration_error_ppm <= error_ppm_max);
        try std.testing.expect(out.calibration_window_ns >= window_ns);
    }
    if (!tsc.supported) try std.testing.expectEqual(ClockFallback.unsupported_platform, reason);
}
