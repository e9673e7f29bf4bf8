//! The calling thread's CPU affinity (sched_getaffinity/sched_setaffinity on thread 0, which
//! is the caller: each Worker is an OS thread of its own) and the CPU and NUMA node it runs on.
//! The CPU comes from libc's sched_getcpu (glibc reads the rseq area or the vDSO: no system
//! call); the node from the getcpu system call.
//!
//! Masks are bit sets of at most `cpus_max` CPUs, bit i for CPU i, as little-endian u32 words.
//! Linux only; elsewhere every call answers `unsupported`.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const Status = @import("../status.zig").Status;
const constants = @import("../constants.zig");

const supported = builtin.os.tag == .linux;

/// CPUs a mask can name: the size of glibc's cpu_set_t. A kernel built for more CPUs than
/// this refuses sched_getaffinity with EINVAL, answered as `unsupported`.
pub const cpus_max: u32 = constants.affinity_cpus_max;
pub const mask_words: u32 = constants.affinity_mask_words;
pub const Mask = [mask_words]u32;

comptime {
    assert(cpus_max % 32 == 0);
    if (supported) assert(@sizeOf(linux.cpu_set_t) * 8 == cpus_max);
}

/// The calling thread's mask into `mask`; how many CPUs it holds (>= 1), or a negative Status.
pub fn get(mask: *Mask) i32 {
    if (!supported) return Status.unsupported.code();
    var bits: linux.cpu_set_t = undefined;
    const result = linux.sched_getaffinity(0, @sizeOf(linux.cpu_set_t), &bits);
    if (linux.errno(result) != .SUCCESS) return Status.unsupported.code();
    mask.* = @bitCast(bits);
    const count = countOf(mask);
    assert(count >= 1); // the kernel never runs a thread on no CPU
    return @intCast(count);
}

/// Sets the calling thread's mask. `invalid_argument` when the mask is empty or the kernel
/// left out any CPU of it (offline, or outside the cpuset): the previous mask is put back, so
/// a refused call changes nothing. `permission_denied` when the kernel refuses outright.
pub fn set(mask: *const Mask) Status {
    if (!supported) return .unsupported;
    if (countOf(mask) == 0) return .invalid_argument;
    var previous: Mask = undefined;
    if (get(&previous) < 0) return .unsupported;
    const status = apply(mask);
    if (status != .ok) return status;
    var obtained: Mask = undefined;
    if (get(&obtained) < 0) return .unsupported;
    if (std.mem.eql(u32, &obtained, mask)) return .ok;
    // The kernel dropped CPUs it does not allow: answer as if nothing happened.
    assert(apply(&previous) == .ok);
    return .invalid_argument;
}

/// The CPUs the kernel lets this thread run on (online, inside its cpuset), whatever its mask
/// is now: the mask obtained by asking for every CPU. The thread's mask is put back.
pub fn allowed(mask: *Mask) i32 {
    if (!supported) return Status.unsupported.code();
    var previous: Mask = undefined;
    if (get(&previous) < 0) return Status.unsupported.code();
    const every: Mask = @splat(std.math.maxInt(u32));
    if (apply(&every) != .ok) return Status.unsupported.code();
    const count = get(mask);
    assert(apply(&previous) == .ok);
    return count;
}

fn apply(mask: *const Mask) Status {
    const set_bits: linux.cpu_set_t = @bitCast(mask.*);
    const result = linux.syscall3(.sched_setaffinity, 0, @sizeOf(linux.cpu_set_t), @intFromPtr(&set_bits));
    return switch (linux.errno(result)) {
        .SUCCESS => .ok,
        .INVAL => .invalid_argument,
        .PERM => .permission_denied,
        else => .unsupported,
    };
}

pub fn countOf(mask: *const Mask) u32 {
    var count: u32 = 0;
    for (mask) |word| count += @popCount(word);
    assert(count <= cpus_max);
    return count;
}

const libc = if (supported) struct {
    extern "c" fn sched_getcpu() c_int;
} else struct {};

/// The CPU the calling thread runs on now (it may move right after), or null.
pub fn currentCpu() ?u32 {
    if (!supported) return null;
    const cpu = libc.sched_getcpu();
    if (cpu < 0 or cpu >= cpus_max) return null;
    return @intCast(cpu);
}

/// The NUMA node the calling thread runs on now (0 without NUMA), or null. A system call.
pub fn currentNode() ?u32 {
    if (!supported) return null;
    var cpu: usize = 0;
    var node: usize = 0;
    if (linux.errno(linux.getcpu(&cpu, &node)) != .SUCCESS) return null;
    if (node > std.math.maxInt(i32)) return null;
    return @intCast(node);
}

test "affinity: the thread's mask holds the CPU it runs on, and setting it back changes nothing" {
    if (!supported) return error.SkipZigTest;
    var mask: Mask = undefined;
    const count = get(&mask);
    try std.testing.expect(count >= 1);
    const cpu = currentCpu().?;
    try std.testing.expect(mask[cpu / 32] & (@as(u32, 1) << @intCast(cpu % 32)) != 0);
    try std.testing.expect(currentNode() != null);
    try std.testing.expectEqual(Status.ok, set(&mask));
    var permitted: Mask = undefined;
    try std.testing.expect(allowed(&permitted) >= count);
    var again: Mask = undefined;
    _ = get(&again);
    try std.testing.expectEqualSlices(u32, &mask, &again);
}

test "affinity: an empty mask and CPUs the kernel does not allow are refused and change nothing" {
    if (!supported) return error.SkipZigTest;
    var before: Mask = undefined;
    _ = get(&before);
    const empty: Mask = @splat(0);
    try std.testing.expectEqual(Status.invalid_argument, set(&empty));
    var permitted: Mask = undefined;
    _ = allowed(&permitted);
    var too_many = permitted;
    too_many[mask_words - 1] |= @as(u32, 1) << 31; // CPU 1023: not on this machine
    if (!std.mem.eql(u32, &too_many, &permitted)) {
        try std.testing.expectEqual(Status.invalid_argument, set(&too_many));
    }
    var after: Mask = undefined;
    _ = get(&after);
    try std.testing.expectEqualSlices(u32, &before, &after);
}
