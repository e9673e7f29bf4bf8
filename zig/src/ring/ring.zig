//! A ring region as the library sees it: formatting, roles (who produces and consumes, and
//! whether they still run), parking on an index word, and counters. The hot path (claim,
//! commit, peek, release) runs in JavaScript over views of the region; this file does what is
//! rare or needs a system call.
//!
//! Roles: an SPSC ring has at most one producer and one consumer, a broadcast ring one
//! producer, an MPMC ring any mix, up to `roles_max`. A role records its owner (pid, tid, start
//! times), so a role whose owner died is taken back (reaped) when someone needs it, and a dead
//! broadcast consumer stops gating the producer.
//!
//! Parking: a waiter counts itself in `consumers_parked` / `producers_parked`, re-reads the word
//! and sleeps in `futex(FUTEX_WAIT)` for at most `ring_park_ns_max`; the other side reads the
//! count after every publication and wakes only when it is not 0. Shared (not private) futexes:
//! the word may be mapped by other processes.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const linux = std.os.linux;
const constants = @import("../constants.zig");
const layout = @import("ring_layout.zig");
const liveness = @import("../system/liveness.zig");
const region_module = @import("../memory/region.zig");

pub const Header = layout.Header;
pub const Role = layout.Role;
pub const Geometry = layout.Geometry;
pub const Kind = layout.Kind;
pub const RoleKind = layout.RoleKind;

const generation_mask: u32 = (1 << 22) - 1;

/// A role's index and the generation of its state word when claimed.
pub const RoleToken = struct {
    index: u32,
    generation: u32,

    pub fn encode(token: RoleToken) u32 {
        return token.generation << 8 | token.index;
    }

    pub fn decode(value: u32) RoleToken {
        return .{ .index = value & 0xff, .generation = value >> 8 };
    }
};

/// The words a thread may park on.
pub const Word = union(enum) { head, tail, cursor: u32 };

pub const ClaimError = error{ LimitReached, Invalid };

pub const Ring = struct {
    memory: []align(region_module.page_alignment) u8,
    geometry: Geometry,
    /// The named file's descriptor, or -1.
    fd: i32,

    /// Formats a new region: header, free roles, slot sequence words, then the ready mark.
    pub fn format(memory: []align(region_module.page_alignment) u8, geometry: Geometry, fd: i32) Ring {
        assert(memory.len == geometry.region_bytes);
        const ring: Ring = .{ .memory = memory, .geometry = geometry, .fd = fd };
        const h = ring.header();
        h.* = layout.headerFor(geometry, liveness.current().pid);
        if (geometry.payload_offset != 0) {
            // Vyukov's initial turns: slot s is free for position s. For broadcast the same
            // value reads "being written" to a consumer, which expects position + 1.
            var slot: u32 = 0;
            while (slot < geometry.params.capacity) : (slot += 1) ring.sequence(slot).* = slot;
        }
        @atomicStore(u32, &h.ready, layout.ready_value, .release);
        return ring;
    }

    /// A ring over a region another creator formatted, with the geometry `checkHeader` gave.
    pub fn over(memory: []align(region_module.page_alignment) u8, geometry: Geometry, fd: i32) Ring {
        assert(memory.len == geometry.region_bytes);
        return .{ .memory = memory, .geometry = geometry, .fd = fd };
    }

    pub fn header(ring: Ring) *Header {
        return @ptrCast(@alignCast(ring.memory.ptr));
    }

    pub fn role(ring: Ring, index: u32) *Role {
        assert(index < ring.geometry.params.roles_max);
        const offset = ring.geometry.roles_offset + index * layout.line_bytes;
        return @ptrCast(@alignCast(ring.memory.ptr + offset));
    }

    fn sequence(ring: Ring, slot: u32) *u32 {
        assert(ring.geometry.payload_offset == 8);
        assert(slot < ring.geometry.params.capacity);
        const offset = ring.geometry.slots_offset + @as(u64, slot) * ring.geometry.slot_stride;
        return @ptrCast(@alignCast(ring.memory.ptr + offset));
    }

    /// A new attachment number (never 0, below 2^31): the roles a Ring object claims carry it,
    /// and are released when that object's buffer is collected.
    pub fn nextAttachment(ring: Ring) u32 {
        const previous = @atomicRmw(u32, &ring.header().attachments, .Add, 1, .monotonic);
        return (previous % (std.math.maxInt(i32) - 1)) + 1;
    }

    /// Claims a role of `kind` for the calling thread, reaping roles of dead owners when the
    /// ring is at its limit for that kind.
    pub fn claimRole(ring: Ring, kind: RoleKind, gating: bool, attachment: u32) ClaimError!RoleToken {
        if (kind == .none or attachment == 0) return error.Invalid;
        for (0..2) |attempt| {
            if (ring.liveRoles(kind) < ring.limitOf(kind)) {
                if (ring.takeFreeRole(kind, gating, attachment)) |token| return token;
            }
            if (attempt == 0 and ring.reap() == 0) break;
        }
        return error.LimitReached;
    }

    fn limitOf(ring: Ring, kind: RoleKind) u32 {
        const roles = ring.geometry.params.roles_max;
        return switch (ring.geometry.kind()) {
            .spsc => 1,
            .mpmc => roles,
            .broadcast => if (kind == .producer) 1 else roles - 1,
        };
    }

    fn liveRoles(ring: Ring, kind: RoleKind) u32 {
        var count: u32 = 0;
        var index: u32 = 0;
        while (index < ring.geometry.params.roles_max) : (index += 1) {
            const r = ring.role(index);
            const state = @atomicLoad(u32, &r.state, .acquire);
            if (state & 3 != @backingInt(layout.RoleState.free) and @atomicLoad(u32, &r.kind, .acquire) == @backingInt(kind)) {
                count += 1;
            }
        }
        return count;
    }

    fn takeFreeRole(ring: Ring, kind: RoleKind, gating: bool, attachment: u32) ?RoleToken {
        var index: u32 = 0;
        while (index < ring.geometry.params.roles_max) : (index += 1) {
            const r = ring.role(index);
            const state = @atomicLoad(u32, &r.state, .acquire);
            if (state & 3 != @backingInt(layout.RoleState.free)) continue;
            const generation = (state >> 2) +% 1 & generation_mask;
            const busy = generation << 2 | @backingInt(layout.RoleState.busy);
            if (@cmpxchgStrong(u32, &r.state, state, busy, .acq_rel, .monotonic) != null) continue;
            const h = ring.header();
            @atomicStore(u32, &r.kind, @backingInt(kind), .release);
            r.gating = @intFromBool(gating and kind == .consumer and ring.geometry.kind() == .broadcast);
            r.attachment = attachment;
            r.owner = liveness.current();
            r.parked = 0;
            r.full_events = 0;
            r.empty_events = 0;
            r.parks = 0;
            r.wakes = 0;
            r.lost = 0;
            r.late_commits = 0;
            r.messages = 0;
            r.cursor_wraps = @atomicLoad(u32, &h.head_wraps, .acquire);
            @atomicStore(u32, &r.cursor, @atomicLoad(u32, &h.head, .seq_cst), .seq_cst);
            @atomicStore(u32, &r.state, generation << 2 | @backingInt(layout.RoleState.live), .seq_cst);
            // Read the head again now that the producer's gate scans see this consumer: a scan
            // made before could have let the producer run a ring past the first reading.
            @atomicStore(u32, &r.cursor, @atomicLoad(u32, &h.head, .seq_cst), .seq_cst);
            r.cursor_wraps = @atomicLoad(u32, &h.head_wraps, .acquire);
            return .{ .index = index, .generation = generation };
        }
        return null;
    }

    /// The role `token` names, if it is still that token's (not released and claimed again).
    pub fn liveRole(ring: Ring, token: RoleToken) ?*Role {
        if (token.index >= ring.geometry.params.roles_max) return null;
        const r = ring.role(token.index);
        const expected = token.generation << 2 | @backingInt(layout.RoleState.live);
        return if (@atomicLoad(u32, &r.state, .acquire) == expected) r else null;
    }

    /// Gives a role back; false if `token` no longer names it.
    pub fn releaseRole(ring: Ring, token: RoleToken) bool {
        const r = ring.liveRole(token) orelse return false;
        return ring.free(r, token.generation << 2 | @backingInt(layout.RoleState.live));
    }

    fn free(ring: Ring, r: *Role, state: u32) bool {
        const h = ring.header();
        const generation = state >> 2;
        const busy = generation << 2 | @backingInt(layout.RoleState.busy);
        // Busy first: of two threads freeing one role (a release and a reap), one does the rest.
        // Odd while the role's counts move: stats that read it meanwhile read again.
        _ = @atomicRmw(u32, &h.role_changes, .Add, 1, .seq_cst);
        defer _ = @atomicRmw(u32, &h.role_changes, .Add, 1, .seq_cst);
        if (@cmpxchgStrong(u32, &r.state, state, busy, .seq_cst, .monotonic) != null) return false;
        const consumer = r.kind == @backingInt(RoleKind.consumer);
        // A parked waiter that died still counts as parked: take it out of the count.
        if (@atomicRmw(u32, &r.parked, .Xchg, 0, .acq_rel) != 0) {
            _ = @atomicRmw(u32, if (consumer) &h.consumers_parked else &h.producers_parked, .Sub, 1, .acq_rel);
        }
        addFloat(if (consumer) &h.departed_popped else &h.departed_pushed, r.messages);
        addFloat(&h.departed_lost, r.lost);
        addFloat(&h.departed_late, r.late_commits);
        @atomicStore(u32, &r.state, generation << 2 | @backingInt(layout.RoleState.free), .release);
        return true;
    }

    /// Releases every role claimed by `attachment` (its Ring object was collected).
    pub fn releaseAttachment(ring: Ring, attachment: u32) u32 {
        var released: u32 = 0;
        var index: u32 = 0;
        while (index < ring.geometry.params.roles_max) : (index += 1) {
            const r = ring.role(index);
            const state = @atomicLoad(u32, &r.state, .acquire);
            if (state & 3 != @backingInt(layout.RoleState.live) or r.attachment != attachment) continue;
            if (ring.free(r, state)) released += 1;
        }
        return released;
    }

    /// Releases the roles whose owners are dead; returns how many.
    pub fn reap(ring: Ring) u32 {
        var reaped: u32 = 0;
        var index: u32 = 0;
        while (index < ring.geometry.params.roles_max) : (index += 1) {
            const r = ring.role(index);
            const state = @atomicLoad(u32, &r.state, .acquire);
            if (state & 3 != @backingInt(layout.RoleState.live)) continue;
            if (liveness.check(r.owner) != .dead) continue;
            if (ring.free(r, state)) reaped += 1;
        }
        if (reaped > 0) _ = @atomicRmw(u32, &ring.header().reaped_roles, .Add, reaped, .monotonic);
        return reaped;
    }

    pub fn wordOf(ring: Ring, word: Word) ?*u32 {
        const h = ring.header();
        return switch (word) {
            .head => &h.head,
            .tail => &h.tail,
            .cursor => |index| if (index < ring.geometry.params.roles_max) &ring.role(index).cursor else null,
        };
    }

    /// Parks the calling thread (role `r`) while `word` holds `expected`, for at most
    /// `timeout_ns` (capped); returns true if woken or the word changed, false on timeout.
    pub fn park(ring: Ring, r: *Role, word: *u32, expected: u32, timeout_ns: u64) bool {
        const h = ring.header();
        const consumer = r.kind == @backingInt(RoleKind.consumer);
        const count = if (consumer) &h.consumers_parked else &h.producers_parked;
        @atomicStore(u32, &r.parked, 1, .seq_cst);
        _ = @atomicRmw(u32, count, .Add, 1, .seq_cst);
        defer {
            _ = @atomicRmw(u32, count, .Sub, 1, .seq_cst);
            @atomicStore(u32, &r.parked, 0, .seq_cst);
        }
        // The other side stores its index and then reads the count; we count ourselves and then
        // read the index: one of the two sees the other (both sequentially consistent).
        if (@atomicLoad(u32, word, .seq_cst) != expected) return true;
        r.parks += 1;
        return futexWait(word, expected, @min(timeout_ns, constants.ring_park_ns_max));
    }

    /// Wakes every thread parked on `word`; returns how many woke.
    pub fn wake(ring: Ring, word: *u32) u32 {
        _ = @atomicRmw(u32, &ring.header().wakes, .Add, 1, .monotonic);
        return futexWake(word);
    }
};

const supported = builtin.os.tag == .linux;

/// Adds to an f64 that other roles may add to at the same moment (a CAS on its bits).
fn addFloat(target: *f64, amount: f64) void {
    const bits: *u64 = @ptrCast(target);
    var seen = @atomicLoad(u64, bits, .acquire);
    while (true) {
        const next: u64 = @bitCast(@as(f64, @bitCast(seen)) + amount);
        seen = @cmpxchgWeak(u64, bits, seen, next, .acq_rel, .acquire) orelse return;
    }
}

fn futexWait(word: *u32, expected: u32, timeout_ns: u64) bool {
    if (!supported) return false;
    const timeout: linux.timespec = .{
        .sec = @intCast(timeout_ns / std.time.ns_per_s),
        .nsec = @intCast(timeout_ns % std.time.ns_per_s),
    };
    const result = linux.futex_4arg(word, .{ .cmd = .WAIT, .private = false }, expected, &timeout);
    return switch (linux.errno(result)) {
        .TIMEDOUT => false,
        else => true, // woken, the word changed (AGAIN), or a signal (INTR): the caller re-reads
    };
}

fn futexWake(word: *u32) u32 {
    if (!supported) return 0;
    const result = linux.futex_3arg(word, .{ .cmd = .WAKE, .private = false }, std.math.maxInt(i32));
    return if (linux.errno(result) == .SUCCESS) @intCast(result) else 0;
}

/// Gives the CPU to another runnable thread (the "yield" wait strategy).
pub fn yieldCpu() void {
    if (supported) _ = linux.sched_yield();
}

const testing = std.testing;

fn testRing(kind: Kind, roles: u32) !struct { ring: Ring, region: region_module.Region } {
    const geometry = try Geometry.compute(.{
        .kind = @backingInt(kind),
        .slot_bytes = 16,
        .slot_align = 8,
        .capacity = 8,
        .roles_max = roles,
        .policy = 0,
        .unblock_timeout_ms = 100,
    });
    const region = try region_module.Region.map(geometry.region_bytes);
    return .{ .ring = Ring.format(region.memory, geometry, -1), .region = region };
}

test "ring: an SPSC ring has one producer and one consumer; a released role can be claimed again" {
    const t = try testRing(.spsc, 2);
    defer t.region.unmap();
    const ring = t.ring;
    const attachment = ring.nextAttachment();
    const producer = try ring.claimRole(.producer, false, attachment);
    try testing.expectError(error.LimitReached, ring.claimRole(.producer, false, attachment));
    const consumer = try ring.claimRole(.consumer, false, attachment);
    try testing.expect(producer.index != consumer.index);
    try testing.expect(ring.releaseRole(producer));
    try testing.expect(!ring.releaseRole(producer));
    const again = try ring.claimRole(.producer, false, attachment);
    try testing.expect(again.generation != producer.generation or again.index != producer.index);
    try testing.expectEqual(@as(u32, 2), ring.releaseAttachment(attachment));
    try testing.expect(ring.liveRole(consumer) == null);
}

test "ring: a broadcast consumer starts at the head; a role of a dead owner is reaped" {
    const t = try testRing(.broadcast, 4);
    defer t.region.unmap();
    const ring = t.ring;
    ring.header().head = 42;
    const consumer = try ring.claimRole(.consumer, true, ring.nextAttachment());
    try testing.expectEqual(@as(u32, 42), ring.role(consumer.index).cursor);
    try testing.expectEqual(@as(u32, 1), ring.role(consumer.index).gating);
    _ = try ring.claimRole(.consumer, true, ring.nextAttachment());
    _ = try ring.claimRole(.consumer, false, ring.nextAttachment());
    try testing.expectError(error.LimitReached, ring.claimRole(.consumer, false, 1));
    ring.role(consumer.index).owner.pid = std.math.maxInt(i32) - 1; // no such process
    ring.role(consumer.index).owner.process_start = 1;
    _ = try ring.claimRole(.consumer, false, ring.nextAttachment());
    try testing.expectEqual(@as(u32, 1), ring.header().reaped_roles);
}

test "ring: park returns at once when the word moved, and times out when it does not" {
    const t = try testRing(.mpmc, 4);
    defer t.region.unmap();
    const ring = t.ring;
    const token = try ring.claimRole(.consumer, false, ring.nextAttachment());
    const r = ring.role(token.index);
    const head = ring.wordOf(.head).?;
    try testing.expect(ring.park(r, head, 5, 1_000_000));
    try testing.expect(!ring.park(r, head, 0, 1_000_000));
    try testing.expectEqual(@as(u32, 0), ring.header().consumers_parked);
    try testing.expectEqual(@as(f64, 1), r.parks);
    try testing.expectEqual(@as(u32, 0), ring.wake(head));
}

test "ring: a parked consumer wakes when another thread publishes and wakes" {
    if (!supported) return error.SkipZigTest;
    const t = try testRing(.spsc, 2);
    defer t.region.unmap();
    const ring = t.ring;
    const token = try ring.claimRole(.consumer, false, ring.nextAttachment());
    const r = ring.role(token.index);
    const head = ring.wordOf(.head).?;
    const Publisher = struct {
        fn run(target: Ring) void {
            const h = target.header();
            // Wait until the consumer has counted itself parked, then publish and wake.
            while (@atomicLoad(u32, &h.consumers_parked, .seq_cst) == 0) std.atomic.spinLoopHint();
            @atomicStore(u32, &h.head, 1, .seq_cst);
            _ = target.wake(&h.head);
        }
    };
    const thread = try std.Thread.spawn(.{}, Publisher.run, .{ring});
    // 100 ms is the cap of one park; a wake (or the store before the wait) ends it sooner.
    const woken = ring.park(r, head, 0, constants.ring_park_ns_max);
    thread.join();
    try testing.expect(woken);
    try testing.expectEqual(@as(u32, 1), @atomicLoad(u32, head, .seq_cst));
    try testing.expectEqual(@as(u32, 0), ring.header().consumers_parked);
}
