//! The layout of a ring region, written down once: the header every opener checks, the lines
//! each side writes, a role (one producer or consumer attached), the parameters and the
//! geometry derived from them. A region may come from another process, so `checkHeader`
//! treats its bytes as untrusted input.
//!
//! Region: header (immutable part, then one 128-byte line per writer: the producers' index,
//! the consumers' index, the waiter counts), roles, slots. Each line pair is 128 bytes apart
//! so that the adjacent-line prefetcher does not couple producer and consumer (rigtorp).
//! A slot of an MPMC or broadcast ring starts with an 8-byte sequence word (Vyukov's turn,
//! or a broadcast slot's seqlock); SPSC slots are the payload alone.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const layout = @import("../layout.zig");
const liveness = @import("../system/liveness.zig");

/// "HPRING01" read as a little-endian u64.
pub const magic: u64 = 0x3130_474e_4952_5048;
pub const layout_version: u32 = 1;
/// Written last by the creator: a region without it is not (yet) formatted.
pub const ready_value: u32 = 0x5245_4459;

pub const Kind = enum(u32) { spsc = 1, mpmc = 2, broadcast = 3 };
/// What a broadcast producer does about a consumer that falls a whole ring behind.
pub const Policy = enum(u32) { block = 0, drop = 1 };

/// Bytes between lines that different threads write (two cache lines: adjacent-line prefetch).
pub const line_bytes: u32 = 128;

pub const Header = extern struct {
    // Written once by the creator; checked by every opener.
    magic: u64,
    abi_version: u32,
    layout_version: u32,
    kind: u32,
    header_bytes: u32,
    slot_bytes: u32,
    slot_align: u32,
    capacity: u32,
    roles_max: u32,
    policy: u32,
    unblock_timeout_ms: u32,
    slot_stride: u32,
    /// Bytes before the payload in each slot: 8 (a sequence word) or 0 (SPSC).
    payload_offset: u32,
    roles_offset: u32,
    slots_offset: u32,
    region_bytes: u64,
    layout_hash: u32,
    creator_pid: u32,
    ready: u32,
    reserved: [11]u32,
    // The producers' line: the next position to claim (SPSC, broadcast: the next to publish).
    head: u32,
    /// Times `head` passed 2^32 (messages pushed = head_wraps * 2^32 + head).
    head_wraps: u32,
    pad_head: [30]u32,
    // The consumers' line (SPSC, MPMC): the next position to read.
    tail: u32,
    tail_wraps: u32,
    pad_tail: [30]u32,
    // Waiter counts, read by the other side after each publication (a wake only when not 0).
    consumers_parked: u32,
    producers_parked: u32,
    pad_parked: [30]u32,
    // Rare events: attachments handed out, skipped MPMC slots, reclaimed roles.
    attachments: u32,
    skipped: u32,
    reaped_roles: u32,
    wakes: u32,
    /// MPMC: slots a consumer took and never released (it died or closed mid-read), given back
    /// by a producer after the unblock timeout. They count as popped.
    reclaimed_peeks: u32,
    /// Bumped before and after a role's counters move to the departed totals (odd meanwhile),
    /// so that stats never count a leaving role twice or not at all.
    role_changes: u32,
    /// MPMC: messages committed / released by roles that are gone (their `messages`, added when
    /// the role is released or reaped), so that stats stay whole as roles come and go.
    departed_pushed: f64,
    departed_popped: f64,
    /// Broadcast `lost` and MPMC `late_commits` of roles that are gone.
    departed_lost: f64,
    departed_late: f64,
    pad_rare: [18]u32,
};

pub const RoleState = enum(u2) { free = 0, live = 1, busy = 2 };
pub const RoleKind = enum(u32) { none = 0, producer = 1, consumer = 2 };

/// One attached producer or consumer. The first line is written at claim and release (under a
/// CAS of `state`); the second only by the role's owner, read by anyone for stats and gating.
pub const Role = extern struct {
    /// generation << 2 | RoleState, changed by CAS only.
    state: u32,
    kind: u32,
    /// Broadcast consumers: 1 if the producer waits for this consumer ("block").
    gating: u32,
    /// The attachment (one Ring object) that claimed it: released with it.
    attachment: u32,
    owner: liveness.Identity,
    /// 1 while the owner sleeps in `park` (counted in the header's parked count).
    parked: u32,
    pad_identity: [5]u32,
    // The owner's line.
    /// Broadcast consumers: the next position to read (the producer gates on it).
    cursor: u32,
    cursor_wraps: u32,
    full_events: f64,
    empty_events: f64,
    parks: f64,
    wakes: f64,
    /// Broadcast "drop" consumers: messages overwritten before they were read.
    lost: f64,
    /// MPMC producers: commits that came after a consumer skipped their slot.
    late_commits: f64,
    /// MPMC: messages this role committed (producer) or released (consumer).
    messages: f64,
};

comptime {
    assert(@sizeOf(Header) % line_bytes == 0);
    assert(@offsetOf(Header, "head") % line_bytes == 0);
    assert(@offsetOf(Header, "tail") % line_bytes == 0);
    assert(@offsetOf(Header, "consumers_parked") % line_bytes == 0);
    assert(@offsetOf(Header, "attachments") % line_bytes == 0);
    assert(@sizeOf(Role) == line_bytes);
    assert(@offsetOf(Role, "cursor") == constants.cache_line_bytes);
    assert(@offsetOf(Role, "full_events") % 8 == 0);
    assert(@offsetOf(Header, "departed_pushed") % 8 == 0);
}

pub const Params = struct {
    kind: u32,
    slot_bytes: u32,
    slot_align: u32,
    capacity: u32,
    roles_max: u32,
    policy: u32,
    unblock_timeout_ms: u32,
};

/// The parameters among the fields of `source` (a creation config or a header: same names).
pub fn paramsOf(source: anytype) Params {
    var params: Params = undefined;
    inline for (@typeInfo(Params).@"struct".field_names) |name| @field(params, name) = @field(source, name);
    return params;
}

pub const Geometry = struct {
    params: Params,
    slot_stride: u32,
    payload_offset: u32,
    roles_offset: u32,
    slots_offset: u32,
    region_bytes: u64,

    /// Every size and offset of a region, from its parameters; error.Invalid beyond a limit.
    pub fn compute(params: Params) error{Invalid}!Geometry {
        const p = params;
        const ring_kind = std.enums.fromInt(Kind, p.kind) orelse return error.Invalid;
        if (std.enums.fromInt(Policy, p.policy) == null) return error.Invalid;
        if (p.slot_bytes == 0 or p.slot_bytes > constants.ring_slot_bytes_max) return error.Invalid;
        if (p.slot_align == 0 or !std.math.isPowerOfTwo(p.slot_align) or p.slot_align > 8) return error.Invalid;
        if (p.capacity < 2 or p.capacity > constants.ring_capacity_max) return error.Invalid;
        if (!std.math.isPowerOfTwo(p.capacity)) return error.Invalid;
        if (p.roles_max < 2 or p.roles_max > constants.ring_roles_max) return error.Invalid;
        if (p.unblock_timeout_ms == 0 or p.unblock_timeout_ms > constants.ring_unblock_timeout_ms_max) {
            return error.Invalid;
        }
        if (ring_kind == .spsc and p.roles_max != 2) return error.Invalid;
        if (ring_kind != .broadcast and p.policy != @backingInt(Policy.block)) return error.Invalid;
        const payload_offset: u64 = if (ring_kind == .spsc) 0 else 8;
        const stride = std.mem.alignForward(u64, payload_offset + p.slot_bytes, @max(p.slot_align, 4));
        const roles_offset: u64 = @sizeOf(Header);
        const slots_offset = roles_offset + @as(u64, line_bytes) * p.roles_max;
        const end = slots_offset + stride * p.capacity;
        if (end > constants.region_bytes_max) return error.Invalid;
        return .{
            .params = p,
            .slot_stride = @intCast(stride),
            .payload_offset = @intCast(payload_offset),
            .roles_offset = @intCast(roles_offset),
            .slots_offset = @intCast(slots_offset),
            .region_bytes = std.mem.alignForward(u64, end, constants.page_bytes),
        };
    }

    pub fn kind(geometry: Geometry) Kind {
        return @fromBackingInt(@intCast(geometry.params.kind));
    }

    /// FNV-1a over every geometry field: an opener's recomputed hash must match the header's.
    pub fn hash(geometry: Geometry) u32 {
        const g = geometry;
        const p = g.params;
        const words = [_]u64{
            p.kind,         p.slot_bytes,         p.slot_align,  p.capacity,       p.roles_max,
            p.policy,       p.unblock_timeout_ms, g.slot_stride, g.payload_offset, g.roles_offset,
            g.slots_offset, g.region_bytes,
        };
        return layout.fnv1a(layout.fnv_offset, std.mem.sliceAsBytes(&words));
    }
};

pub const OpenError = error{ Incompatible, Corrupted };

/// The geometry of a region whose header bytes were read from a file of `file_bytes`, or why
/// it cannot be used: another format or version (Incompatible), or fields that disagree with
/// each other, the limits or the file's size (Corrupted).
pub fn checkHeader(bytes: []const u8, file_bytes: u64) OpenError!Geometry {
    if (bytes.len < @sizeOf(Header)) return error.Corrupted;
    var header: Header = undefined;
    @memcpy(std.mem.asBytes(&header), bytes[0..@sizeOf(Header)]);
    if (header.magic != magic) return error.Incompatible;
    if (header.abi_version != constants.abi_version or header.layout_version != layout_version) return error.Incompatible;
    const geometry = Geometry.compute(paramsOf(header)) catch return error.Corrupted;
    var expected = headerFor(geometry, header.creator_pid);
    expected.ready = ready_value;
    const immutable = @offsetOf(Header, "head");
    if (!std.mem.eql(u8, std.mem.asBytes(&expected)[0..immutable], std.mem.asBytes(&header)[0..immutable])) {
        return error.Corrupted;
    }
    if (file_bytes != geometry.region_bytes) return error.Corrupted;
    return geometry;
}

/// The header a creator writes for `geometry`: indices at 0, `ready` still 0 (set last).
pub fn headerFor(geometry: Geometry, creator_pid: u32) Header {
    const p = geometry.params;
    var h = std.mem.zeroes(Header);
    h.magic = magic;
    h.abi_version = constants.abi_version;
    h.layout_version = layout_version;
    h.header_bytes = @sizeOf(Header);
    inline for (@typeInfo(Params).@"struct".field_names) |name| @field(h, name) = @field(p, name);
    h.slot_stride = geometry.slot_stride;
    h.payload_offset = geometry.payload_offset;
    h.roles_offset = geometry.roles_offset;
    h.slots_offset = geometry.slots_offset;
    h.region_bytes = geometry.region_bytes;
    h.layout_hash = geometry.hash();
    h.creator_pid = creator_pid;
    return h;
}

const testing = std.testing;

fn testParams(kind: Kind) Params {
    return .{
        .kind = @backingInt(kind),
        .slot_bytes = 24,
        .slot_align = 8,
        .capacity = 1024,
        .roles_max = if (kind == .spsc) 2 else 8,
        .policy = 0,
        .unblock_timeout_ms = 1000,
    };
}

test "ring_layout: geometry is checked against every limit" {
    const spsc = try Geometry.compute(testParams(.spsc));
    try testing.expectEqual(@as(u32, 24), spsc.slot_stride);
    try testing.expectEqual(@as(u32, 0), spsc.payload_offset);
    const mpmc = try Geometry.compute(testParams(.mpmc));
    try testing.expectEqual(@as(u32, 32), mpmc.slot_stride);
    try testing.expectEqual(@as(u32, 8), mpmc.payload_offset);
    var bad = testParams(.mpmc);
    bad.capacity = 1000;
    try testing.expectError(error.Invalid, Geometry.compute(bad));
    bad = testParams(.mpmc);
    bad.policy = 1;
    try testing.expectError(error.Invalid, Geometry.compute(bad));
    bad = testParams(.spsc);
    bad.roles_max = 3;
    try testing.expectError(error.Invalid, Geometry.compute(bad));
    bad = testParams(.broadcast);
    bad.kind = 9;
    try testing.expectError(error.Invalid, Geometry.compute(bad));
    bad = testParams(.broadcast);
    bad.slot_align = 3;
    try testing.expectError(error.Invalid, Geometry.compute(bad));
}

test "ring_layout: an opener accepts its creator's header and nothing changed in it" {
    const geometry = try Geometry.compute(testParams(.broadcast));
    var header = headerFor(geometry, 7);
    header.ready = ready_value;
    const bytes = std.mem.asBytes(&header);
    _ = try checkHeader(bytes, geometry.region_bytes);
    try testing.expectError(error.Corrupted, checkHeader(bytes, geometry.region_bytes + 4096));
    var changed = header;
    changed.slots_offset += 8;
    try testing.expectError(error.Corrupted, checkHeader(std.mem.asBytes(&changed), geometry.region_bytes));
    changed = header;
    changed.magic ^= 1;
    try testing.expectError(error.Incompatible, checkHeader(std.mem.asBytes(&changed), geometry.region_bytes));
    changed = header;
    changed.ready = 0;
    try testing.expectError(error.Corrupted, checkHeader(std.mem.asBytes(&changed), geometry.region_bytes));
}
