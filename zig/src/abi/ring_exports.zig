//! The C ABI of Ring (ring/ring.zig), under the rules of abi/exports.zig: every argument from
//! JavaScript is checked, every answer is a Status or a non-negative result, and nothing
//! JavaScript passes reaches an assertion. Paths follow abi/shared_exports.zig.
const std = @import("std");
const constants = @import("../constants.zig");
const config = @import("config.zig");
const Status = @import("../status.zig").Status;
const registry = @import("../memory/registry.zig");
const shared_region = @import("../memory/shared_region.zig");
const shared = @import("shared_exports.zig");
const ring_module = @import("../ring/ring.zig");
const layout = @import("../ring/ring_layout.zig");
const liveness = @import("../system/liveness.zig");
const Ring = ring_module.Ring;

/// What `hp_ring_geometry` writes: the geometry this process validated and uses.
pub const RingGeometryOut = extern struct {
    kind: f64,
    slot_bytes: f64,
    slot_align: f64,
    capacity: f64,
    roles_max: f64,
    policy: f64,
    unblock_timeout_ms: f64,
    slot_stride: f64,
    payload_offset: f64,
    roles_offset: f64,
    slots_offset: f64,
    region_bytes: f64,
    reserved: [4]f64,
};

/// What `hp_ring_stats` writes: the ring's counters, summed over the roles attached now.
pub const RingStatsOut = extern struct {
    pushed: f64,
    /// SPSC, MPMC: messages taken; broadcast: pushed minus the slowest gating consumer's lag.
    popped: f64,
    depth: f64,
    full_events: f64,
    empty_events: f64,
    parks: f64,
    wakes: f64,
    skipped: f64,
    late_commits: f64,
    lost: f64,
    producers: f64,
    consumers: f64,
    consumers_parked: f64,
    producers_parked: f64,
    reaped_roles: f64,
    /// MPMC: peeks never released, given back after the unblock timeout (counted as popped).
    reclaimed_peeks: f64,
};

/// What `hp_ring_role_info` writes about role slot `index`.
pub const RingRoleOut = extern struct {
    /// 0 free, 1 live, 2 being claimed.
    state: f64,
    /// 1 producer, 2 consumer.
    kind: f64,
    gating: f64,
    pid: f64,
    tid: f64,
    /// Broadcast consumers: messages read since the ring was created (its cursor, unwrapped).
    position: f64,
    full_events: f64,
    empty_events: f64,
    parks: f64,
    wakes: f64,
    lost: f64,
    late_commits: f64,
    /// 0 alive, 1 dead, 2 unknown (system/liveness.zig).
    verdict: f64,
    parked: f64,
    reserved: [2]f64,
};

/// Creates a ring from a RingConfig, in shared anonymous memory when `path_bytes` is 0, else in
/// a new file at `path` (O_EXCL, 0600). Returns its id or a Status.
export fn hp_ring_create(
    config_pointer: ?[*]const u8,
    config_bytes: u32,
    path_pointer: ?[*]const u8,
    path_bytes: u32,
) callconv(.c) i32 {
    const options = config.read(config.RingConfig, config_pointer, config_bytes) orelse
        return Status.invalid_argument.code();
    const geometry = layout.Geometry.compute(layout.paramsOf(options)) catch
        return Status.invalid_argument.code();
    // A ring never grows: every page is committed at creation.
    return shared.createNamedOrAnonymous(path_pointer, path_bytes, geometry, geometry.region_bytes, options.placement, ringFormat);
}

fn ringFormat(memory: []align(std.heap.page_size_min) u8, geometry: layout.Geometry, fd: i32) registry.Object {
    return .{ .ring = Ring.format(memory, geometry, fd) };
}

/// Opens the ring in file `path`, created by this or another process. The file is untrusted:
/// owner, mode, size and every header field are checked before it is mapped.
export fn hp_ring_open(path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    return shared.openNamed(path_pointer, path_bytes, layout.Header, layout.checkHeader, ringOver);
}

fn ringOver(memory: []align(std.heap.page_size_min) u8, geometry: layout.Geometry, fd: i32) registry.Object {
    return .{ .ring = Ring.over(memory, geometry, fd) };
}

/// Adds this realm (a Worker of this process) to a live ring; it detaches with hp_region_close.
export fn hp_ring_attach(id: u32) callconv(.c) i32 {
    return if (registry.attachRealm(id, .ring)) Status.ok.code() else Status.invalid_id.code();
}

/// A new attachment number for one Ring object: its roles are released with its buffer.
export fn hp_ring_attachment(id: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    return @intCast(ring.nextAttachment());
}

/// Called when a realm's buffer over the ring is freed: the roles its object held are released.
pub fn releaseAttachment(id: u32, attachment: u32) void {
    const ring = registry.lookupRing(id) orelse return;
    _ = ring.releaseAttachment(attachment);
}

/// Writes the validated geometry (RingGeometryOut) into `out`.
export fn hp_ring_geometry(id: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const target = shared.outOf(RingGeometryOut, out, out_bytes) orelse return Status.invalid_argument.code();
    const g = ring.geometry;
    target.* = std.mem.zeroes(RingGeometryOut);
    inline for (@typeInfo(layout.Params).@"struct".field_names) |name| {
        @field(target, name) = @floatFromInt(@field(g.params, name));
    }
    inline for (.{ "slot_stride", "payload_offset", "roles_offset", "slots_offset", "region_bytes" }) |name| {
        @field(target, name) = @floatFromInt(@field(g, name));
    }
    return Status.ok.code();
}

/// Claims a producer (1) or consumer (2) role for the calling thread; `gating` 1 makes a
/// broadcast consumer hold the producer back. Returns the role's token or a Status
/// (limit_reached when the ring has as many live roles of that kind as it allows).
export fn hp_ring_role_claim(id: u32, kind: u32, gating: u32, attachment: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const role_kind = std.enums.fromInt(layout.RoleKind, kind) orelse return Status.invalid_argument.code();
    if (gating > 1 or attachment == 0 or attachment > std.math.maxInt(i32)) return Status.invalid_argument.code();
    const token = ring.claimRole(role_kind, gating == 1, attachment) catch |failure| return switch (failure) {
        error.LimitReached => Status.limit_reached.code(),
        error.Invalid => Status.invalid_argument.code(),
    };
    return @intCast(token.encode());
}

/// Gives a role back.
export fn hp_ring_role_release(id: u32, token: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    return if (ring.releaseRole(ring_module.RoleToken.decode(token))) Status.ok.code() else Status.invalid_argument.code();
}

/// The word `selector` names: 0 the head, 1 the tail, 2 + i the cursor of live role i.
fn wordOf(ring: *const Ring, selector: u32) ?*u32 {
    return switch (selector) {
        0 => ring.wordOf(.head),
        1 => ring.wordOf(.tail),
        else => word: {
            const index = selector - 2;
            if (index >= ring.geometry.params.roles_max) break :word null;
            const state = @atomicLoad(u32, &ring.role(index).state, .acquire);
            if (state & 3 != @backingInt(layout.RoleState.live)) break :word null;
            break :word ring.wordOf(.{ .cursor = index });
        },
    };
}

/// Sleeps (role `token`, the calling thread) while word `selector` holds `expected`, for at
/// most `timeout_ms` (at most ring_park_ns_max per call). Returns 1 when woken or the word
/// moved, 0 on timeout.
export fn hp_ring_park(id: u32, token: u32, selector: u32, expected: i32, timeout_ms: f64) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const role = ring.liveRole(ring_module.RoleToken.decode(token)) orelse return Status.invalid_argument.code();
    const word = wordOf(ring, selector) orelse return Status.invalid_argument.code();
    if (!(timeout_ms >= 0)) return Status.invalid_argument.code();
    const timeout_ns: u64 = if (timeout_ms >= constants.ring_park_ns_max / std.time.ns_per_ms)
        constants.ring_park_ns_max
    else
        @intFromFloat(timeout_ms * std.time.ns_per_ms);
    return @intFromBool(ring.park(role, word, @bitCast(expected), timeout_ns));
}

/// hp_ring_park under another name, declared `nonblocking` on Deno (a Promise on the main thread).
export fn hp_ring_park_async(id: u32, token: u32, selector: u32, expected: i32, timeout_ms: f64) callconv(.c) i32 {
    return hp_ring_park(id, token, selector, expected, timeout_ms);
}

/// Wakes every thread parked on word `selector`; returns how many woke.
export fn hp_ring_wake(id: u32, selector: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const word = wordOf(ring, selector) orelse return Status.invalid_argument.code();
    return @intCast(ring.wake(word));
}

/// Releases the roles of dead owners; returns how many.
export fn hp_ring_reap(id: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    return @intCast(ring.reap());
}

/// sched_yield: the "yield" wait strategy.
export fn hp_yield() callconv(.c) void {
    ring_module.yieldCpu();
}

/// Writes RingStatsOut into `out`.
export fn hp_ring_stats(id: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const target = shared.outOf(RingStatsOut, out, out_bytes) orelse return Status.invalid_argument.code();
    target.* = @import("ring_stats.zig").collect(ring);
    return Status.ok.code();
}

/// Writes what role slot `index` holds (RingRoleOut) into `out`.
export fn hp_ring_role_info(id: u32, index: u32, out: ?*anyopaque, out_bytes: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    if (index >= ring.geometry.params.roles_max) return Status.invalid_argument.code();
    const target = shared.outOf(RingRoleOut, out, out_bytes) orelse return Status.invalid_argument.code();
    target.* = @import("ring_stats.zig").role(ring, index);
    return Status.ok.code();
}

/// 1 when `path` names the file of named ring `id` (the same inode), else 0.
export fn hp_ring_path_matches(id: u32, path_pointer: ?[*]const u8, path_bytes: u32) callconv(.c) i32 {
    const ring = registry.lookupRing(id) orelse return Status.invalid_id.code();
    const path = shared.pathOf(path_pointer, path_bytes) orelse return Status.invalid_path.code();
    return @intFromBool(shared_region.sameFile(ring.fd, shared.sentinel(&path)));
}

comptime {
    std.debug.assert(@sizeOf(RingStatsOut) % 8 == 0);
    std.debug.assert(@sizeOf(RingRoleOut) % 8 == 0);
    _ = liveness;
}
