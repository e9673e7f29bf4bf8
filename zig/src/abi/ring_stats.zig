//! A ring's counters for `hp_ring_stats` and `hp_ring_role_info`, read from any attached side
//! while the ring runs: every word is read atomically, and a position and its wrap count are
//! read until they agree, so a figure is one the ring really had (not torn across a wrap).
const std = @import("std");
const ring_module = @import("../ring/ring.zig");
const layout = @import("../ring/ring_layout.zig");
const liveness = @import("../system/liveness.zig");
const clock = @import("../system/clock.zig");
const exports = @import("ring_exports.zig");
const Ring = ring_module.Ring;

const two_32: f64 = 4294967296.0;

/// wraps * 2^32 + position, from a position word and its wrap count.
fn unwrapped(position: *const u32, wraps: *const u32) f64 {
    var attempt: u32 = 0;
    while (attempt < 8) : (attempt += 1) {
        const before = @atomicLoad(u32, wraps, .acquire);
        const value = @atomicLoad(u32, position, .acquire);
        if (@atomicLoad(u32, wraps, .acquire) == before) {
            return @as(f64, @floatFromInt(before)) * two_32 + @as(f64, @floatFromInt(value));
        }
    }
    // Still wrapping under us: this read is at most one wrap off.
    return @as(f64, @floatFromInt(@atomicLoad(u32, wraps, .acquire))) * two_32 +
        @as(f64, @floatFromInt(@atomicLoad(u32, position, .acquire)));
}

fn isLive(r: *const layout.Role) bool {
    return @atomicLoad(u32, &r.state, .acquire) & 3 == @backingInt(layout.RoleState.live);
}

/// Reads the counters; retried while a role moves its counts to the departed totals, so that
/// pushed and popped never go backwards (a leaving role is counted once, before or after).
pub fn collect(ring: *const Ring) exports.RingStatsOut {
    const h = ring.header();
    var attempt: u32 = 0;
    var deadline: f64 = 0;
    while (true) : (attempt += 1) {
        const before = @atomicLoad(u32, &h.role_changes, .seq_cst);
        const out = read(ring);
        const after = @atomicLoad(u32, &h.role_changes, .seq_cst);
        if (before == after and before % 2 == 0) return out;
        // A thread preempted inside a role's release keeps the count odd for a while: spin a
        // little, then give it the CPU. Bounded (20 ms): a process killed right there leaves
        // the count odd for good, and stats must still answer, possibly a little off.
        if (attempt < 64) {
            std.atomic.spinLoopHint();
            continue;
        }
        const now = clock.nowNs();
        if (deadline == 0) deadline = now + 20 * std.time.ns_per_ms;
        if (now >= deadline) return out;
        ring_module.yieldCpu();
    }
}

fn departed(value: *const f64) f64 {
    return @bitCast(@atomicLoad(u64, @as(*const u64, @ptrCast(value)), .seq_cst));
}

fn read(ring: *const Ring) exports.RingStatsOut {
    const h = ring.header();
    var out = std.mem.zeroes(exports.RingStatsOut);
    out.pushed = unwrapped(&h.head, &h.head_wraps);
    var slowest: ?f64 = null;
    var mpmc_pushed = departed(&h.departed_pushed);
    var mpmc_popped = departed(&h.departed_popped);
    out.lost = departed(&h.departed_lost);
    out.late_commits = departed(&h.departed_late);
    var index: u32 = 0;
    while (index < ring.geometry.params.roles_max) : (index += 1) {
        const r = ring.role(index);
        if (!isLive(r)) continue;
        const producer = @atomicLoad(u32, &r.kind, .acquire) == @backingInt(layout.RoleKind.producer);
        if (producer) out.producers += 1 else out.consumers += 1;
        out.full_events += r.full_events;
        out.empty_events += r.empty_events;
        out.parks += r.parks;
        out.wakes += r.wakes;
        out.lost += r.lost;
        out.late_commits += r.late_commits;
        if (producer) mpmc_pushed += r.messages else mpmc_popped += r.messages;
        if (!producer and ring.geometry.kind() == .broadcast and @atomicLoad(u32, &r.gating, .acquire) == 1) {
            const position = unwrapped(&r.cursor, &r.cursor_wraps);
            slowest = if (slowest) |s| @min(s, position) else position;
        }
    }
    out.popped = switch (ring.geometry.kind()) {
        .broadcast => @min(slowest orelse out.pushed, out.pushed),
        .spsc => unwrapped(&h.tail, &h.tail_wraps),
        // Head and tail move at claim and peek: count what was committed and released instead.
        .mpmc => mpmc_popped + @as(f64, @floatFromInt(@atomicLoad(u32, &h.reclaimed_peeks, .monotonic))),
    };
    if (ring.geometry.kind() == .mpmc) out.pushed = mpmc_pushed;
    out.depth = @max(out.pushed - out.popped, 0);
    out.skipped = @floatFromInt(@atomicLoad(u32, &h.skipped, .monotonic));
    out.consumers_parked = @floatFromInt(@atomicLoad(u32, &h.consumers_parked, .monotonic));
    out.producers_parked = @floatFromInt(@atomicLoad(u32, &h.producers_parked, .monotonic));
    out.reaped_roles = @floatFromInt(@atomicLoad(u32, &h.reaped_roles, .monotonic));
    out.reclaimed_peeks = @floatFromInt(@atomicLoad(u32, &h.reclaimed_peeks, .monotonic));
    return out;
}

pub fn role(ring: *const Ring, index: u32) exports.RingRoleOut {
    const r = ring.role(index);
    const state = @atomicLoad(u32, &r.state, .acquire);
    var out = std.mem.zeroes(exports.RingRoleOut);
    out.state = @floatFromInt(state & 3);
    if (state & 3 == 0) return out;
    const owner = r.owner;
    out.kind = @floatFromInt(@atomicLoad(u32, &r.kind, .acquire));
    out.gating = @floatFromInt(@atomicLoad(u32, &r.gating, .acquire));
    out.pid = @floatFromInt(owner.pid);
    out.tid = @floatFromInt(owner.tid);
    out.position = unwrapped(&r.cursor, &r.cursor_wraps);
    out.full_events = r.full_events;
    out.empty_events = r.empty_events;
    out.parks = r.parks;
    out.wakes = r.wakes;
    out.lost = r.lost;
    out.late_commits = r.late_commits;
    out.verdict = @floatFromInt(@backingInt(liveness.check(owner)));
    out.parked = @floatFromInt(@atomicLoad(u32, &r.parked, .acquire));
    return out;
}
