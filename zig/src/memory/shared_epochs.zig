//! Epoch-based reclamation for SharedPool: a Worker that removes a record from a shared
//! structure retires its block instead of freeing it, and the block is freed only once every
//! Worker (or process) that was reading at that time has finished reading.
//!
//! - The header holds the global epoch G (never 0). A reader's cache header holds the epoch it
//!   entered, or 0 outside (its JavaScript `enter()`/`exit()` store it with Atomics.store).
//! - `retire` (JavaScript) appends (handle, G) to its cache's bounded ring and sets the block's
//!   owner byte to `owner_retired`.
//! - A collector advances G when every reader inside is at G (a reader found dead is cleared),
//!   and frees the entries retired at least two epochs ago: no reader inside then can still
//!   hold a reference to them (Fraser's epochs, as crossbeam-epoch does it).
//! - A cache that closes or whose owner died parks what it could not free yet in the region's
//!   limbo table, which every collector drains.
//! - A reader that blocks advancing is timed (`blocking_since_ms`): stats call it stuck after
//!   `stuck_ms`, and a ring that stays full reports it instead of growing.
const std = @import("std");
const assert = std.debug.assert;
const shared_pool = @import("shared_pool.zig");
const SharedPool = shared_pool.SharedPool;
const liveness = @import("../system/liveness.zig");
const clock = @import("../system/clock.zig");

pub const Entry = extern struct { handle: u32, epoch: u32 };

/// A reader blocking advances for this long is reported stuck.
pub const stuck_ms: u32 = 100;

/// Handles freed per push: bounds the stack buffer of a collection.
const free_batch = 256;

pub fn ring(pool: *const SharedPool, index: u32) []Entry {
    const base: [*]u8 = @ptrCast(pool.cache(index));
    const entries: [*]Entry = @ptrCast(@alignCast(base + pool.geometry.retire_offset));
    return entries[0..pool.geometry.params.retire_capacity];
}

fn limbo(pool: *const SharedPool) []u64 {
    const entries: [*]u64 = @ptrCast(@alignCast(pool.memory.ptr + pool.geometry.limbo_offset));
    return entries[0..pool.geometry.limbo_entries];
}

/// True when a block retired at `retired` may be freed under global epoch `global`.
fn safe(global: u32, retired: u32) bool {
    const age = global -% retired;
    return age >= 2 and age < 1 << 31;
}

fn nextEpoch(epoch: u32) u32 {
    return if (epoch +% 1 == 0) 1 else epoch + 1;
}

fn nowMs() u32 {
    const ms: u64 = @intFromFloat(clock.nowNs() / 1e6);
    return @as(u32, @truncate(ms)) | 1;
}

/// Advances the global epoch if every reader inside has seen it; true if it advanced.
pub fn tryAdvance(pool: *const SharedPool) bool {
    const header = pool.header();
    const global = @atomicLoad(u32, &header.epoch, .seq_cst);
    var index: u32 = 0;
    var blocked = false;
    while (index < pool.geometry.params.caches_max) : (index += 1) {
        const slot = pool.cache(index);
        const entered = @atomicLoad(u32, &slot.epoch, .seq_cst);
        if (entered == 0 or entered == global) {
            @atomicStore(u32, &slot.blocking_since_ms, 0, .monotonic);
            continue;
        }
        // A reader blocks while its epoch is behind. Only one that has blocked for `stuck_ms`
        // is checked for life (procfs reads): the common short wait costs no system call.
        const since = @atomicLoad(u32, &slot.blocking_since_ms, .monotonic);
        if (since == 0) {
            @atomicStore(u32, &slot.blocking_since_ms, nowMs(), .monotonic);
        } else if (nowMs() -% since >= stuck_ms and liveness.check(slot.owner) == .dead) {
            _ = @cmpxchgStrong(u32, &slot.epoch, entered, 0, .seq_cst, .monotonic);
            continue;
        }
        blocked = true;
    }
    if (blocked) return false;
    return @cmpxchgStrong(u32, &header.epoch, global, nextEpoch(global), .seq_cst, .monotonic) == null;
}

/// Frees retired blocks: each must carry `owner_retired`, or the owner byte of a block whose
/// retiring Worker stopped between writing the entry and marking the block (it is freed all the
/// same: it was being retired). A block already free (owner byte 0, or in a cache's magazine) is
/// skipped and reported as corruption.
fn freeRetired(pool: *const SharedPool, handles: []const u32) error{Corrupted}!void {
    if (handles.len == 0) return;
    var corrupted = false;
    var kept: [free_batch]u32 = undefined;
    var count: usize = 0;
    for (handles) |handle| {
        if (handle >= pool.geometry.params.capacity_max) {
            corrupted = true;
            continue;
        }
        // Not free already: not 0, and not a block sitting in a cache's magazine.
        const owner = @atomicLoad(u8, &pool.owners()[handle], .acquire);
        if (owner == 0 or pool.inMagazine(owner, handle)) {
            corrupted = true;
            continue;
        }
        if (@cmpxchgStrong(u8, &pool.owners()[handle], owner, 0, .acq_rel, .monotonic) != null) {
            corrupted = true;
            continue;
        }
        kept[count] = handle;
        count += 1;
    }
    if (count > 0) {
        pool.list().pushBatch(kept[0..count]);
        const header = pool.header();
        _ = @atomicRmw(u32, &header.free_count, .Add, @intCast(count), .monotonic);
        _ = @atomicRmw(u64, &header.retired_freed, .Add, count, .monotonic);
    }
    if (corrupted) return error.Corrupted;
}

/// Frees the safe entries of cache `index`'s ring (which the caller owns) and compacts it;
/// returns how many remain.
fn sweepRing(pool: *const SharedPool, index: u32) error{Corrupted}!u32 {
    const slot = pool.cache(index);
    const count = @atomicLoad(u32, &slot.retired, .acquire);
    if (count > pool.geometry.params.retire_capacity) return error.Corrupted;
    const entries = ring(pool, index);
    const global = @atomicLoad(u32, &pool.header().epoch, .seq_cst);
    var batch: [free_batch]u32 = undefined;
    var batched: usize = 0;
    var kept: u32 = 0;
    var failure: ?error{Corrupted} = null;
    for (entries[0..count]) |entry| {
        if (!safe(global, entry.epoch)) {
            entries[kept] = entry;
            kept += 1;
            continue;
        }
        batch[batched] = entry.handle;
        batched += 1;
        if (batched == free_batch) {
            freeRetired(pool, batch[0..batched]) catch |err| {
                failure = err;
            };
            batched = 0;
        }
    }
    freeRetired(pool, batch[0..batched]) catch |err| {
        failure = err;
    };
    @atomicStore(u32, &slot.retired, kept, .release);
    if (failure) |err| return err;
    return kept;
}

/// Frees the safe entries of the limbo table. Any thread; each entry is taken by one CAS.
fn sweepLimbo(pool: *const SharedPool) error{Corrupted}!void {
    const header = pool.header();
    if (@atomicLoad(u32, &header.limbo_count, .acquire) == 0) return;
    const global = @atomicLoad(u32, &header.epoch, .seq_cst);
    var failure: ?error{Corrupted} = null;
    for (limbo(pool)) |*entry| {
        const value = @atomicLoad(u64, entry, .acquire);
        if (value == 0 or !safe(global, @truncate(value >> 32))) continue;
        if (@cmpxchgStrong(u64, entry, value, 0, .acq_rel, .monotonic) != null) continue;
        _ = @atomicRmw(u32, &header.limbo_count, .Sub, 1, .monotonic);
        const handle: u32 = @as(u32, @truncate(value)) -% 1;
        freeRetired(pool, &.{handle}) catch |err| {
            failure = err;
        };
    }
    if (failure) |err| return err;
}

/// Collects for cache `index` (its owner calls this when its ring fills): advances the epoch
/// as far as readers allow (at most twice) and frees what is safe. Returns the entries left.
pub fn collect(pool: *const SharedPool, index: u32) error{ Corrupted, Closed }!u32 {
    const slot = pool.cache(index);
    if (@as(u2, @truncate(@atomicLoad(u32, &slot.state, .acquire))) != 1) return error.Closed;
    _ = tryAdvance(pool) and tryAdvance(pool);
    try sweepLimbo(pool);
    return sweepRing(pool, index);
}

/// Moves what cache `index` (held busy by the caller) could not free yet into the limbo table,
/// and marks its owner outside any epoch. Returns the entries that found no room (they stay in
/// the ring, and their blocks stay retired: counted, never handed out twice).
pub fn park(pool: *const SharedPool, index: u32) error{Corrupted}!u32 {
    const slot = pool.cache(index);
    @atomicStore(u32, &slot.epoch, 0, .seq_cst);
    _ = tryAdvance(pool) and tryAdvance(pool);
    const remaining = try sweepRing(pool, index);
    const entries = ring(pool, index);
    var left: u32 = 0;
    const table = limbo(pool);
    for (entries[0..remaining]) |entry| {
        const value = @as(u64, entry.epoch) << 32 | (entry.handle +% 1);
        const placed = for (table) |*cell| {
            if (@cmpxchgStrong(u64, cell, 0, value, .acq_rel, .monotonic) == null) break true;
        } else false;
        if (placed) {
            _ = @atomicRmw(u32, &pool.header().limbo_count, .Add, 1, .monotonic);
        } else {
            entries[left] = entry;
            left += 1;
        }
    }
    @atomicStore(u32, &slot.retired, left, .release);
    return left;
}

pub const EpochStats = struct {
    epoch: u32,
    retired: u64,
    limbo: u32,
    stuck_readers: u32,
    /// Milliseconds the longest-blocking reader has held back reclamation.
    blocking_ms: u32,
};

pub fn stats(pool: *const SharedPool) EpochStats {
    const header = pool.header();
    var result: EpochStats = .{
        .epoch = @atomicLoad(u32, &header.epoch, .acquire),
        .retired = 0,
        .limbo = @atomicLoad(u32, &header.limbo_count, .monotonic),
        .stuck_readers = 0,
        .blocking_ms = 0,
    };
    result.retired = result.limbo;
    const now = nowMs();
    var index: u32 = 0;
    while (index < pool.geometry.params.caches_max) : (index += 1) {
        const slot = pool.cache(index);
        const retired = @atomicLoad(u32, &slot.retired, .monotonic);
        if (retired <= pool.geometry.params.retire_capacity) result.retired += retired;
        const since = @atomicLoad(u32, &slot.blocking_since_ms, .monotonic);
        if (since == 0 or @atomicLoad(u32, &slot.epoch, .monotonic) == 0) continue;
        const blocking = now -% since;
        result.blocking_ms = @max(result.blocking_ms, blocking);
        if (blocking >= stuck_ms) result.stuck_readers += 1;
    }
    return result;
}

test "epochs: age arithmetic wraps and skips 0" {
    try std.testing.expect(safe(5, 3));
    try std.testing.expect(!safe(5, 4));
    try std.testing.expect(!safe(5, 5));
    try std.testing.expect(safe(1, std.math.maxInt(u32) - 1));
    try std.testing.expectEqual(@as(u32, 1), nextEpoch(std.math.maxInt(u32)));
    assert(nextEpoch(1) == 2);
}
