//! Every pool and arena lives in a slot of one static table, named to JavaScript by an id
//! `generation << slot_bits | slot`, so a stale id never reaches a newer region.
//!
//! A slot goes free -> live (create) -> retired (close: pages discarded, addresses kept
//! mapped) -> free (unmapped). JavaScript never unmaps: each realm (thread) that views a
//! region holds it through one external ArrayBuffer (abi/napi.zig), and the engine's
//! finalizer of that buffer's backing store drops the hold. The finalizer follows the
//! backing store through `transfer()`, `structuredClone` and `postMessage`, and runs when a
//! Worker ends, so the mapping is released exactly when no view can remain:
//!   - closed and no holder left: unmapped at once;
//!   - every holder gone without a close (dropped pool, ended Worker): unmapped then.
//! A region never viewed from JavaScript (native callers) is unmapped by close.
//!
//! A shared pool's region is used by several realms at once, so closing it in one realm must
//! not take it from the others: its slot also counts `attaches` (realms that opened it and have
//! not closed it). Close detaches one; the last detach retires the region (its shared pages are
//! replaced by private zero pages while views remain) or frees it (no view left).
//!
//! Create, close, attach and drop take a futex-backed mutex (pthread): they are rare, may
//! come from several threads (finalizers may run on a collector thread), and make at most one
//! system call while holding it. Lookups on the hot path read one atomic tag and take no lock:
//! a region is used by the realm that holds it, so it cannot be released under that use.
const std = @import("std");
const assert = std.debug.assert;
const MutexGuard = @import("../system/mutex_guard.zig").MutexGuard;
const constants = @import("../constants.zig");
const Region = @import("region.zig").Region;
const Pool = @import("pool.zig").Pool;
const Arena = @import("arena.zig").Arena;
const SharedPool = @import("shared_pool.zig").SharedPool;
const shared_region = @import("shared_region.zig");
const Ring = @import("../ring/ring.zig").Ring;

pub const Kind = enum(u3) { pool = 1, arena = 2, shared_pool = 3, ring = 4 };
pub const State = enum(u2) { free = 0, live = 1, retired = 2 };

pub const Object = union(Kind) {
    pool: Pool,
    arena: Arena,
    shared_pool: SharedPool,
    ring: Ring,

    /// Regions that several realms and processes attach to (closed by the last detach).
    fn isShared(object: Object) bool {
        return object == .shared_pool or object == .ring;
    }

    /// A named region's descriptor, or -1.
    fn fd(object: Object) i32 {
        return switch (object) {
            .shared_pool => |pool| pool.fd,
            .ring => |ring| ring.fd,
            else => -1,
        };
    }
};

const Slot = struct {
    /// generation << 5 | kind << 2 | state. Stored with .release after the slot is filled;
    /// read with .acquire by lock-free lookups.
    tag: std.atomic.Value(u32) = .init(0),
    generation: u32 = 0,
    /// External ArrayBuffers alive over the region (under the mutex).
    holders: u32 = 0,
    /// True once a holder attached: losing the last one then releases a live region.
    attached: bool = false,
    /// Shared pools: realms attached and not yet closed (under the mutex).
    attaches: u32 = 0,
    region: Region = undefined,
    object: Object = undefined,

    fn state(slot: *const Slot) State {
        return @fromBackingInt(@as(u2, @truncate(slot.tag.load(.acquire))));
    }
};

var slots: [constants.slots_max]Slot = @splat(.{});
var mutex: std.c.pthread_mutex_t = .{};
/// Where the search for a free slot starts: the slot after the last one taken (under the mutex).
var cursor: u32 = 0;

fn tagOf(generation: u32, kind: Kind, state: State) u32 {
    assert(generation <= constants.generation_max);
    return generation << 5 | @as(u32, @backingInt(kind)) << 2 | @backingInt(state);
}

fn idOf(slot_index: u32, generation: u32) u32 {
    assert(slot_index < constants.slots_max);
    assert(generation > 0);
    return generation << constants.slot_bits | slot_index;
}

/// Stores a new live region and returns its id, or null when every slot is taken.
pub fn insert(region: Region, object: Object) ?u32 {
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    var probes: u32 = 0;
    while (probes < constants.slots_max) : (probes += 1) {
        const index = (cursor + probes) % constants.slots_max;
        const slot = &slots[index];
        if (slot.state() != .free) continue;
        assert(slot.holders == 0);
        slot.generation = if (slot.generation >= constants.generation_max) 1 else slot.generation + 1;
        slot.region = region;
        slot.object = object;
        slot.attached = false;
        slot.attaches = 1;
        // Pairs with the .acquire loads in `slotOf` and `lookup`.
        slot.tag.store(tagOf(slot.generation, object, .live), .release);
        cursor = (index + 1) % constants.slots_max;
        assert(slot.state() == .live);
        return idOf(index, slot.generation);
    }
    return null;
}

fn slotOf(id: u32) ?*Slot {
    const index = id & (constants.slots_max - 1);
    const generation = id >> constants.slot_bits;
    if (generation == 0 or generation > constants.generation_max) return null;
    const slot = &slots[index];
    if (slot.tag.load(.acquire) >> 5 != generation) return null;
    return slot;
}

/// The live object of `kind` named by `id`, or null.
pub fn lookup(id: u32, kind: Kind) ?Object {
    const slot = slotOf(id) orelse return null;
    // Pairs with the .release store in `insert`.
    if (slot.tag.load(.acquire) != tagOf(id >> constants.slot_bits, kind, .live)) return null;
    return slot.object;
}

/// The live pool named by `id`, in place, for operations that change its trusted geometry
/// (grow). Like every pool operation, only from the realm that uses the pool.
pub fn lookupPool(id: u32) ?struct { pool: *Pool, region: Region } {
    const slot = slotOf(id) orelse return null;
    // Pairs with the .release store in `insert`.
    if (slot.tag.load(.acquire) != tagOf(id >> constants.slot_bits, .pool, .live)) return null;
    return .{ .pool = &slot.object.pool, .region = slot.region };
}

/// The live shared pool named by `id`. Its fields are fixed after creation; everything it
/// changes is in its region, with atomics.
pub fn lookupShared(id: u32) ?*const SharedPool {
    const slot = slotOf(id) orelse return null;
    // Pairs with the .release store in `insert`.
    if (slot.tag.load(.acquire) != tagOf(id >> constants.slot_bits, .shared_pool, .live)) return null;
    return &slot.object.shared_pool;
}

/// The live ring named by `id`. Its fields are fixed after creation; everything it changes is
/// in its region, with atomics.
pub fn lookupRing(id: u32) ?*const Ring {
    const slot = slotOf(id) orelse return null;
    // Pairs with the .release store in `insert`.
    if (slot.tag.load(.acquire) != tagOf(id >> constants.slot_bits, .ring, .live)) return null;
    return &slot.object.ring;
}

/// Adds a realm to a live shared pool or ring of `kind` (it closes it with `close`); false if
/// not live or at the limit.
pub fn attachRealm(id: u32, kind: Kind) bool {
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const slot = slotOf(id) orelse return false;
    if (slot.tag.load(.monotonic) != tagOf(id >> constants.slot_bits, kind, .live)) return false;
    if (slot.attaches >= constants.holders_max) return false;
    slot.attaches += 1;
    return true;
}

/// The region of a live or retired id.
pub fn regionOf(id: u32) ?Region {
    const slot = slotOf(id) orelse return null;
    if (slot.state() == .free) return null;
    return slot.region;
}

/// Adds a holder to a live id (an external ArrayBuffer is about to view it); null when the
/// id is not live or the holder count is at its limit.
pub fn attach(id: u32) ?Region {
    const lock = MutexGuard.acquire(&mutex);
    defer lock.release();
    const slot = slotOf(id) orelse return null;
    if (slot.state() != .live or slot.holders >= constants.holders_max) return null;
    slot.holders += 1;
    slot.attached = true;
    assert(slot.holders > 0);
    return slot.region;
}

/// Removes a holder (its buffer's backing store was freed). Unmaps the region when it was
/// the last holder: nothing can view the region any more, closed or not.
pub fn drop(id: u32) void {
    const released = released: {
        const lock = MutexGuard.acquire(&mutex);
        defer lock.release();
        // A held slot is never freed or reused; should that ever break, leak rather than act on
        // another region (an `unreachable` here would be undefined behaviour in ReleaseFast).
        const slot = slotOf(id) orelse return;
        if (slot.state() == .free or slot.holders == 0) return;
        slot.holders -= 1;
        if (slot.holders > 0) return;
        break :released free(slot);
    };
    released.run();
}

/// Closes a live id: its pages go back to the kernel at once. With no holder the region is
/// unmapped too; otherwise its addresses stay mapped (views read zeros) until the last drop.
pub fn close(id: u32) bool {
    const released = released: {
        const lock = MutexGuard.acquire(&mutex);
        defer lock.release();
        const slot = slotOf(id) orelse return false;
        const tag = slot.tag.load(.monotonic);
        if (slot.state() != .live) return false;
        const shared = slot.object.isShared();
        if (shared) {
            assert(slot.attaches > 0);
            slot.attaches -= 1;
            if (slot.attaches > 0) return true;
        }
        if (slot.holders == 0) break :released free(slot);
        slot.tag.store(tag & ~@as(u32, 0b11) | @backingInt(State.retired), .release);
        // Under the lock: a concurrent last drop must not unmap (and let the kernel reuse)
        // the range between our check and this call. One bounded system call.
        if (!shared) {
            slot.region.discard();
        } else if (shared_region.zeroOver(slot.region)) {
            // Private zero pages now: marking them touches no other process's pool.
            if (slot.object == .shared_pool) slot.object.shared_pool.markRetired();
        }
        assert(slot.state() == .retired);
        return true;
    };
    released.run();
    return true;
}

/// A freed slot's mapping (and a named region's descriptor), released outside the mutex.
const Released = struct {
    region: Region,
    fd: i32,

    fn run(released: Released) void {
        released.region.unmap();
        if (released.fd >= 0) shared_region.closeFd(released.fd);
    }
};

/// Marks a slot free (under the mutex) and returns what to release outside it.
fn free(slot: *Slot) Released {
    assert(slot.holders == 0);
    const region = slot.region;
    const fd = slot.object.fd();
    slot.region = undefined;
    slot.attached = false;
    slot.attaches = 0;
    slot.tag.store(slot.tag.load(.monotonic) & ~@as(u32, 0b11), .release);
    assert(slot.state() == .free);
    return .{ .region = region, .fd = fd };
}

/// Regions mapped right now, live or retired. For leak checks.
pub fn mappedCount() u32 {
    var count: u32 = 0;
    for (&slots) |*slot| {
        if (slot.state() != .free) count += 1;
    }
    return count;
}

const testing = std.testing;

fn testRegion() !Region {
    return Region.map(constants.page_bytes);
}

test "registry: ids are checked by generation and kind, and close of an unheld region frees it" {
    const before = mappedCount();
    const memory = try testRegion();
    const id = insert(memory, .{ .arena = .{ .header = @ptrCast(memory.memory.ptr), .capacity = 1 } }).?;
    try testing.expect(lookup(id, .arena) != null);
    try testing.expect(lookup(id, .pool) == null);
    try testing.expect(lookup(id ^ (1 << constants.slot_bits), .arena) == null);
    try testing.expect(close(id));
    try testing.expect(!close(id));
    try testing.expect(lookup(id, .arena) == null);
    try testing.expect(regionOf(id) == null);
    try testing.expectEqual(before, mappedCount());
}

test "registry: a held region outlives close until its last holder drops" {
    const before = mappedCount();
    const memory = try testRegion();
    const id = insert(memory, .{ .arena = .{ .header = @ptrCast(memory.memory.ptr), .capacity = 1 } }).?;
    try testing.expect(attach(id) != null);
    try testing.expect(attach(id) != null);
    try testing.expect(close(id));
    try testing.expect(attach(id) == null);
    try testing.expect(regionOf(id) != null);
    drop(id);
    try testing.expect(regionOf(id) != null);
    drop(id);
    try testing.expect(regionOf(id) == null);
    try testing.expectEqual(before, mappedCount());
}

test "registry: losing every holder releases a region that was never closed" {
    const before = mappedCount();
    const memory = try testRegion();
    const id = insert(memory, .{ .arena = .{ .header = @ptrCast(memory.memory.ptr), .capacity = 1 } }).?;
    try testing.expect(attach(id) != null);
    drop(id);
    try testing.expect(lookup(id, .arena) == null);
    try testing.expect(!close(id));
    try testing.expectEqual(before, mappedCount());
}
