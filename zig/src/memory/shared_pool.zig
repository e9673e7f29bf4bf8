//! SharedPool's region: fixed-size blocks that every Worker and process attached to the region
//! allocates from at once, lock-free. All state lives in the region, so a region mapped by
//! several processes is one pool:
//!
//!   header | owner byte per block | cache slots (with retire rings) | limbo | home heads | blocks
//!
//! - The free list is a tagged Treiber stack (shared_free_list.zig) linked through the blocks.
//! - Each attached Worker owns one cache slot: a magazine of free handles that its JavaScript
//!   alloc and free use without an FFI call. Refill and flush move half a magazine from and to
//!   the free list in one native call and one CAS.
//! - The owner byte of a block says who has it: 0 while it is on the free list or a home
//!   stack, the cache's index + 1 while it is in that cache's magazine or allocated from it (255:
//!   retired, epochs). Each cache also has a bitmap with the bit of every handle in its
//!   magazine. JavaScript alloc and free write only their own cache's magazine and bitmap (lines
//!   no other Worker writes) and read the owner byte: the owner bytes change only in batch calls
//!   and on frees across Workers, so Workers whose blocks share an owner cache line do not
//!   contend for it.
//! - A block freed by another Worker than its allocator has its byte swapped to 0 by CAS (of two
//!   such frees exactly one wins: double-free detection; a block whose bit says it sits in its
//!   cache is not allocated, so the free is refused) and goes onto its allocator's home stack,
//!   which the allocator pops first when it refills.
//! - Order of the writes, so that nothing is in two places: a refill sets the count, then the
//!   bits, then the owner bytes; a flush or drain swaps each owner byte from its tag to 0, then
//!   clears the bit, and pushes only the blocks whose byte it took (see `release`). A free
//!   across Workers reads the bit, swaps the byte by CAS, reads the bit again: a block sitting
//!   in a magazine has its bit set for as long as its byte carries the cache's tag.
//! - A cache records its owner (pid, tid and their start times). A cache whose owner died
//!   (Worker ended, process killed) is reclaimed: its handles go back to the list.
//! - Growth: the thread that finds the list empty claims the next chunk with one CAS on
//!   `claimed`, commits its pages and pushes it. Nobody waits for it; blocks never move.
//!
//! The region may come from another process: it is untrusted. Its geometry is validated once
//! at open (`checkHeader`) and kept in this process's memory; values read from the shared part
//! afterwards (counts, links, handles) are range-checked before any use.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const free_list = @import("shared_free_list.zig");
const SharedFreeList = free_list.SharedFreeList;
const region_module = @import("region.zig");
const Region = region_module.Region;
const shared_region = @import("shared_region.zig");
const liveness = @import("../system/liveness.zig");
const epochs = @import("shared_epochs.zig");

const layout = @import("shared_pool_layout.zig");
pub const magic = layout.magic;
pub const layout_version = layout.layout_version;
pub const kind_shared_pool = layout.kind_shared_pool;
pub const ready_value = layout.ready_value;
pub const Header = layout.Header;
pub const CacheHeader = layout.CacheHeader;
pub const CacheState = layout.CacheState;
pub const closed_count = layout.closed_count;
pub const handles_word = layout.handles_word;
pub const Params = layout.Params;
pub const owner_retired = layout.owner_retired;
pub const Geometry = layout.Geometry;
pub const OpenError = layout.OpenError;
pub const checkHeader = layout.checkHeader;

pub const Stats = struct {
    capacity: u32,
    capacity_max: u32,
    free_listed: u32,
    cached: u32,
    /// Free blocks on the home stacks (sent home by other Workers' frees).
    homed: u32,
    in_use: u32,
    high_water: u32,
    caches_live: u32,
    caches_dead: u32,
    refills: u64,
    flushes: u64,
    reclaimed_blocks: u64,
    reclaimed_caches: u64,
    failed: u64,
    grows: u64,
    grow_failures: u64,
    retired_freed: u64,
    epoch: u32,
    retired: u64,
    limbo: u32,
    stuck_readers: u32,
    blocking_ms: u32,
    interrupted_batches: u32,
};

pub const CacheToken = struct { index: u32, generation: u32 };

pub const SharedPool = struct {
    geometry: Geometry,
    memory: []align(region_module.page_alignment) u8,
    /// The named file, kept open for growth (fallocate), or -1 for anonymous memory.
    fd: i32,

    pub fn region(pool: *const SharedPool) Region {
        return .{ .memory = pool.memory };
    }

    pub fn header(pool: *const SharedPool) *Header {
        return @ptrCast(pool.memory.ptr);
    }

    pub fn list(pool: *const SharedPool) SharedFreeList {
        const head: *std.atomic.Value(u64) = @ptrCast(&pool.header().free_head);
        return .over(head, .{
            .base = pool.memory.ptr + pool.geometry.blocks_offset,
            .stride = pool.geometry.block_stride,
            .count = pool.geometry.params.capacity_max,
        });
    }

    pub fn owners(pool: *const SharedPool) []u8 {
        return pool.memory[pool.geometry.owners_offset..][0..pool.geometry.params.capacity_max];
    }

    pub fn cache(pool: *const SharedPool, index: u32) *CacheHeader {
        assert(index < pool.geometry.params.caches_max);
        const offset = pool.geometry.caches_offset + index * pool.geometry.cache_stride;
        return @ptrCast(@alignCast(pool.memory.ptr + offset));
    }

    /// Handle slots 1 .. cache_capacity of a cache (slot 0 holds `empty_mark`).
    pub fn slots(pool: *const SharedPool, index: u32) []u32 {
        const words: [*]u32 = @ptrCast(pool.cache(index));
        return words[handles_word - 1 ..][0 .. pool.geometry.params.cache_capacity + 1];
    }

    /// Cache `index`'s bitmap: bit h is set while handle h is in its magazine. Only the cache's
    /// owner writes it (or a reclaimer, once the owner is dead); anyone may read it.
    pub fn bitmap(pool: *const SharedPool, index: u32) []u32 {
        assert(index < pool.geometry.params.caches_max);
        const words = pool.geometry.bitmap_words;
        const offset = pool.geometry.bitmaps_offset + index * words * 4;
        const start: [*]u32 = @ptrCast(@alignCast(pool.memory.ptr + offset));
        return start[0..words];
    }

    /// Whether `handle` sits in the magazine of the cache whose owner byte is `tag`.
    pub fn inMagazine(pool: *const SharedPool, tag: u8, handle: u32) bool {
        assert(handle < pool.geometry.params.capacity_max);
        if (tag == 0 or tag > pool.geometry.params.caches_max) return false;
        const bits = @atomicLoad(u32, &pool.bitmap(tag - 1)[handle >> 5], .acquire);
        return bits & bitOf(handle) != 0;
    }

    fn markInMagazine(pool: *const SharedPool, index: u32, handle: u32, present: bool) void {
        const bits = &pool.bitmap(index)[handle >> 5];
        const old = @atomicLoad(u32, bits, .monotonic);
        @atomicStore(u32, bits, if (present) old | bitOf(handle) else old & ~bitOf(handle), .release);
    }

    /// Takes the owner byte of each of `handles` (in cache `index`'s magazine) from the cache's
    /// tag to 0, then clears its bit. A handle whose byte another Worker's free holds at this
    /// moment is refused: that free raced this cache's own free of the block (the window release
    /// mode does not guard), finds the bit still set and gives the byte back, so the block stays
    /// in this magazine. Refused handles are moved to the front, taken ones after them (by swaps:
    /// an owner killed half-way leaves each handle once). Returns how many were refused.
    fn release(pool: *const SharedPool, index: u32, handles: []u32) u32 {
        const tag: u8 = @intCast(index + 1);
        var refused: u32 = 0;
        for (handles, 0..) |handle, at| {
            if (@cmpxchgStrong(u8, &pool.owners()[handle], tag, 0, .acq_rel, .monotonic) != null) {
                std.mem.swap(u32, &handles[refused], &handles[at]);
                refused += 1;
                continue;
            }
            pool.markInMagazine(index, handle, false);
        }
        return refused;
    }

    /// Formats freshly mapped (zeroed) memory; the region is ready for openers when this returns.
    pub fn format(memory: []align(region_module.page_alignment) u8, geometry: Geometry, fd: i32) SharedPool {
        assert(memory.len == geometry.region_bytes);
        const pool: SharedPool = .{ .geometry = geometry, .memory = memory, .fd = fd };
        const p = geometry.params;
        const h = pool.header();
        h.* = layout.headerFor(geometry, liveness.current().pid);
        h.free_count = p.capacity; // pushed below
        var index: u32 = 0;
        while (index < p.caches_max) : (index += 1) pool.cache(index).empty_mark = layout.empty_mark;
        index = 0;
        while (index < p.caches_max) : (index += 1) pool.home(index).* = free_list.end;
        pool.list().pushRange(0, p.capacity);
        @atomicStore(u32, &h.ready, ready_value, .release);
        return pool;
    }

    /// A pool over a region another creator formatted, with the geometry `checkHeader` gave.
    pub fn over(memory: []align(region_module.page_alignment) u8, geometry: Geometry, fd: i32) SharedPool {
        assert(memory.len == geometry.region_bytes);
        return .{ .geometry = geometry, .memory = memory, .fd = fd };
    }

    /// Claims a free cache slot for the calling thread; null when every slot is taken by a
    /// live owner (after reclaiming those of dead ones).
    pub fn claimCache(pool: *const SharedPool) ?CacheToken {
        for (0..2) |attempt| {
            var index: u32 = 0;
            while (index < pool.geometry.params.caches_max) : (index += 1) {
                const slot = pool.cache(index);
                const state = @atomicLoad(u32, &slot.state, .acquire);
                if (stateOf(state) != .free) continue;
                const generation = generationOf(state) +% 1 & generation_mask;
                if (@cmpxchgStrong(u32, &slot.state, state, word(generation, .busy), .acq_rel, .monotonic) != null) continue;
                slot.owner = liveness.current();
                slot.owner_tag = index + 1;
                for (pool.bitmap(index)) |*bits| @atomicStore(u32, bits, 0, .release);
                @atomicStore(u32, &slot.epoch, 0, .seq_cst);
                @atomicStore(u32, &slot.retired, 0, .release);
                @atomicStore(u32, &slot.blocking_since_ms, 0, .monotonic);
                @atomicStore(u32, &slot.transit, 0, .release);
                slot.empty_mark = layout.empty_mark;
                @atomicStore(u32, &slot.count, 0, .release);
                @atomicStore(u32, &slot.state, word(generation, .live), .release);
                return .{ .index = index, .generation = generation };
            }
            if (attempt == 0) _ = pool.reclaimAbandoned();
        }
        return null;
    }

    /// Gives a cache's handles back and closes it (`count` reads `closed_count`); the slot is
    /// freed by `releaseCache` once no view of it can remain. False if `token` is stale.
    pub fn closeCache(pool: *const SharedPool, token: CacheToken) error{Corrupted}!bool {
        if (!tokenValid(pool, token)) return false;
        const slot = pool.cache(token.index);
        const live = word(token.generation, .live);
        if (@cmpxchgStrong(u32, &slot.state, live, word(token.generation, .busy), .acq_rel, .monotonic) != null) return false;
        const drained = pool.drain(token.index);
        // Every bit clear, even if the drain found the magazine overwritten: a JavaScript alloc
        // through a kept object then reads "not in the magazine" and reports CLOSED.
        for (pool.bitmap(token.index)) |*bits| @atomicStore(u32, bits, 0, .release);
        _ = pool.drainHome(token.index);
        const parked = epochs.park(pool, token.index);
        @atomicStore(u32, &slot.count, closed_count, .release);
        @atomicStore(u32, &slot.state, word(token.generation, .closed), .release);
        _ = try drained;
        _ = try parked;
        return true;
    }

    /// Frees a cache slot whose views are gone (its realm's buffer was collected): drains it
    /// if it was never closed. False if `token` is stale.
    pub fn releaseCache(pool: *const SharedPool, token: CacheToken) bool {
        if (!tokenValid(pool, token)) return false;
        const slot = pool.cache(token.index);
        _ = pool.closeCache(token) catch {};
        const closed = word(token.generation, .closed);
        return @cmpxchgStrong(u32, &slot.state, closed, word(token.generation, .free), .acq_rel, .monotonic) == null;
    }

    /// After the region was replaced by private zero pages (the last realm detached while views
    /// remain): every cache reads closed again, so a JavaScript alloc or free through a stale
    /// view takes its slow path and reports CLOSED instead of reading a zero as a handle.
    pub fn markRetired(pool: *const SharedPool) void {
        var index: u32 = 0;
        while (index < pool.geometry.params.caches_max) : (index += 1) {
            const slot = pool.cache(index);
            slot.count = closed_count;
            slot.empty_mark = layout.empty_mark;
        }
    }

    /// Returns every cache of a dead owner to the free list; how many blocks came back.
    pub fn reclaimAbandoned(pool: *const SharedPool) u64 {
        var blocks: u64 = 0;
        var index: u32 = 0;
        while (index < pool.geometry.params.caches_max) : (index += 1) {
            const slot = pool.cache(index);
            const state = @atomicLoad(u32, &slot.state, .acquire);
            const kind = stateOf(state);
            // Blocks freed by other Workers after this cache closed went to its home stack,
            // which nobody pops any more: back to the list.
            if ((kind == .free or kind == .closed) and @atomicLoad(u32, pool.home(index), .acquire) != free_list.end) {
                const moved = pool.drainHome(index);
                blocks += moved;
                _ = @atomicRmw(u64, &pool.header().reclaimed_blocks, .Add, moved, .monotonic);
            }
            if (kind != .live and kind != .closed) continue;
            if (liveness.check(slot.owner) != .dead) continue;
            if (@cmpxchgStrong(u32, &slot.state, state, word(generationOf(state), .busy), .acq_rel, .monotonic) != null) continue;
            if (@atomicLoad(u32, &slot.transit, .acquire) != 0) {
                _ = @atomicRmw(u32, &pool.header().interrupted_batches, .Add, 1, .monotonic);
                @atomicStore(u32, &slot.transit, 0, .release);
            }
            const drained = (if (kind == .live) pool.drain(index) catch 0 else 0) + pool.drainHome(index);
            _ = epochs.park(pool, index) catch 0;
            @atomicStore(u32, &slot.count, 0, .release);
            @atomicStore(u32, &slot.state, word(generationOf(state), .free), .release);
            blocks += drained;
            _ = @atomicRmw(u64, &pool.header().reclaimed_blocks, .Add, drained, .monotonic);
            _ = @atomicRmw(u64, &pool.header().reclaimed_caches, .Add, 1, .monotonic);
        }
        return blocks;
    }

    /// Pushes every handle of a cache this thread holds busy; returns how many. A handle whose
    /// owner byte does not carry the cache's tag is left out: a racing free across Workers holds
    /// it (see `release`), or its owner stopped inside a refill (recover() finds it).
    fn drain(pool: *const SharedPool, index: u32) error{Corrupted}!u32 {
        const slot = pool.cache(index);
        const count = @atomicLoad(u32, &slot.count, .acquire);
        if (count == 0 or count == closed_count) return 0;
        if (count > pool.geometry.params.cache_capacity) return error.Corrupted;
        const handles = pool.slots(index)[1..][0..count];
        try pool.checkHandles(handles);
        // Owner bytes, then the count, then the push: a drainer killed on the way strands the
        // batch (recover() finds it) but never leaves it both cached and listed.
        @atomicStore(u32, &slot.transit, 1, .release);
        const taken = handles[pool.release(index, handles)..];
        @atomicStore(u32, &slot.count, 0, .release);
        if (taken.len > 0) pool.list().pushBatch(taken);
        _ = @atomicRmw(u32, &pool.header().free_count, .Add, @intCast(taken.len), .monotonic);
        @atomicStore(u32, &slot.transit, 0, .release);
        return @intCast(taken.len);
    }

    /// Handles just popped must be committed and free, each once: a free list that another
    /// process overwrote (a head or link naming an allocated block, a loop) is reported here
    /// instead of handing a block out twice. Duplicates are found by marking owner bytes for
    /// the length of the check (the blocks are this caller's alone now).
    fn checkPopped(pool: *const SharedPool, handles: []const u32) error{Corrupted}!void {
        const committed = @atomicLoad(u32, &pool.header().committed, .acquire);
        const bytes = pool.owners();
        var marked: usize = 0;
        defer for (handles[0..marked]) |handle| @atomicStore(u8, &bytes[handle], 0, .release);
        for (handles) |handle| {
            if (handle >= committed or handle >= bytes.len) return error.Corrupted;
            if (@atomicLoad(u8, &bytes[handle], .acquire) != 0) return error.Corrupted;
            @atomicStore(u8, &bytes[handle], owner_retired, .release);
            marked += 1;
        }
    }

    fn checkHandles(pool: *const SharedPool, handles: []const u32) error{Corrupted}!void {
        for (handles) |handle| {
            if (handle >= pool.geometry.params.capacity_max) return error.Corrupted;
        }
    }

    /// Fills cache `index` to half its capacity from the free list, growing the pool or
    /// reclaiming abandoned caches when the list is empty; returns the cache's new count (0:
    /// no block anywhere, counted as a failed allocation).
    /// The head of cache `index`'s home stack: blocks this cache's Worker allocated that other
    /// Workers freed, sent home so that a Worker's blocks stay its own (their owner bytes stay on
    /// lines it alone writes). Any thread pushes (CAS, link in the block's first word, from
    /// JavaScript); only the cache's owner pops, one at a time, so a popped block cannot come back
    /// under a pop in flight (no ABA); a reclaimer takes a dead or closed cache's stack whole.
    pub fn home(pool: *const SharedPool, index: u32) *u32 {
        assert(index < pool.geometry.params.caches_max);
        const offset = pool.geometry.homes_offset + index * constants.cache_line_bytes;
        return @ptrCast(@alignCast(pool.memory.ptr + offset));
    }

    /// Pops up to `out.len` blocks from cache `index`'s home stack (its owner only).
    fn popHome(pool: *const SharedPool, index: u32, out: []u32) error{Corrupted}!u32 {
        const head = pool.home(index);
        const links = pool.list().links;
        var got: u32 = 0;
        while (got < out.len) {
            const top = @atomicLoad(u32, head, .acquire);
            if (top == free_list.end) break;
            if (top >= links.count) return error.Corrupted;
            const below = links.at(top).load(.monotonic);
            if (@cmpxchgWeak(u32, head, top, below, .acq_rel, .monotonic) != null) continue;
            out[got] = top;
            got += 1;
        }
        return got;
    }

    /// Moves a dead or closed cache's whole home stack to the free list; returns how many.
    fn drainHome(pool: *const SharedPool, index: u32) u32 {
        const links = pool.list().links;
        var cursor = @atomicRmw(u32, pool.home(index), .Xchg, free_list.end, .acq_rel);
        var batch: [256]u32 = undefined;
        var batched: usize = 0;
        var moved: u32 = 0;
        var steps: u32 = 0;
        while (cursor != free_list.end and cursor < links.count and steps < links.count) : (steps += 1) {
            batch[batched] = cursor;
            batched += 1;
            cursor = links.at(cursor).load(.monotonic);
            if (batched == batch.len) {
                pool.list().pushBatch(&batch);
                moved += batch.len;
                batched = 0;
            }
        }
        if (batched > 0) pool.list().pushBatch(batch[0..batched]);
        moved += @intCast(batched);
        _ = @atomicRmw(u32, &pool.header().free_count, .Add, moved, .monotonic);
        return moved;
    }

    /// Blocks on every home stack (walked, bounded): for stats and checks.
    pub fn homed(pool: *const SharedPool, seen: ?*std.DynamicBitSetUnmanaged) error{Corrupted}!u32 {
        const links = pool.list().links;
        var total: u32 = 0;
        var index: u32 = 0;
        while (index < pool.geometry.params.caches_max) : (index += 1) {
            var cursor = @atomicLoad(u32, pool.home(index), .acquire);
            var steps: u32 = 0;
            while (cursor != free_list.end) : (steps += 1) {
                if (cursor >= links.count or steps >= links.count) return error.Corrupted;
                if (seen) |bits| {
                    if (cursor >= bits.bit_length or bits.isSet(cursor)) return error.Corrupted;
                    if (pool.owners()[cursor] != 0) return error.Corrupted;
                    bits.set(cursor);
                }
                total += 1;
                cursor = links.at(cursor).load(.monotonic);
            }
        }
        return total;
    }

    pub fn refill(pool: *const SharedPool, index: u32) error{ Corrupted, Closed }!u32 {
        const slot = pool.cache(index);
        if (stateOf(@atomicLoad(u32, &slot.state, .acquire)) != .live) return error.Closed;
        const count = @atomicLoad(u32, &slot.count, .acquire);
        if (count > pool.geometry.params.cache_capacity) return error.Corrupted;
        const target = pool.geometry.params.cache_capacity / 2;
        if (count >= target) return count;
        const space = pool.slots(index)[1 + count .. 1 + target];
        @atomicStore(u32, &slot.transit, 1, .release);
        defer @atomicStore(u32, &slot.transit, 0, .release);
        // Home first: this Worker's own blocks, back from other Workers' frees.
        const from_home = try pool.popHome(index, space);
        const rest = space[from_home..];
        var listed: u32 = 0;
        if (rest.len > 0) {
            listed = try pool.list().popBatch(rest);
            if (listed == 0 and from_home == 0 and pool.grow()) listed = try pool.list().popBatch(rest);
            if (listed == 0 and from_home == 0 and pool.reclaimAbandoned() > 0) listed = try pool.list().popBatch(rest);
        }
        const got = from_home + listed;
        const h = pool.header();
        if (got == 0) {
            _ = @atomicRmw(u64, &h.failed, .Add, 1, .monotonic);
            return count;
        }
        try pool.checkPopped(space[0..got]);
        var highest: u32 = 0;
        for (space[0..got]) |handle| highest = @max(highest, handle + 1);
        _ = @atomicRmw(u32, &h.high_water, .Max, highest, .monotonic);
        _ = @atomicRmw(u32, &h.free_count, .Sub, listed, .monotonic);
        _ = @atomicRmw(u64, &h.refills, .Add, 1, .monotonic);
        // The count, then the bits, then the owner bytes: a free across Workers that reads this
        // cache's tag then finds the bit and refuses; an owner killed half-way leaves blocks
        // that drain() or recover() frees.
        @atomicStore(u32, &slot.count, count + got, .release);
        for (space[0..got]) |handle| pool.markInMagazine(index, handle, true);
        const tag: u8 = @intCast(index + 1);
        for (space[0..got]) |handle| @atomicStore(u8, &pool.owners()[handle], tag, .release);
        return count + got;
    }

    /// Moves the top of a full cache (all but half its capacity) back to the free list;
    /// returns the cache's new count.
    pub fn flush(pool: *const SharedPool, index: u32) error{ Corrupted, Closed }!u32 {
        const slot = pool.cache(index);
        if (stateOf(@atomicLoad(u32, &slot.state, .acquire)) != .live) return error.Closed;
        const count = @atomicLoad(u32, &slot.count, .acquire);
        if (count > pool.geometry.params.cache_capacity) return error.Corrupted;
        const keep = pool.geometry.params.cache_capacity / 2;
        if (count <= keep) return count;
        const handles = pool.slots(index)[1 + keep .. 1 + count];
        try pool.checkHandles(handles);
        // The owner bytes and the count first: an owner killed before the push strands the
        // batch (recover() finds it) instead of leaving it both in its cache and on the list
        // (given out twice).
        @atomicStore(u32, &slot.transit, 1, .release);
        const refused = pool.release(index, handles);
        const taken = handles[refused..];
        // Refused handles stay in the magazine, right above the kept half.
        @atomicStore(u32, &slot.count, keep + refused, .release);
        if (taken.len > 0) pool.list().pushBatch(taken);
        const h = pool.header();
        _ = @atomicRmw(u32, &h.free_count, .Add, @intCast(taken.len), .monotonic);
        _ = @atomicRmw(u64, &h.flushes, .Add, 1, .monotonic);
        @atomicStore(u32, &slot.transit, 0, .release);
        return keep + refused;
    }

    /// Commits the next chunk if the pool may grow: whoever wins the CAS on `claimed` commits
    /// it; others carry on (a loser may claim the chunk after). False when at the maximum or
    /// when the kernel (or /dev/shm) refuses the pages, which gives the claim back.
    pub fn grow(pool: *const SharedPool) bool {
        const p = pool.geometry.params;
        if (p.grow_chunk == 0) return false;
        const h = pool.header();
        var claimed = @atomicLoad(u32, &h.claimed, .acquire);
        while (true) {
            if (claimed < p.capacity or claimed >= p.capacity_max) return false;
            const next = @min(claimed + p.grow_chunk, p.capacity_max);
            claimed = @cmpxchgWeak(u32, &h.claimed, claimed, next, .acq_rel, .acquire) orelse {
                if (!pool.commit(claimed, next)) {
                    _ = @cmpxchgStrong(u32, &h.claimed, next, claimed, .acq_rel, .monotonic);
                    _ = @atomicRmw(u64, &h.grow_failures, .Add, 1, .monotonic);
                    return false;
                }
                pool.list().pushRange(claimed, next - claimed);
                _ = @atomicRmw(u32, &h.free_count, .Add, next - claimed, .monotonic);
                _ = @atomicRmw(u32, &h.committed, .Add, next - claimed, .monotonic);
                _ = @atomicRmw(u64, &h.grows, .Add, 1, .monotonic);
                return true;
            };
        }
    }

    pub fn commit(pool: *const SharedPool, from_block: u32, to_block: u32) bool {
        const from = pool.geometry.committedBytes(from_block);
        const to = pool.geometry.committedBytes(to_block);
        if (to <= from) return true;
        const start = std.mem.alignBackward(u64, from, constants.page_bytes);
        if (pool.fd >= 0) shared_region.allocateFd(pool.fd, start, to) catch return false;
        pool.region().populate(start, to) catch return false;
        return true;
    }

    /// A snapshot: exact while nothing runs, each counter exact on its own under concurrency.
    pub fn stats(pool: *const SharedPool) Stats {
        const h = pool.header();
        const p = pool.geometry.params;
        var result = std.mem.zeroes(Stats);
        result.capacity = @min(@atomicLoad(u32, &h.committed, .acquire), p.capacity_max);
        result.capacity_max = p.capacity_max;
        result.free_listed = @atomicLoad(u32, &h.free_count, .monotonic);
        result.homed = pool.homed(null) catch 0;
        result.high_water = @atomicLoad(u32, &h.high_water, .monotonic);
        result.interrupted_batches = @atomicLoad(u32, &h.interrupted_batches, .monotonic);
        // The header's batch counters, under the same names.
        const counters = .{
            "refills", "flushes", "reclaimed_blocks", "reclaimed_caches", "failed", "grows", "grow_failures", "retired_freed",
        };
        inline for (counters) |name| @field(result, name) = @atomicLoad(u64, &@field(h, name), .monotonic);
        const epoch_stats = epochs.stats(pool);
        inline for (@typeInfo(epochs.EpochStats).@"struct".field_names) |name| {
            @field(result, name) = @field(epoch_stats, name);
        }
        var index: u32 = 0;
        while (index < p.caches_max) : (index += 1) {
            const slot = pool.cache(index);
            if (stateOf(@atomicLoad(u32, &slot.state, .acquire)) != .live) continue;
            const count = @atomicLoad(u32, &slot.count, .monotonic);
            if (count <= p.cache_capacity) result.cached += count;
            if (liveness.check(slot.owner) == .dead) result.caches_dead += 1 else result.caches_live += 1;
        }
        const accounted = @as(u64, result.free_listed) + result.cached + result.homed;
        result.in_use = if (accounted >= result.capacity) 0 else result.capacity - @as(u32, @intCast(accounted));
        return result;
    }

    /// While nothing runs: every committed handle is exactly once on the free list (owner byte
    /// 0), on a home stack (0), in a live cache (its tag, its bit set) or allocated (a tag, the
    /// bit clear; or retired), and the free count agrees. Returns the blocks in use, or
    /// error.Corrupted. Uses one bit per block of scratch memory from `allocator`.
    pub fn verify(pool: *const SharedPool, allocator: std.mem.Allocator) (error{Corrupted} || std.mem.Allocator.Error)!u32 {
        const p = pool.geometry.params;
        const committed = @atomicLoad(u32, &pool.header().committed, .acquire);
        if (committed > p.capacity_max) return error.Corrupted;
        const bytes = pool.owners();
        var seen = try std.DynamicBitSetUnmanaged.initEmpty(allocator, committed);
        defer seen.deinit(allocator);
        var listed: u32 = 0;
        var cursor = (@as(free_list.Head, @bitCast(@atomicLoad(u64, &pool.header().free_head, .acquire)))).top;
        while (cursor != free_list.end) : (listed += 1) {
            try pool.mark(&seen, cursor, committed);
            if (bytes[cursor] != 0) return error.Corrupted;
            cursor = pool.list().links.at(cursor).load(.monotonic);
        }
        if (listed != @atomicLoad(u32, &pool.header().free_count, .monotonic)) return error.Corrupted;
        var cached: u32 = 0;
        var index: u32 = 0;
        while (index < p.caches_max) : (index += 1) {
            var bits: u32 = 0;
            for (pool.bitmap(index)) |bitmap_word| bits += @popCount(bitmap_word);
            const slot = pool.cache(index);
            if (stateOf(@atomicLoad(u32, &slot.state, .acquire)) != .live) {
                if (bits != 0) return error.Corrupted;
                continue;
            }
            const count = @atomicLoad(u32, &slot.count, .acquire);
            if (count > p.cache_capacity or bits != count) return error.Corrupted;
            for (pool.slots(index)[1..][0..count]) |handle| {
                try pool.mark(&seen, handle, committed);
                if (bytes[handle] != index + 1 or !pool.inMagazine(@intCast(index + 1), handle)) return error.Corrupted;
            }
            cached += count;
        }
        const at_home = try pool.homed(&seen);
        var in_use: u32 = 0;
        for (bytes[0..committed], 0..) |owner, handle| {
            if (owner == 0 or seen.isSet(handle)) continue;
            if (pool.inMagazine(owner, @intCast(handle))) return error.Corrupted;
            in_use += 1;
        }
        if (listed + at_home + in_use + cached != committed) return error.Corrupted;
        return in_use;
    }

    fn mark(pool: *const SharedPool, seen: *std.DynamicBitSetUnmanaged, handle: u32, committed: u32) error{Corrupted}!void {
        _ = pool;
        if (handle >= committed or seen.isSet(handle)) return error.Corrupted;
        seen.set(handle);
    }
};

const generation_mask: u32 = (1 << 22) - 1;

fn bitOf(handle: u32) u32 {
    return @as(u32, 1) << @as(u5, @truncate(handle));
}

fn word(generation: u32, state: CacheState) u32 {
    assert(generation <= generation_mask);
    return generation << 2 | @as(u32, @backingInt(state));
}

/// The generation of a state word read from the region: masked, since a hostile process may
/// have set any bit.
fn generationOf(state: u32) u32 {
    return state >> 2 & generation_mask;
}

/// A token names a cache slot of this pool with a generation a state word can hold.
fn tokenValid(pool: *const SharedPool, token: CacheToken) bool {
    return token.index < pool.geometry.params.caches_max and token.generation <= generation_mask;
}

/// The cache slot `token` names, if it is live with that generation (a stale token names a
/// slot another Worker may have claimed since).
pub fn liveSlot(pool: *const SharedPool, token: CacheToken) ?*CacheHeader {
    if (!tokenValid(pool, token)) return null;
    const slot = pool.cache(token.index);
    if (@atomicLoad(u32, &slot.state, .acquire) != word(token.generation, .live)) return null;
    return slot;
}

pub fn stateOf(value: u32) CacheState {
    return @fromBackingInt(@as(u2, @truncate(value)));
}
