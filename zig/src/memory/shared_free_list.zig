//! A lock-free LIFO of u32 handles shared by threads and processes: the free list under
//! SharedPool's per-Worker caches. Threads move handles in batches (a cache refill or flush),
//! so both operations take a batch and cost one compare-and-swap on success.
//!
//! The head is one 64-bit word: the top handle in the low half, a tag in the high half that
//! every successful push or pop increments. A pop that read the head, then lost the thread for
//! a while, fails its CAS even if the same handle is on top again (ABA): the tag differs.
//!
//! Links are intrusive: the first u32 of a free block holds the handle below it, so the list
//! costs no memory per block. A block's owner writes anything into it once it is popped, so a
//! pop that walks links from a head may read garbage; it then fails its CAS (the tag moved on
//! when that block was popped) and retries. Nodes still on the list are never written, so a
//! pop that wins its CAS with the head it walked from walked an unchanged chain.
//!
//! The memory is shared with other processes, so it is untrusted: every link read is checked
//! against the capacity, never followed out of bounds. An out-of-range link seen while the
//! head is unchanged is corruption (`error.Corrupted`); seen after the head moved, a stale read.
const std = @import("std");
const assert = std.debug.assert;

/// The link and head value that ends the list.
pub const end: u32 = std.math.maxInt(u32);

/// Most handles one batch moves: bounds the walk a pop does before its CAS.
pub const batch_max: u32 = 4096;

pub const Error = error{Corrupted};

pub const Head = packed struct(u64) { top: u32, tag: u32 };

/// Where the links live: the first u32 of each of `count` blocks `stride` bytes apart.
pub const Links = struct {
    base: [*]u8,
    stride: usize,
    count: u32,

    /// Links kept in a plain array (one u32 per handle), for tests.
    pub fn array(next: []std.atomic.Value(u32)) Links {
        assert(next.len > 0 and next.len < end);
        return .{ .base = @ptrCast(next.ptr), .stride = @sizeOf(u32), .count = @intCast(next.len) };
    }

    pub fn at(links: Links, handle: u32) *std.atomic.Value(u32) {
        assert(handle < links.count);
        assert(links.stride % @alignOf(u32) == 0);
        return @ptrCast(@alignCast(links.base + @as(usize, handle) * links.stride));
    }
};

pub const SharedFreeList = struct {
    head: *std.atomic.Value(u64),
    links: Links,

    /// A list over `links` as they are (for a region another process formatted).
    pub fn over(head: *std.atomic.Value(u64), links: Links) SharedFreeList {
        assert(links.count > 0 and links.count < end);
        return .{ .head = head, .links = links };
    }

    /// Links handles 0 .. count-1, lowest on top. Before any other thread attaches.
    pub fn init(head: *std.atomic.Value(u64), links: Links) SharedFreeList {
        const list = over(head, links);
        head.store(@bitCast(Head{ .top = end, .tag = 0 }), .release);
        list.pushRange(0, links.count);
        return list;
    }

    /// Pops up to `out.len` handles into `out`; returns how many (0 when the list is empty).
    pub fn popBatch(list: SharedFreeList, out: []u32) Error!u32 {
        assert(out.len > 0 and out.len <= batch_max);
        var seen: u64 = list.head.load(.acquire);
        while (true) {
            const plan = list.planPop(seen, out) catch |failure| {
                const now = list.head.load(.acquire);
                if (now == seen) return failure;
                seen = now; // a stale link read: the head moved on since
                continue;
            };
            if (plan.count == 0) return 0;
            seen = list.head.cmpxchgWeak(seen, plan.head_after, .acq_rel, .acquire) orelse return plan.count;
        }
    }

    const PopPlan = struct { count: u32, head_after: u64 };

    /// Walks up to `out.len` handles down from head value `seen` into `out`, and the head value
    /// that pops them; valid only if the head still equals `seen` at the CAS.
    fn planPop(list: SharedFreeList, seen: u64, out: []u32) Error!PopPlan {
        const head: Head = @bitCast(seen);
        var count: u32 = 0;
        var cursor = head.top;
        while (cursor != end and count < out.len) : (count += 1) {
            if (cursor >= list.links.count) return error.Corrupted;
            out[count] = cursor;
            cursor = list.links.at(cursor).load(.monotonic);
        }
        return .{ .count = count, .head_after = @bitCast(Head{ .top = cursor, .tag = head.tag +% 1 }) };
    }

    /// Pushes `handles`, which the caller owns and nobody else holds, as one batch: the first
    /// ends up on top. A handle out of range is a caller bug (checked before, in the ABI).
    pub fn pushBatch(list: SharedFreeList, handles: []const u32) void {
        assert(handles.len > 0 and handles.len <= batch_max);
        for (handles) |handle| assert(handle < list.links.count);
        for (handles[0 .. handles.len - 1], handles[1..]) |handle, below| {
            list.links.at(handle).store(below, .monotonic);
        }
        list.pushChain(handles[0], handles[handles.len - 1]);
    }

    /// Pushes handles `first .. first+count-1` (fresh blocks of a growth), lowest on top.
    pub fn pushRange(list: SharedFreeList, first: u32, count: u32) void {
        assert(count > 0);
        assert(@as(u64, first) + count <= list.links.count);
        const last = first + count - 1;
        var handle = first;
        while (handle < last) : (handle += 1) list.links.at(handle).store(handle + 1, .monotonic);
        list.pushChain(first, last);
    }

    /// Pushes a chain already linked from `top` down to `bottom`.
    fn pushChain(list: SharedFreeList, top: u32, bottom: u32) void {
        var seen: u64 = list.head.load(.monotonic);
        while (true) {
            const head: Head = @bitCast(seen);
            list.links.at(bottom).store(head.top, .monotonic);
            const after: u64 = @bitCast(Head{ .top = top, .tag = head.tag +% 1 });
            // release: a popper that sees this head also sees the links stored above.
            seen = list.head.cmpxchgWeak(seen, after, .release, .monotonic) orelse return;
        }
    }

    /// The handles on the list, top first, into `out`; for tests and checks while quiescent.
    pub fn collect(list: SharedFreeList, out: []u32) Error![]u32 {
        var count: usize = 0;
        var cursor = (@as(Head, @bitCast(list.head.load(.acquire)))).top;
        while (cursor != end) : (count += 1) {
            if (cursor >= list.links.count or count >= out.len) return error.Corrupted;
            out[count] = cursor;
            cursor = list.links.at(cursor).load(.monotonic);
        }
        return out[0..count];
    }
};

const testing = std.testing;

fn expectEveryHandleOnceOnList(list: SharedFreeList, capacity: u32) !void {
    var buffer: [1024]u32 = undefined;
    const handles = try list.collect(&buffer);
    try testing.expectEqual(@as(usize, capacity), handles.len);
    var seen: [1024]bool = @splat(false);
    for (handles) |handle| {
        try testing.expect(!seen[handle]);
        seen[handle] = true;
    }
}

test "SharedFreeList: pops in order, pushes back LIFO, empties and refills" {
    var head = std.atomic.Value(u64).init(0);
    var next: [8]std.atomic.Value(u32) = undefined;
    const list = SharedFreeList.init(&head, .array(&next));
    var out: [5]u32 = undefined;
    try testing.expectEqual(@as(u32, 5), try list.popBatch(&out));
    try testing.expectEqualSlices(u32, &.{ 0, 1, 2, 3, 4 }, &out);
    try testing.expectEqual(@as(u32, 3), try list.popBatch(&out));
    try testing.expectEqualSlices(u32, &.{ 5, 6, 7 }, out[0..3]);
    try testing.expectEqual(@as(u32, 0), try list.popBatch(&out));
    list.pushBatch(&.{ 6, 2 });
    list.pushBatch(&.{4});
    try testing.expectEqual(@as(u32, 3), try list.popBatch(&out));
    try testing.expectEqualSlices(u32, &.{ 4, 6, 2 }, out[0..3]);
}

test "SharedFreeList: a corrupted link is reported, not followed" {
    var head = std.atomic.Value(u64).init(0);
    var next: [4]std.atomic.Value(u32) = undefined;
    const list = SharedFreeList.init(&head, .array(&next));
    next[1].store(4, .monotonic); // one past the last handle, and not `end`
    var out: [4]u32 = undefined;
    try testing.expectError(error.Corrupted, list.popBatch(&out));
    head.store(@bitCast(Head{ .top = 99, .tag = 7 }), .monotonic);
    try testing.expectError(error.Corrupted, list.popBatch(out[0..1]));
}

test "SharedFreeList: a pop that lost its thread across pop, pop, push of its top fails (ABA)" {
    var head = std.atomic.Value(u64).init(0);
    var next: [4]std.atomic.Value(u32) = undefined;
    const list = SharedFreeList.init(&head, .array(&next));
    // Thread A reads the head (top 0, then 1) and plans to pop 0, leaving 1 on top...
    const seen = head.load(.acquire);
    var a_out: [1]u32 = undefined;
    const plan = try list.planPop(seen, &a_out);
    try testing.expectEqual(@as(u32, 0), a_out[0]);
    // ...while thread B pops 0 and 1, then pushes 0 back: 0 is on top again, 1 is B's.
    var b_out: [2]u32 = undefined;
    try testing.expectEqual(@as(u32, 2), try list.popBatch(&b_out));
    list.pushBatch(b_out[0..1]);
    // A's CAS must fail: with an untagged head it would succeed and put B's 1 back on top.
    try testing.expect(head.cmpxchgStrong(seen, plan.head_after, .acq_rel, .acquire) != null);
    var rest: [4]u32 = undefined;
    try testing.expectEqualSlices(u32, &.{ 0, 2, 3 }, (try list.collect(&rest)));
}

test "SharedFreeList: the tag changes on every push and pop" {
    var head = std.atomic.Value(u64).init(0);
    var next: [2]std.atomic.Value(u32) = undefined;
    const list = SharedFreeList.init(&head, .array(&next));
    const before = head.load(.monotonic);
    var out: [1]u32 = undefined;
    _ = try list.popBatch(&out);
    list.pushBatch(&out);
    const after = head.load(.monotonic);
    try testing.expectEqual(@as(Head, @bitCast(before)).top, @as(Head, @bitCast(after)).top);
    try testing.expect(before != after);
}

const StressShared = struct {
    list: SharedFreeList,
    failed: std.atomic.Value(bool) = .init(false),
};

/// One thread: random batches out and back, holding some handles across rounds and writing
/// its id into an ownership table to catch a handle held by two threads at once.
fn stressThread(shared: *StressShared, owners: []std.atomic.Value(u32), id: u32, seed: u64) void {
    var prng = std.Random.DefaultPrng.init(seed);
    const random = prng.random();
    var held: [64]u32 = undefined;
    var held_count: usize = 0;
    for (0..20_000) |_| {
        if (held_count < held.len and random.boolean()) {
            const want = random.intRangeAtMost(usize, 1, held.len - held_count);
            const got = shared.list.popBatch(held[held_count..][0..want]) catch {
                shared.failed.store(true, .monotonic);
                return;
            };
            for (held[held_count..][0..got]) |handle| {
                if (owners[handle].swap(id, .acq_rel) != 0) shared.failed.store(true, .monotonic);
                // An owner writes anything into its block: here, over the intrusive link.
                shared.list.links.at(handle).store(random.int(u32), .monotonic);
            }
            held_count += got;
        } else if (held_count > 0) {
            const give = random.intRangeAtMost(usize, 1, held_count);
            const batch = held[held_count - give .. held_count];
            for (batch) |handle| {
                if (owners[handle].swap(0, .acq_rel) != id) shared.failed.store(true, .monotonic);
            }
            shared.list.pushBatch(batch);
            held_count -= give;
        }
    }
    for (held[0..held_count]) |handle| _ = owners[handle].swap(0, .acq_rel);
    if (held_count > 0) shared.list.pushBatch(held[0..held_count]);
}

test "SharedFreeList: 4 threads x 20,000 random batches lose and duplicate nothing" {
    const capacity = 256;
    var head = std.atomic.Value(u64).init(0);
    var next: [capacity]std.atomic.Value(u32) = undefined;
    var owners: [capacity]std.atomic.Value(u32) = @splat(.init(0));
    var shared = StressShared{ .list = SharedFreeList.init(&head, .array(&next)) };
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*thread, index| {
        const id: u32 = @intCast(index + 1);
        thread.* = try std.Thread.spawn(.{}, stressThread, .{ &shared, &owners, id, 0x5eed_0100 + index });
    }
    for (threads) |thread| thread.join();
    try testing.expect(!shared.failed.load(.monotonic));
    try expectEveryHandleOnceOnList(shared.list, capacity);
}
