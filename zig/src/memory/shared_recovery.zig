//! Recovery of a SharedPool after a process was killed inside a native batch call.
//!
//! Every move of handles between a cache and the free list is ordered so that an owner killed
//! half-way strands the batch (the handles are on no list and in no cache) rather than leaving
//! it in two places, which would hand blocks out twice. So does a growth whose chunk was
//! claimed but not yet pushed. Such strays cannot be told from blocks in flight while other
//! threads run, so they are returned by `recover`, which runs only when every other cache of
//! the pool belongs to a dead owner: with nobody else acting, a free block (owner byte 0) that
//! is neither on the list nor in the caller's cache is a stray.
const std = @import("std");
const assert = std.debug.assert;
const free_list = @import("shared_free_list.zig");
const shared_pool = @import("shared_pool.zig");
const SharedPool = shared_pool.SharedPool;
const liveness = @import("../system/liveness.zig");

pub const Error = error{ Busy, Corrupted, OutOfMemory };

/// Returns stranded blocks to the free list and resets the free count; returns how many came
/// back. error.Busy while any other open cache's owner runs (or may: unknown counts as alive).
pub fn recover(pool: *const SharedPool, mine: u32, allocator: std.mem.Allocator) Error!u32 {
    const p = pool.geometry.params;
    assert(mine < p.caches_max);
    var index: u32 = 0;
    while (index < p.caches_max) : (index += 1) {
        if (index == mine) continue;
        const slot = pool.cache(index);
        const state = shared_pool.stateOf(@atomicLoad(u32, &slot.state, .acquire));
        // A closed cache moves nothing any more, whoever owns it.
        if (state == .free or state == .closed) continue;
        if (liveness.check(slot.owner) != .dead) return error.Busy;
    }
    _ = pool.reclaimAbandoned();
    const header = pool.header();
    // A growth claimed but never pushed: commit its pages (idempotent) so its blocks can be swept.
    const claimed = @min(@atomicLoad(u32, &header.claimed, .acquire), p.capacity_max);
    if (claimed > @atomicLoad(u32, &header.committed, .acquire)) {
        if (!pool.commit(0, claimed)) return error.OutOfMemory;
        @atomicStore(u32, &header.committed, claimed, .release);
    }
    const committed = @min(@atomicLoad(u32, &header.committed, .acquire), p.capacity_max);
    var seen = try std.DynamicBitSetUnmanaged.initEmpty(allocator, committed);
    defer seen.deinit(allocator);
    var listed: u32 = 0;
    var cursor = (@as(free_list.Head, @bitCast(@atomicLoad(u64, &header.free_head, .acquire)))).top;
    while (cursor != free_list.end) : (listed += 1) {
        if (cursor >= committed or seen.isSet(cursor)) return error.Corrupted;
        seen.set(cursor);
        cursor = pool.list().links.at(cursor).load(.monotonic);
    }
    _ = pool.homed(&seen) catch return error.Corrupted;
    const count = @atomicLoad(u32, &pool.cache(mine).count, .acquire);
    if (count <= p.cache_capacity) {
        for (pool.slots(mine)[1..][0..count]) |handle| {
            if (handle < committed) seen.set(handle);
        }
    }
    var strays: u32 = 0;
    var batch: [256]u32 = undefined;
    var batched: usize = 0;
    for (pool.owners()[0..committed], 0..) |owner, handle| {
        if (owner != 0 or seen.isSet(handle)) continue;
        batch[batched] = @intCast(handle);
        batched += 1;
        strays += 1;
        if (batched == batch.len) {
            pool.list().pushBatch(&batch);
            batched = 0;
        }
    }
    if (batched > 0) pool.list().pushBatch(batch[0..batched]);
    @atomicStore(u32, &header.free_count, listed + strays, .release);
    return strays;
}
