//! Every pool and arena lives in a slot of one static table, named to JavaScript by an id
//! `generation << slot_bits | slot`, so a stale id never reaches a newer region.
//!
//! A slot goes free -> live (create) -> retired (close: pages discarded, addresses kept
//! mapped for views JavaScript may still hold) -> free (release: unmapped once those views
//! are garbage). Create, close and release take a spinlock: they are rare and may come from
//! several Workers. Lookups on the hot path read one atomic tag and take no lock; a region
//! belongs to the thread that uses it.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("constants.zig");
const Region = @import("region.zig").Region;
const Pool = @import("pool.zig").Pool;
const Arena = @import("arena.zig").Arena;

pub const Kind = enum(u2) { pool = 1, arena = 2 };
pub const State = enum(u2) { free = 0, live = 1, retired = 2 };

pub const Object = union(Kind) {
    pool: Pool,
    arena: Arena,
};

const Slot = struct {
    /// generation << 4 | kind << 2 | state. Published with .release after the slot is filled;
    /// read with .acquire by lookups.
    tag: std.atomic.Value(u32) = .init(0),
    generation: u32 = 0,
    region: Region = undefined,
    object: Object = undefined,
};

var slots: [constants.slots_max]Slot = @splat(.{});
var lock_word: std.atomic.Value(u32) = .init(0);
/// Where the search for a free slot starts: the slot after the last one taken.
var cursor: u32 = 0;

fn tagOf(generation: u32, kind: Kind, state: State) u32 {
    assert(generation <= constants.generation_max);
    return generation << 4 | @as(u32, @backingInt(kind)) << 2 | @backingInt(state);
}

fn idOf(slot_index: u32, generation: u32) u32 {
    assert(slot_index < constants.slots_max);
    return generation << constants.slot_bits | slot_index;
}

const Lock = struct {
    fn acquire() Lock {
        // Pairs with the .release store in `release`. Bounded only by the holders, who
        // never block inside the lock except in mmap/munmap.
        while (lock_word.cmpxchgWeak(0, 1, .acquire, .monotonic) != null) std.atomic.spinLoopHint();
        return .{};
    }

    fn release(_: Lock) void {
        lock_word.store(0, .release);
    }
};

/// Stores a new live region and returns its id, or null when every slot is taken.
pub fn insert(region: Region, object: Object) ?u32 {
    const lock = Lock.acquire();
    defer lock.release();
    var probes: u32 = 0;
    while (probes < constants.slots_max) : (probes += 1) {
        const index = (cursor + probes) % constants.slots_max;
        const slot = &slots[index];
        if (slot.tag.load(.monotonic) & 0b11 != @backingInt(State.free)) continue;
        slot.generation = if (slot.generation >= constants.generation_max) 1 else slot.generation + 1;
        slot.region = region;
        slot.object = object;
        // Pairs with the .acquire load in `lookup`.
        slot.tag.store(tagOf(slot.generation, object, .live), .release);
        cursor = (index + 1) % constants.slots_max;
        return idOf(index, slot.generation);
    }
    return null;
}

fn slotOf(id: u32) ?*Slot {
    const index = id & (constants.slots_max - 1);
    const generation = id >> constants.slot_bits;
    if (generation == 0 or generation > constants.generation_max) return null;
    const slot = &slots[index];
    if (slot.tag.load(.acquire) >> 4 != generation) return null;
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
/// (grow). Like every pool operation, only from the thread that owns the pool.
pub fn lookupPool(id: u32) ?struct { pool: *Pool, region: Region } {
    const slot = slotOf(id) orelse return null;
    // Pairs with the .release store in `insert`.
    if (slot.tag.load(.acquire) != tagOf(id >> constants.slot_bits, .pool, .live)) return null;
    return .{ .pool = &slot.object.pool, .region = slot.region };
}

/// The region of a live or retired id.
pub fn regionOf(id: u32) ?Region {
    const slot = slotOf(id) orelse return null;
    const state = slot.tag.load(.acquire) & 0b11;
    if (state == @backingInt(State.free)) return null;
    return slot.region;
}

/// Closes a live id: its pages go back to the kernel, its addresses stay mapped.
pub fn close(id: u32) bool {
    const lock = Lock.acquire();
    defer lock.release();
    const slot = slotOf(id) orelse return false;
    const tag = slot.tag.load(.monotonic);
    if (tag & 0b11 != @backingInt(State.live)) return false;
    slot.tag.store(tag & ~@as(u32, 0b11) | @backingInt(State.retired), .release);
    slot.region.discard();
    return true;
}

/// Unmaps a live or retired id and frees its slot. Only when no view over it can remain.
pub fn release(id: u32) bool {
    const lock = Lock.acquire();
    defer lock.release();
    const slot = slotOf(id) orelse return false;
    const tag = slot.tag.load(.monotonic);
    if (tag & 0b11 == @backingInt(State.free)) return false;
    slot.tag.store(tag & ~@as(u32, 0b11), .release);
    slot.region.unmap();
    slot.region = undefined;
    return true;
}

/// Regions mapped right now, live or retired. For leak checks.
pub fn mappedCount() u32 {
    var count: u32 = 0;
    for (&slots) |*slot| {
        if (slot.tag.load(.acquire) & 0b11 != @backingInt(State.free)) count += 1;
    }
    return count;
}

const testing = std.testing;

test "registry: ids are checked by generation and kind, and release frees the slot" {
    const before = mappedCount();
    const memory = try Region.map(constants.page_bytes);
    const arena = Arena{ .header = @ptrCast(memory.memory.ptr), .capacity = 1 };
    const id = insert(memory, .{ .arena = arena }).?;
    try testing.expect(lookup(id, .arena) != null);
    try testing.expect(lookup(id, .pool) == null);
    try testing.expect(lookup(id ^ (1 << constants.slot_bits), .arena) == null);
    try testing.expect(close(id));
    try testing.expect(!close(id));
    try testing.expect(lookup(id, .arena) == null);
    try testing.expect(regionOf(id) != null);
    try testing.expect(release(id));
    try testing.expect(!release(id));
    try testing.expect(regionOf(id) == null);
    try testing.expectEqual(before, mappedCount());
}
