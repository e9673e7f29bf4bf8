//! Model and thread tests of SharedPool (shared_pool.zig), driving caches the way the
//! TypeScript hot path does (src/shared_pool.ts): alloc takes the top handle and clears its bit
//! in the cache's bitmap, free puts the handle on top and sets the bit; the owner byte says
//! which cache has the block and changes only in batch calls and frees across Workers.
const std = @import("std");
const testing = std.testing;
const constants = @import("../constants.zig");
const shared_pool = @import("shared_pool.zig");
const SharedPool = shared_pool.SharedPool;
const shared_region = @import("shared_region.zig");

fn create(params: shared_pool.Params) !SharedPool {
    const geometry = try shared_pool.Geometry.compute(params);
    const region = try shared_region.mapAnonymous(geometry.region_bytes, geometry.committedBytes(params.capacity), .none);
    return SharedPool.format(region.memory, geometry, -1);
}

fn fixed(capacity: u32, caches: u32, cache_capacity: u32) shared_pool.Params {
    return .{
        .block_size = 24,
        .alignment = 8,
        .capacity = capacity,
        .capacity_max = capacity,
        .grow_chunk = 0,
        .caches_max = caches,
        .cache_capacity = cache_capacity,
        .retire_capacity = 16,
    };
}

/// One thread's view of its cache, as src/shared_pool.ts keeps it.
const Local = struct {
    pool: *const SharedPool,
    token: shared_pool.CacheToken,

    fn claim(pool: *const SharedPool) !Local {
        return .{ .pool = pool, .token = pool.claimCache() orelse return error.NoCache };
    }

    fn slots(local: Local) [*]u32 {
        const words: [*]u32 = @ptrCast(local.pool.cache(local.token.index));
        return words + shared_pool.handles_word - 1;
    }

    fn count(local: Local) *u32 {
        return &local.pool.cache(local.token.index).count;
    }

    fn tag(local: Local) u8 {
        return @intCast(local.token.index + 1);
    }

    fn bit(local: Local, handle: u32) *u32 {
        return &local.pool.bitmap(local.token.index)[handle >> 5];
    }

    fn mark(local: Local, handle: u32, present: bool) void {
        const mask = @as(u32, 1) << @as(u5, @truncate(handle));
        const old = @atomicLoad(u32, local.bit(handle), .monotonic);
        @atomicStore(u32, local.bit(handle), if (present) old | mask else old & ~mask, .release);
    }

    fn alloc(local: Local) !?u32 {
        var n = @atomicLoad(u32, local.count(), .monotonic);
        if (n == 0) n = try local.pool.refill(local.token.index);
        if (n == 0) return null;
        const handle = local.slots()[n];
        if (!local.pool.inMagazine(local.tag(), handle)) return error.Corrupted;
        local.mark(handle, false);
        @atomicStore(u32, local.count(), n - 1, .monotonic);
        return handle;
    }

    /// Its own block back into its cache; another Worker's block sent home. Debug mode's
    /// atomic own free (owner byte to 0 by CAS for the length of the free), so that the race
    /// tests below hold.
    fn free(local: Local, handle: u32) !void {
        const owners = local.pool.owners();
        if (@atomicLoad(u8, &owners[handle], .acquire) != local.tag()) return local.freeForeign(handle);
        if (local.pool.inMagazine(local.tag(), handle)) return error.DoubleFree;
        if (@cmpxchgStrong(u8, &owners[handle], local.tag(), 0, .acq_rel, .monotonic) != null) return error.DoubleFree;
        var n = @atomicLoad(u32, local.count(), .monotonic) + 1;
        if (n > local.pool.geometry.params.cache_capacity) n = try local.pool.flush(local.token.index) + 1;
        local.slots()[n] = handle;
        @atomicStore(u32, local.count(), n, .monotonic);
        local.mark(handle, true);
        @atomicStore(u8, &owners[handle], local.tag(), .release);
    }

    /// A block another cache has: refused if its bit says it sits in that cache's magazine;
    /// its owner byte goes to 0 by CAS (of two such frees, one wins), the bit is checked again
    /// (the owner may have freed it meanwhile: then the byte goes back), then it is pushed on
    /// its allocator's home stack.
    fn freeForeign(local: Local, handle: u32) !void {
        const owners = local.pool.owners();
        const owner = @atomicLoad(u8, &owners[handle], .acquire);
        if (owner == 0 or owner == shared_pool.owner_retired or owner > local.pool.geometry.params.caches_max) {
            return error.DoubleFree;
        }
        if (local.pool.inMagazine(owner, handle)) return error.DoubleFree;
        if (@cmpxchgStrong(u8, &owners[handle], owner, 0, .acq_rel, .monotonic) != null) return error.DoubleFree;
        if (local.pool.inMagazine(owner, handle)) {
            _ = @cmpxchgStrong(u8, &owners[handle], 0, owner, .acq_rel, .monotonic);
            return error.DoubleFree;
        }
        const head = local.pool.home(owner - 1);
        const link = local.pool.list().links.at(handle);
        var top = @atomicLoad(u32, head, .acquire);
        while (true) {
            link.store(top, .monotonic);
            top = @cmpxchgWeak(u32, head, top, handle, .release, .acquire) orelse return;
        }
    }
};

test "SharedPool: alloc, free, refill and flush keep every block exactly once" {
    const pool = try create(fixed(100, 4, 8));
    defer pool.region().unmap();
    const local = try Local.claim(&pool);
    var held: [100]u32 = undefined;
    for (&held) |*handle| handle.* = (try local.alloc()).?;
    try testing.expectEqual(@as(?u32, null), try local.alloc());
    try testing.expectEqual(@as(u32, 100), try pool.verify(testing.allocator));
    try testing.expectEqual(@as(u64, 1), pool.stats().failed);
    for (held) |handle| try local.free(handle);
    try testing.expectError(error.DoubleFree, local.free(held[0]));
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
    const stats = pool.stats();
    try testing.expectEqual(@as(u32, 100), stats.free_listed + stats.cached);
    try testing.expectEqual(@as(u32, 100), stats.high_water);
    try testing.expect(try pool.closeCache(local.token));
    try testing.expectEqual(@as(u32, 100), pool.stats().free_listed);
    try testing.expectError(error.Closed, pool.refill(local.token.index));
    try testing.expect(!(try pool.closeCache(local.token)));
    try testing.expect(pool.releaseCache(local.token));
    try testing.expect(!pool.releaseCache(local.token));
}

test "SharedPool: caches run out and come back" {
    const pool = try create(fixed(16, 2, 4));
    defer pool.region().unmap();
    const first = pool.claimCache().?;
    const second = pool.claimCache().?;
    try testing.expect(pool.claimCache() == null);
    try testing.expect(pool.releaseCache(first));
    const third = pool.claimCache().?;
    try testing.expectEqual(first.index, third.index);
    try testing.expect(third.generation != first.generation);
    try testing.expect(!pool.releaseCache(first)); // stale token
    try testing.expect(pool.releaseCache(second));
    try testing.expect(pool.releaseCache(third));
}

test "SharedPool: a cache whose thread ended is reclaimed, one of a live thread is not" {
    const pool = try create(fixed(64, 4, 16));
    defer pool.region().unmap();
    const mine = try Local.claim(&pool);
    _ = try mine.alloc();
    const thread = try std.Thread.spawn(.{}, struct {
        fn run(p: *const SharedPool) void {
            const local = Local.claim(p) catch return;
            _ = local.alloc() catch return; // refills 8, keeps 7 cached, then ends
        }
    }.run, .{&pool});
    thread.join();
    try testing.expectEqual(@as(u32, 1), pool.stats().caches_dead);
    try testing.expectEqual(@as(u64, 7), pool.reclaimAbandoned());
    try testing.expectEqual(@as(u64, 0), pool.reclaimAbandoned());
    const stats = pool.stats();
    try testing.expectEqual(@as(u64, 1), stats.reclaimed_caches);
    try testing.expectEqual(@as(u32, 2), stats.in_use); // mine and the ended thread's one
    try testing.expectEqual(@as(u32, 2), try pool.verify(testing.allocator));
}

test "SharedPool: growth commits chunks on demand, up to the maximum" {
    var params = fixed(8, 2, 8);
    params.capacity_max = 40;
    params.grow_chunk = 16;
    const pool = try create(params);
    defer pool.region().unmap();
    const local = try Local.claim(&pool);
    var count: u32 = 0;
    while (try local.alloc()) |_| count += 1;
    try testing.expectEqual(@as(u32, 40), count);
    const stats = pool.stats();
    try testing.expectEqual(@as(u32, 40), stats.capacity);
    try testing.expectEqual(@as(u64, 2), stats.grows);
    try testing.expect(!pool.grow());
    try testing.expectEqual(@as(u32, 40), try pool.verify(testing.allocator));
}

const Churn = struct {
    pool: *const SharedPool,
    /// Handles passed between threads: whoever takes one frees it (a cross-thread free).
    mailbox: []std.atomic.Value(u32),
    failed: std.atomic.Value(u32) = .init(0),
    operations: u32,
};

fn churnThread(churn: *Churn, seed: u64) void {
    churnLoop(churn, seed) catch churn.failed.store(1, .monotonic);
}

fn churnLoop(churn: *Churn, seed: u64) !void {
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    const local = try Local.claim(churn.pool);
    const id: u32 = @intCast(local.token.index + 1);
    const stride = churn.pool.geometry.block_stride;
    const blocks = churn.pool.memory.ptr + churn.pool.geometry.blocks_offset;
    var held: [128]u32 = undefined;
    var held_count: usize = 0;
    for (0..churn.operations) |_| {
        const choice = random.uintLessThan(u32, 10);
        if (choice < 5 and held_count < held.len) {
            const handle = (try local.alloc()) orelse continue;
            // Relaxed atomic accesses, as JavaScript's typed-array stores are at machine level: a
            // pop may read this word as a stale free-list link at the same moment (and discard it).
            const stamp: *u32 = @ptrCast(@alignCast(blocks + handle * stride));
            @atomicStore(u32, stamp, id << 24 | handle, .monotonic); // a block handed to two threads is caught below
            held[held_count] = handle;
            held_count += 1;
        } else if (choice < 8 and held_count > 0) {
            const at = random.uintLessThan(usize, held_count);
            const handle = held[at];
            held[at] = held[held_count - 1];
            held_count -= 1;
            const stamp: *u32 = @ptrCast(@alignCast(blocks + handle * stride));
            if (@atomicLoad(u32, stamp, .monotonic) != id << 24 | handle) return error.Stolen;
            if (choice < 7) {
                try local.free(handle);
            } else {
                @atomicStore(u32, stamp, 0, .monotonic); // ownership passes with the handle
                const box = &churn.mailbox[random.uintLessThan(usize, churn.mailbox.len)];
                const previous = box.swap(handle, .acq_rel);
                if (previous != std.math.maxInt(u32)) try local.free(previous);
            }
        }
    }
    for (held[0..held_count]) |handle| try local.free(handle);
    _ = try churn.pool.closeCache(local.token);
}

test "SharedPool: 4 threads x 100,000 operations with cross-thread frees lose and duplicate nothing" {
    var params = fixed(512, 8, 32);
    params.capacity_max = 2048;
    params.grow_chunk = 256;
    const pool = try create(params);
    defer pool.region().unmap();
    var mailbox: [16]std.atomic.Value(u32) = @splat(.init(std.math.maxInt(u32)));
    var churn: Churn = .{ .pool = &pool, .mailbox = &mailbox, .operations = 100_000 };
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*thread, index| thread.* = try std.Thread.spawn(.{}, churnThread, .{ &churn, 0xc0ffee + index });
    for (threads) |thread| thread.join();
    try testing.expectEqual(@as(u32, 0), churn.failed.load(.monotonic));
    const cleaner = try Local.claim(&pool);
    for (&mailbox) |*box| {
        const handle = box.swap(std.math.maxInt(u32), .acq_rel);
        if (handle != std.math.maxInt(u32)) try cleaner.free(handle);
    }
    _ = try pool.closeCache(cleaner.token);
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
    const stats = pool.stats();
    try testing.expectEqual(stats.capacity, stats.free_listed + stats.homed + stats.cached);
    try testing.expect(stats.refills > 0 and stats.flushes > 0);
}

test "SharedPool: of two threads freeing one handle at once, exactly one succeeds" {
    const pool = try create(fixed(64, 4, 8));
    defer pool.region().unmap();
    const owner = try Local.claim(&pool);
    const rounds: u32 = 2000;
    const Race = struct {
        handle: std.atomic.Value(u32) = .init(0),
        round: std.atomic.Value(u32) = .init(0),
        done: std.atomic.Value(u32) = .init(0),
        wins: std.atomic.Value(u32) = .init(0),

        fn racer(race: *@This(), p: *const SharedPool) void {
            const local = Local.claim(p) catch return;
            var round: u32 = 1;
            while (round <= rounds) : (round += 1) {
                // Yield, not spin: three threads on two cores would wait for the scheduler's tick.
                while (race.round.load(.acquire) != round) std.Thread.yield() catch {};
                if (local.free(race.handle.load(.acquire))) |_| {
                    _ = race.wins.fetchAdd(1, .monotonic);
                } else |_| {}
                _ = race.done.fetchAdd(1, .acq_rel);
            }
        }
    };
    var race: Race = .{};
    var threads: [2]std.Thread = undefined;
    for (&threads) |*thread| thread.* = try std.Thread.spawn(.{}, Race.racer, .{ &race, &pool });
    var round: u32 = 1;
    while (round <= rounds) : (round += 1) {
        race.handle.store((try owner.alloc()).?, .release);
        race.round.store(round, .release);
        while (race.done.load(.acquire) != 2 * round) std.Thread.yield() catch {};
        try testing.expectEqual(round, race.wins.load(.monotonic));
    }
    for (threads) |thread| thread.join();
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

test "SharedPool: a header that disagrees with itself, the limits or the file is refused" {
    const params = fixed(100, 4, 8);
    const pool = try create(params);
    defer pool.region().unmap();
    const size = pool.geometry.region_bytes;
    var bytes: [@sizeOf(shared_pool.Header)]u8 align(8) = undefined;
    @memcpy(&bytes, pool.memory[0..bytes.len]);
    _ = try shared_pool.checkHeader(&bytes, size);
    try testing.expectError(error.Corrupted, shared_pool.checkHeader(&bytes, size - constants.page_bytes));
    try testing.expectError(error.Corrupted, shared_pool.checkHeader(bytes[0..100], size));
    const Field = struct { name: []const u8, value: u64, expected: shared_pool.OpenError };
    const cases = [_]Field{
        .{ .name = "magic", .value = 0x1234, .expected = error.Incompatible },
        .{ .name = "abi_version", .value = 999, .expected = error.Incompatible },
        .{ .name = "layout_version", .value = shared_pool.layout_version + 1, .expected = error.Incompatible },
        .{ .name = "kind", .value = 7, .expected = error.Incompatible },
        .{ .name = "ready", .value = 0, .expected = error.Corrupted },
        .{ .name = "block_size", .value = 0, .expected = error.Corrupted },
        .{ .name = "capacity_max", .value = 1 << 30, .expected = error.Corrupted },
        .{ .name = "caches_max", .value = 5, .expected = error.Corrupted },
        .{ .name = "blocks_offset", .value = 1 << 31, .expected = error.Corrupted },
        .{ .name = "region_bytes", .value = 1 << 40, .expected = error.Corrupted },
        .{ .name = "layout_hash", .value = 1, .expected = error.Corrupted },
    };
    var tried: usize = 0;
    inline for (@typeInfo(shared_pool.Header).@"struct".field_names) |name| {
        if (@typeInfo(@TypeOf(@field(@as(shared_pool.Header, undefined), name))) != .int) continue;
        for (cases) |case| {
            if (!std.mem.eql(u8, case.name, name)) continue;
            var forged: [bytes.len]u8 align(8) = bytes;
            const header: *shared_pool.Header = @ptrCast(&forged);
            @field(header, name) = @intCast(case.value);
            try testing.expectError(case.expected, shared_pool.checkHeader(&forged, size));
            tried += 1;
        }
    }
    try testing.expectEqual(cases.len, tried);
}

const epochs = @import("shared_epochs.zig");

/// `retire` as src/shared_pool.ts does it: the ring entry first, then the owner byte.
fn retire(local: Local, handle: u32) !void {
    const slot = local.pool.cache(local.token.index);
    const count = slot.retired;
    if (count == local.pool.geometry.params.retire_capacity) return error.Full;
    const epoch = @atomicLoad(u32, &local.pool.header().epoch, .seq_cst);
    epochs.ring(local.pool, local.token.index)[count] = .{ .handle = handle, .epoch = epoch };
    @atomicStore(u32, &slot.retired, count + 1, .release);
    if (local.pool.inMagazine(local.pool.owners()[handle], handle)) return error.DoubleFree;
    @atomicStore(u8, &local.pool.owners()[handle], shared_pool.owner_retired, .release);
}

fn enter(local: Local) void {
    const epoch = @atomicLoad(u32, &local.pool.header().epoch, .seq_cst);
    @atomicStore(u32, &local.pool.cache(local.token.index).epoch, epoch, .seq_cst);
}

fn exit(local: Local) void {
    @atomicStore(u32, &local.pool.cache(local.token.index).epoch, 0, .seq_cst);
}

test "SharedPool epochs: a retired block is freed only after every reader inside has left" {
    const pool = try create(fixed(16, 4, 4));
    defer pool.region().unmap();
    const writer = try Local.claim(&pool);
    const reader = try Local.claim(&pool);
    const handle = (try writer.alloc()).?;
    enter(reader);
    try retire(writer, handle);
    try testing.expectError(error.DoubleFree, writer.free(handle));
    try testing.expectEqual(@as(u32, 1), try epochs.collect(&pool, writer.token.index));
    try testing.expectEqual(shared_pool.owner_retired, pool.owners()[handle]);
    try testing.expect(pool.stats().blocking_ms < 1000);
    try testing.expectEqual(@as(u64, 1), pool.stats().retired);
    exit(reader);
    try testing.expectEqual(@as(u32, 0), try epochs.collect(&pool, writer.token.index));
    try testing.expectEqual(@as(u8, 0), pool.owners()[handle]);
    try testing.expectEqual(@as(u64, 1), pool.stats().retired_freed);
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

test "SharedPool epochs: a cache closed with retired blocks parks them for any collector" {
    const pool = try create(fixed(32, 4, 4));
    defer pool.region().unmap();
    const writer = try Local.claim(&pool);
    const reader = try Local.claim(&pool);
    enter(reader);
    var handles: [10]u32 = undefined;
    for (&handles) |*handle| handle.* = (try writer.alloc()).?;
    for (handles) |handle| try retire(writer, handle);
    try testing.expect(try pool.closeCache(writer.token));
    try testing.expectEqual(@as(u32, 10), pool.stats().limbo);
    const other = try Local.claim(&pool);
    _ = try epochs.collect(&pool, other.token.index);
    try testing.expectEqual(@as(u32, 10), pool.stats().limbo); // the reader still blocks
    exit(reader);
    _ = try epochs.collect(&pool, other.token.index);
    try testing.expectEqual(@as(u32, 0), pool.stats().limbo);
    try testing.expectEqual(@as(u64, 10), pool.stats().retired_freed);
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

test "SharedPool epochs: a reader that died inside an epoch does not block reclamation" {
    const pool = try create(fixed(16, 4, 4));
    defer pool.region().unmap();
    const writer = try Local.claim(&pool);
    const thread = try std.Thread.spawn(.{}, struct {
        fn run(p: *const SharedPool) void {
            const local = Local.claim(p) catch return;
            enter(local); // and ends without exit or close
        }
    }.run, .{&pool});
    thread.join();
    const handle = (try writer.alloc()).?;
    try retire(writer, handle);
    // The first collection only starts timing the blocking reader; once it has blocked for
    // `stuck_ms`, the next finds it dead and clears it.
    try testing.expectEqual(@as(u32, 1), try epochs.collect(&pool, writer.token.index));
    const pause: std.os.linux.timespec = .{ .sec = 0, .nsec = (epochs.stuck_ms + 20) * std.time.ns_per_ms };
    _ = std.os.linux.nanosleep(&pause, null);
    try testing.expectEqual(@as(u32, 0), try epochs.collect(&pool, writer.token.index));
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

const recovery = @import("shared_recovery.zig");

test "SharedPool recovery: a batch stranded by a killed owner comes back, only when the caller is alone" {
    const pool = try create(fixed(64, 4, 8));
    defer pool.region().unmap();
    const mine = try Local.claim(&pool);
    const other = try Local.claim(&pool);
    _ = try other.alloc(); // its cache now holds 3 more
    // As if `other` died inside a flush: bits and owner bytes cleared, its count dropped, the
    // push never happened.
    for (other.slots()[1..4]) |handle| {
        other.mark(handle, false);
        pool.owners()[handle] = 0;
    }
    @atomicStore(u32, other.count(), 0, .release);
    try testing.expectError(error.Busy, recovery.recover(&pool, mine.token.index, testing.allocator));
    try testing.expectError(error.Corrupted, pool.verify(testing.allocator));
    try testing.expect(try pool.closeCache(other.token));
    try testing.expectEqual(@as(u32, 3), try recovery.recover(&pool, mine.token.index, testing.allocator));
    try testing.expectEqual(@as(u32, 1), try pool.verify(testing.allocator));
    try testing.expectEqual(@as(u32, 0), try recovery.recover(&pool, mine.token.index, testing.allocator));
}

test "SharedPool home stacks: a block freed by another Worker goes back to its allocator first" {
    const pool = try create(fixed(256, 4, 8));
    defer pool.region().unmap();
    const a = try Local.claim(&pool);
    const b = try Local.claim(&pool);
    var mine: [4]u32 = undefined;
    for (&mine) |*handle| handle.* = (try a.alloc()).?;
    for (mine) |handle| try b.free(handle); // sent home to `a`
    try testing.expectError(error.DoubleFree, b.free(mine[0]));
    try testing.expectEqual(@as(u32, 4), pool.stats().homed);
    try testing.expectEqual(@as(u32, 4), try pool.verify(testing.allocator) + 4);
    // `a` uses up its cache (8 - 4 = 4 left, then a refill that takes its home stack first).
    var again: [8]u32 = undefined;
    for (&again) |*handle| handle.* = (try a.alloc()).?;
    try testing.expectEqual(@as(u32, 0), pool.stats().homed);
    var found: usize = 0;
    for (again) |handle| {
        for (mine) |old| found += @intFromBool(handle == old);
    }
    try testing.expectEqual(@as(usize, 4), found);
    for (again) |handle| try a.free(handle);
    try testing.expect(try pool.closeCache(a.token));
    try testing.expect(try pool.closeCache(b.token));
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

test "SharedPool flush: a block whose owner byte a racing free holds stays in the magazine" {
    const pool = try create(fixed(64, 4, 8));
    defer pool.region().unmap();
    const a = try Local.claim(&pool);
    var handles: [8]u32 = undefined;
    for (&handles) |*handle| handle.* = (try a.alloc()).?;
    for (handles) |handle| try a.free(handle); // 4 left + 8 = 12 > 8: one flush on the way
    const count = a.count().*;
    const top = a.slots()[count];
    // Another Worker's free of `top` (a double free racing) holds its owner byte at 0 now.
    pool.owners()[top] = 0;
    const after = try pool.flush(a.token.index);
    try testing.expectEqual(@as(u32, 4 + 1), after);
    try testing.expect(pool.inMagazine(a.tag(), top));
    var found = false;
    for (a.slots()[1 .. after + 1]) |handle| found = found or handle == top;
    try testing.expect(found);
    pool.owners()[top] = a.tag(); // that free finds the bit set and gives the byte back
    try testing.expectEqual(@as(u32, 0), try pool.verify(testing.allocator));
}

test "SharedPool home stacks: blocks sent home to a closed cache come back through reclaimAbandoned" {
    const pool = try create(fixed(64, 4, 8));
    defer pool.region().unmap();
    const a = try Local.claim(&pool);
    const b = try Local.claim(&pool);
    const handle = (try b.alloc()).?;
    try testing.expect(try pool.closeCache(b.token));
    try a.free(handle); // onto b's home stack, which nobody pops any more
    try testing.expectEqual(@as(u32, 1), pool.stats().homed);
    try testing.expectEqual(@as(u64, 1), pool.reclaimAbandoned());
    try testing.expectEqual(@as(u32, 0), pool.stats().homed);
    var got: u32 = 0;
    while (try a.alloc()) |_| got += 1;
    try testing.expectEqual(@as(u32, 64), got);
}
