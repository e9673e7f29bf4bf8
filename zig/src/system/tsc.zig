//! Whether this machine's time stamp counter may serve as a clock, and how to read it.
//!
//! Trusted only on x86_64 Linux, and only when all of these hold:
//! - CPUID 0x80000007 EDX bit 8 (invariant TSC): the counter ticks at one constant rate in
//!   every P-, C- and T-state. Linux's `constant_tsc` and `nonstop_tsc` flags come from the
//!   same bit, so reading /proc/cpuinfo would add nothing.
//! - CPUID 0x80000001 EDX bit 27 (RDTSCP), the instruction every read uses (see `readTicks`).
//! - The kernel's clocksource is "tsc" when /sys says which it is. The kernel checks the
//!   counters of all CPUs against each other at boot and keeps a watchdog on them afterwards;
//!   it switches away from "tsc" when they disagree or drift (and a hypervisor may hide a TSC
//!   that is unsafe to use across migrations behind kvm-clock). Its verdict covers what CPUID
//!   cannot: synchronisation across sockets and CPUs. Unreadable (no /sys in a container) is
//!   not a verdict: CPUID alone decides then.
//! - HOTPATH_CLOCK is not "monotonic" (a switch to force the fallback, for tests and doubt).
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const sysfs = @import("sysfs.zig");

/// Only Linux on x86_64: elsewhere the monotonic clock is the only clock.
pub const supported = builtin.cpu.arch == .x86_64 and builtin.os.tag == .linux;

/// Why the TSC clock reads the monotonic clock instead (`none` when it reads the TSC).
pub const ClockFallback = enum(u8) {
    none = 0,
    /// Not x86_64 Linux.
    unsupported_platform = 1,
    /// CPUID does not report an invariant TSC: its rate may change with power states.
    no_invariant_tsc = 2,
    /// CPUID does not report RDTSCP.
    no_rdtscp = 3,
    /// The kernel's clocksource is not "tsc": it found the counters unsynchronised or unstable.
    kernel_distrusts_tsc = 4,
    /// The calibration against CLOCK_MONOTONIC gave no plausible rate or too large an error.
    calibration_failed = 5,
    /// HOTPATH_CLOCK=monotonic.
    forced = 6,
};

/// The kernel's clocksource, as far as /sys tells.
pub const KernelClocksource = enum(i8) { unknown = -1, other = 0, tsc = 1 };

/// What the decision rests on.
pub const Evidence = struct {
    supported: bool,
    forced: bool,
    invariant_tsc: bool,
    rdtscp: bool,
    clocksource: KernelClocksource,
};

/// The first reason, in the order of the module comment, not to use the TSC; `none` to use it.
pub fn decide(evidence: Evidence) ClockFallback {
    if (!evidence.supported) return .unsupported_platform;
    if (evidence.forced) return .forced;
    if (!evidence.invariant_tsc) return .no_invariant_tsc;
    if (!evidence.rdtscp) return .no_rdtscp;
    if (evidence.clocksource == .other) return .kernel_distrusts_tsc;
    return .none;
}

/// The evidence of this machine and process. Reads /sys and the environment: call it once.
pub fn gather() Evidence {
    const forced = forcedByEnvironment();
    if (!supported) return .{ .supported = false, .forced = forced, .invariant_tsc = false, .rdtscp = false, .clocksource = .unknown };
    const max_extended = cpuid(0x8000_0000).eax;
    const invariant = max_extended >= 0x8000_0007 and cpuid(0x8000_0007).edx & (1 << 8) != 0;
    const rdtscp = max_extended >= 0x8000_0001 and cpuid(0x8000_0001).edx & (1 << 27) != 0;
    return .{ .supported = true, .forced = forced, .invariant_tsc = invariant, .rdtscp = rdtscp, .clocksource = clocksource() };
}

fn forcedByEnvironment() bool {
    if (!builtin.link_libc) return false;
    const value = std.c.getenv("HOTPATH_CLOCK") orelse return false;
    return std.mem.eql(u8, std.mem.span(value), "monotonic");
}

/// /sys/devices/system/clocksource/clocksource0/current_clocksource, classified.
fn clocksource() KernelClocksource {
    var buffer: [sysfs.file_bytes_max]u8 = undefined;
    const root = sysfs.Root.init("").?;
    const text = sysfs.read(&root, &buffer, "/sys/devices/system/clocksource/clocksource0/current_clocksource", .{}) orelse
        return .unknown;
    return classify(text);
}

/// "tsc\n" -> tsc; any other name -> other; empty -> unknown.
pub fn classify(text: []const u8) KernelClocksource {
    const name = std.mem.trim(u8, text, " \t\n");
    if (name.len == 0) return .unknown;
    return if (std.mem.eql(u8, name, "tsc")) .tsc else .other;
}

const Leaf = struct { eax: u32, edx: u32 };

fn cpuid(leaf: u32) Leaf {
    comptime assert(supported);
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [_] "={eax}" (eax),
          [_] "={ebx}" (ebx),
          [_] "={ecx}" (ecx),
          [_] "={edx}" (edx),
        : [_] "{eax}" (leaf),
          [_] "{ecx}" (0),
    );
    return .{ .eax = eax, .edx = edx };
}

/// The time stamp counter, by RDTSCP: it waits until every earlier instruction has executed
/// (and earlier loads are visible), so a read that ends a timed section is not taken before the
/// section's work, as a bare RDTSC may be. Later instructions may start before it, which only
/// makes a timed section look shorter by the read's own latency. Linux's vDSO prefers the same
/// instruction (rdtsc_ordered), and on this project's VM it cost 16.9 ns a read against 17.4 ns
/// for LFENCE+RDTSC and 12.2 ns for a bare RDTSC (clock_gettime: 20.9 ns). Callers check
/// `supported` and the evidence first.
pub inline fn readTicks() u64 {
    if (comptime !supported) unreachable;
    var low: u32 = undefined;
    var high: u32 = undefined;
    asm volatile ("rdtscp"
        : [_] "={eax}" (low),
          [_] "={edx}" (high),
        :
        : .{ .ecx = true, .memory = true });
    return (@as(u64, high) << 32) | low;
}

test "tsc: each missing piece of evidence is the fallback reason, in order" {
    const good = Evidence{ .supported = true, .forced = false, .invariant_tsc = true, .rdtscp = true, .clocksource = .tsc };
    try std.testing.expectEqual(ClockFallback.none, decide(good));
    var evidence = good;
    evidence.clocksource = .unknown;
    try std.testing.expectEqual(ClockFallback.none, decide(evidence));
    evidence.clocksource = .other;
    try std.testing.expectEqual(ClockFallback.kernel_distrusts_tsc, decide(evidence));
    evidence.rdtscp = false;
    try std.testing.expectEqual(ClockFallback.no_rdtscp, decide(evidence));
    evidence.invariant_tsc = false;
    try std.testing.expectEqual(ClockFallback.no_invariant_tsc, decide(evidence));
    evidence.forced = true;
    try std.testing.expectEqual(ClockFallback.forced, decide(evidence));
    evidence.supported = false;
    try std.testing.expectEqual(ClockFallback.unsupported_platform, decide(evidence));
}

test "tsc: the kernel's clocksource file is classified" {
    try std.testing.expectEqual(KernelClocksource.tsc, classify("tsc\n"));
    try std.testing.expectEqual(KernelClocksource.other, classify("kvm-clock\n"));
    try std.testing.expectEqual(KernelClocksource.other, classify("tsc-early\n"));
    try std.testing.expectEqual(KernelClocksource.unknown, classify(" \n"));
}

test "tsc: this machine's evidence is consistent, and the counter never runs backwards on one thread" {
    const evidence = gather();
    try std.testing.expectEqual(supported, evidence.supported);
    if (!supported) return;
    if (!evidence.rdtscp) return;
    var previous = readTicks();
    for (0..10_000) |_| {
        const now = readTicks();
        try std.testing.expect(now >= previous);
        previous = now;
    }
}
