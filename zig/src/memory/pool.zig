//! Fixed-size blocks with O(1) alloc and free, named by u32 handles.
//!
//! Region layout: PoolHeader | block states (1 byte a block, and the end sentinel) | blocks.
//! A block's state byte says fresh (on the free list, never handed out since the last reset),
//! free (on the free list) or allocated. Free and fresh blocks form an intrusive LIFO list: the
//! first 4 bytes of a block on the list hold the handle of the next one, and the list ends at
//! `capacity` (one past the last block), whose state byte is `end`. Creation and reset link every block in ascending
//! order, and growth appends a new chunk at the bottom of the list, so fresh blocks are handed
//! out in order and only when no freed block waits: the blocks handed out since the last reset
//! are a prefix, and their number is the high water. One byte a block is the double-free check
//! and keeps metadata at 1.6% of 64-byte blocks (header and padding aside).
//!
//! A growing pool reserves the address space of its maximum capacity at creation and commits
//! pages chunk by chunk (`grow`): blocks never move, so handles, addresses and views taken
//! before a growth stay valid. The state bytes are sized for the maximum from the start.
//!
//! TypeScript runs alloc and free on the same states and links (src/pool.ts) and keeps the
//! head, frontier and counters in fields that it writes to the header around every native
//! call. Header fields and links are in JavaScript-writable memory, so every value read from
//! them is checked and a bad one reported as `error.Corrupted`: the geometry Zig trusts is
//! kept here, outside the region.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const layout = @import("../layout.zig");
const PoolHeader = layout.PoolHeader;
const BlockState = layout.BlockState;
const Region = @import("region.zig").Region;

const nil = constants.handle_nil;

pub const Options = struct {
    block_size: u32,
    capacity: u32,
    alignment: u32 = 8,
    /// The most blocks `grow` may reach; 0 (or `capacity`) for a fixed pool.
    capacity_max: u32 = 0,
    /// Blocks one `grow` adds; 0 for a fixed pool.
    grow_chunk: u32 = 0,
};

/// Where everything sits in a pool region; computed from checked options only.
pub const Geometry = struct {
    block_size: u32,
    capacity: u32,
    alignment: u32,
    block_stride: u32,
    state_offset: u32,
    blocks_offset: u32,
    region_bytes: u64,
    capacity_max: u32,
    grow_chunk: u32,

    pub fn compute(options: Options) error{InvalidArgument}!Geometry {
        if (options.block_size == 0 or options.block_size > constants.block_size_max) return error.InvalidArgument;
        if (options.capacity == 0 or options.capacity > constants.pool_capacity_max) return error.InvalidArgument;
        if (options.alignment == 0 or options.alignment > constants.alignment_max) return error.InvalidArgument;
        if (!std.math.isPowerOfTwo(options.alignment)) return error.InvalidArgument;
        const capacity_max = if (options.capacity_max == 0) options.capacity else options.capacity_max;
        if (capacity_max < options.capacity or capacity_max > constants.pool_capacity_max) return error.InvalidArgument;
        // A growing pool needs a chunk, a fixed one must not have one.
        if ((capacity_max > options.capacity) != (options.grow_chunk > 0)) return error.InvalidArgument;
        if (options.grow_chunk > capacity_max) return error.InvalidArgument;

        const alignment_internal = @max(options.alignment, constants.block_alignment_min);
        const block_size = @max(options.block_size, constants.block_alignment_min);
        const block_stride = std.mem.alignForward(u32, block_size, alignment_internal);
        const state_end = constants.header_bytes + capacity_max + 1; // + the end sentinel
        const blocks_offset = std.mem.alignForward(u32, state_end, @max(alignment_internal, constants.cache_line_bytes));
        const blocks_bytes = @as(u64, capacity_max) * block_stride;
        const region_bytes = std.mem.alignForward(u64, blocks_offset + blocks_bytes, constants.page_bytes);
        if (region_bytes > constants.region_bytes_max) return error.InvalidArgument;

        assert(block_stride % alignment_internal == 0);
        assert(blocks_offset % alignment_internal == 0);
        assert(blocks_offset >= state_end);
        return .{
            .block_size = options.block_size,
            .capacity = options.capacity,
            .alignment = options.alignment,
            .block_stride = block_stride,
            .state_offset = constants.header_bytes,
            .blocks_offset = blocks_offset,
            .region_bytes = region_bytes,
            .capacity_max = capacity_max,
            .grow_chunk = options.grow_chunk,
        };
    }

    /// True when the pool can grow: its region is reserved and committed as it grows.
    pub fn grows(geometry: Geometry) bool {
        return geometry.capacity_max > geometry.capacity;
    }

    /// The two byte ranges that `capacity` blocks use, in whole pages: the header with the
    /// first `capacity` state bytes, and the first `capacity` blocks.
    pub fn committedRanges(geometry: Geometry, capacity: u32) [2][2]u64 {
        assert(capacity <= geometry.capacity_max);
        const page = constants.page_bytes;
        // States up to `capacity`, and the page of the end sentinel at capacity_max.
        const states_end = std.mem.alignForward(u64, @as(u64, geometry.state_offset) + capacity + 1, page);
        const blocks_start = std.mem.alignBackward(u64, geometry.blocks_offset, page);
        const blocks_end = std.mem.alignForward(u64, geometry.blocks_offset + @as(u64, capacity) * geometry.block_stride, page);
        return .{ .{ 0, states_end }, .{ blocks_start, blocks_end } };
    }

    /// Commits and pre-faults what `capacity` blocks use in a reserved region.
    pub fn commit(geometry: Geometry, region: Region, capacity: u32) error{OutOfMemory}!void {
        for (committedRanges(geometry, capacity)) |range| {
            if (range[1] > range[0]) try region.populate(range[0], range[1]);
        }
    }
};

pub const FreeError = error{ InvalidHandle, DoubleFree, Corrupted };
pub const GrowError = error{ LimitReached, OutOfMemory };

pub const Pool = struct {
    header: *PoolHeader,
    states: []BlockState,
    blocks: [*]align(constants.block_alignment_min) u8,
    geometry: Geometry,
    /// Blocks committed: grows by `grow_chunk` up to `capacity_max`.
    capacity: u32,
    capacity_max: u32,
    grow_chunk: u32,
    block_stride: u32,

    /// Formats a freshly mapped, zeroed region (zero is BlockState.fresh): every block fresh
    /// and linked in ascending order.
    pub fn format(memory: []align(std.heap.page_size_min) u8, geometry: Geometry) Pool {
        assert(memory.len == geometry.region_bytes);
        const header: *PoolHeader = @ptrCast(memory.ptr);
        header.* = std.mem.zeroes(PoolHeader);
        header.magic = PoolHeader.magic_value;
        header.block_size = geometry.block_size;
        header.block_stride = geometry.block_stride;
        header.capacity = geometry.capacity;
        header.alignment = geometry.alignment;
        header.state_offset = geometry.state_offset;
        header.blocks_offset = geometry.blocks_offset;
        header.region_bytes = geometry.region_bytes;
        header.metadata_bytes = geometry.blocks_offset;
        header.capacity_max = geometry.capacity_max;
        header.grow_chunk = geometry.grow_chunk;

        const states: []BlockState = @ptrCast(memory[geometry.state_offset..][0 .. geometry.capacity_max + 1]);
        const pool: Pool = .{
            .header = header,
            .states = states,
            .blocks = @alignCast(memory[geometry.blocks_offset..].ptr),
            .geometry = geometry,
            .capacity = geometry.capacity,
            .capacity_max = geometry.capacity_max,
            .grow_chunk = geometry.grow_chunk,
            .block_stride = geometry.block_stride,
        };
        pool.linkFresh(0, pool.capacity, pool.capacity);
        header.free_head = 0;
        assert(pool.states[0] == .fresh);
        assert(pool.states[pool.capacity] == .end);
        return pool;
    }

    /// Blocks `from .. to-1` become fresh and linked in ascending order, the last to `last_next`;
    /// the state byte at `capacity` is the end sentinel.
    fn linkFresh(pool: Pool, from: u32, to: u32, last_next: u32) void {
        assert(from < to);
        assert(to <= pool.capacity);
        var handle = from;
        while (handle < to) : (handle += 1) {
            pool.states[handle] = .fresh;
            pool.nextSet(handle, if (handle + 1 < to) handle + 1 else last_next);
        }
        pool.states[pool.capacity] = .end;
    }

    /// Frees every block at once (counted as frees); handles held before are no longer valid.
    pub fn reset(pool: Pool) error{Corrupted}!void {
        const header = pool.header;
        if (header.frees > header.allocations) return error.Corrupted;
        header.high_water = @max(header.high_water, pool.touched());
        pool.linkFresh(0, pool.capacity, pool.capacity);
        header.free_head = 0;
        header.frees = header.allocations;
    }

    /// Blocks handed out at least once since the last reset: they are a prefix, so this is the
    /// first fresh block, found by binary search.
    pub fn touched(pool: Pool) u32 {
        var low: u32 = 0;
        var high: u32 = pool.capacity;
        while (low < high) {
            const middle = low + (high - low) / 2;
            if (pool.states[middle] == .fresh) high = middle else low = middle + 1;
        }
        assert(low <= pool.capacity);
        return low;
    }

    /// Adds one chunk of blocks (fewer at the maximum), commits their pages and appends them, in
    /// order, at the bottom of the free list. Existing blocks stay where they are.
    pub fn grow(pool: *Pool, region: Region) (GrowError || error{Corrupted})!void {
        assert(pool.capacity <= pool.capacity_max);
        assert(region.memory.len == pool.geometry.region_bytes);
        if (pool.capacity == pool.capacity_max) return error.LimitReached;
        const old = pool.capacity;
        const new = old + @min(pool.grow_chunk, pool.capacity_max - old);
        const last = try pool.lastFree();
        const before = Geometry.committedRanges(pool.geometry, old);
        const after = Geometry.committedRanges(pool.geometry, new);
        for (before, after) |from, to| {
            if (to[1] > from[1]) try region.populate(from[1], to[1]);
        }
        pool.capacity = new;
        pool.linkFresh(old, new, new);
        if (last) |handle| pool.nextSet(handle, old) else pool.header.free_head = old;
        pool.header.capacity = new;
        pool.header.growths += 1;
        assert(pool.states[new] == .end);
        assert(pool.capacity > old);
    }

    /// The last block of the free list (null when it is empty): the highest fresh block if any
    /// is left, else found by walking the list (grow is rare and O(chunk) anyway).
    fn lastFree(pool: Pool) error{Corrupted}!?u32 {
        const end = pool.capacity;
        var handle = pool.header.free_head;
        if (handle == end) return null;
        if (pool.states[end - 1] == .fresh) return end - 1;
        var steps: u32 = 0;
        while (steps < pool.capacity) : (steps += 1) {
            if (handle >= end or pool.states[handle] == .allocated) return error.Corrupted;
            const next = pool.nextGet(handle);
            if (next == end) return handle;
            handle = next;
        }
        return error.Corrupted;
    }

    /// Pops the head of the free list; null (and a counted failure) when it is empty.
    pub fn alloc(pool: Pool) error{Corrupted}!?u32 {
        const header = pool.header;
        const handle = header.free_head;
        if (handle == pool.capacity) {
            header.failed +%= 1;
            return null;
        }
        // The head came from a link in a block on the list: check it before trusting it.
        if (handle > pool.capacity) return error.Corrupted;
        const state = pool.states[handle];
        if (state != .free and state != .fresh) return error.Corrupted;
        header.free_head = pool.nextGet(handle);
        pool.states[handle] = .allocated;
        header.allocations +%= 1;
        return handle;
    }

    /// Pushes `handle` back on the free list. Rejects handles out of range or not allocated.
    pub fn free(pool: Pool, handle: u32) FreeError!void {
        if (handle >= pool.capacity) return error.InvalidHandle;
        if (pool.states[handle] != .allocated) return error.DoubleFree;
        pool.release(handle);
        assert(pool.states[handle] == .free);
    }

    fn release(pool: Pool, handle: u32) void {
        assert(handle < pool.capacity);
        pool.states[handle] = .free;
        pool.nextSet(handle, pool.header.free_head);
        pool.header.free_head = handle;
        pool.header.frees +%= 1;
    }

    /// Allocates up to `out.len` blocks into `out`; returns how many. A shortfall counts as
    /// that many failed allocations.
    pub fn allocMany(pool: Pool, out: []u32) error{Corrupted}!u32 {
        assert(out.len <= constants.batch_max);
        for (out, 0..) |*slot, index| {
            const handle = try pool.alloc() orelse {
                pool.header.failed +%= out.len - index - 1;
                return @intCast(index);
            };
            slot.* = handle;
        }
        return @intCast(out.len);
    }

    /// Frees every handle in `handles`, or none: a bad or repeated handle leaves the pool
    /// untouched. The handles are caller memory and are read again in the second pass: each is
    /// re-checked against the mark the first pass left, so a list that changes under the call
    /// (another thread writes it) is reported as Corrupted, never followed out of range or
    /// linked twice.
    pub fn freeMany(pool: Pool, handles: []const u32) FreeError!void {
        assert(handles.len <= constants.batch_max);
        // Mark every block first, so a handle repeated inside the batch is seen as a double free.
        for (handles, 0..) |handle, index| {
            const problem: ?FreeError = if (handle >= pool.capacity)
                error.InvalidHandle
            else if (pool.states[handle] != .allocated)
                error.DoubleFree
            else
                null;
            if (problem) |failure| {
                pool.unmark(handles[0..index]);
                return failure;
            }
            pool.states[handle] = .releasing;
        }
        for (handles) |handle| {
            if (handle >= pool.capacity or pool.states[handle] != .releasing) return error.Corrupted;
            pool.release(handle);
        }
    }

    fn unmark(pool: Pool, handles: []const u32) void {
        for (handles) |handle| {
            if (handle < pool.capacity and pool.states[handle] == .releasing) pool.states[handle] = .allocated;
        }
    }

    pub fn isAllocated(pool: Pool, handle: u32) bool {
        assert(handle < pool.capacity);
        return pool.states[handle] == .allocated;
    }

    /// Blocks in use: allocations - frees.
    pub fn inUse(pool: Pool) u64 {
        assert(pool.header.frees <= pool.header.allocations);
        return pool.header.allocations - pool.header.frees;
    }

    fn nextSlot(pool: Pool, handle: u32) *u32 {
        assert(handle < pool.capacity);
        const offset = @as(usize, handle) * pool.block_stride;
        return @ptrCast(@alignCast(pool.blocks + offset));
    }

    fn nextGet(pool: Pool, handle: u32) u32 {
        return pool.nextSlot(handle).*;
    }

    fn nextSet(pool: Pool, handle: u32, next: u32) void {
        pool.nextSlot(handle).* = next;
    }
};

const testing = std.testing;

const TestPool = struct {
    region: Region,
    pool: Pool,

    fn init(options: Options) !TestPool {
        const geometry = try Geometry.compute(options);
        const region = try Region.reserve(geometry.region_bytes);
        try Geometry.commit(geometry, region, geometry.capacity);
        return .{ .region = region, .pool = Pool.format(region.memory, geometry) };
    }

    fn deinit(test_pool: TestPool) void {
        test_pool.region.unmap();
    }
};

test "Pool: hands out unique handles until exhausted, then fails and counts it" {
    const fixture = try TestPool.init(.{ .block_size = 24, .capacity = 100 });
    defer fixture.deinit();
    const pool = fixture.pool;
    var seen: [100]bool = @splat(false);
    for (0..100) |_| {
        const handle = (try pool.alloc()).?;
        try testing.expect(!seen[handle]);
        seen[handle] = true;
    }
    try testing.expectEqual(@as(?u32, null), try pool.alloc());
    try testing.expectEqual(@as(u64, 1), pool.header.failed);
    try testing.expectEqual(@as(u32, 100), pool.touched());
}

test "Pool: reuses the last freed block first" {
    const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4 });
    defer fixture.deinit();
    const pool = fixture.pool;
    const a = (try pool.alloc()).?;
    const b = (try pool.alloc()).?;
    try pool.free(a);
    try pool.free(b);
    try testing.expectEqual(b, (try pool.alloc()).?);
    try testing.expectEqual(a, (try pool.alloc()).?);
}

test "Pool: double free and out-of-range handles are rejected" {
    const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4 });
    defer fixture.deinit();
    const pool = fixture.pool;
    const handle = (try pool.alloc()).?;
    try pool.free(handle);
    try testing.expectError(error.DoubleFree, pool.free(handle));
    try testing.expectError(error.InvalidHandle, pool.free(4));
    try testing.expectError(error.InvalidHandle, pool.free(nil));
}

test "Pool: freeMany is all or nothing" {
    const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 8 });
    defer fixture.deinit();
    const pool = fixture.pool;
    var handles: [4]u32 = undefined;
    try testing.expectEqual(@as(u32, 4), try pool.allocMany(&handles));
    const repeated = [_]u32{ handles[0], handles[1], handles[0] };
    try testing.expectError(error.DoubleFree, pool.freeMany(&repeated));
    try testing.expectEqual(@as(u64, 4), pool.inUse());
    for (handles) |handle| try testing.expect(pool.isAllocated(handle));
    try pool.freeMany(&handles);
    try testing.expectEqual(@as(u64, 0), pool.inUse());
}

test "Pool: allocMany stops at exhaustion and counts the shortfall" {
    const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 3 });
    defer fixture.deinit();
    var handles: [5]u32 = undefined;
    try testing.expectEqual(@as(u32, 3), try fixture.pool.allocMany(&handles));
    try testing.expectEqual(@as(u64, 2), fixture.pool.header.failed);
}

test "Pool: every block is aligned and inside the region" {
    const alignments = [_]u32{ 1, 2, 4, 8, 16, 64, 256, 4096 };
    for (alignments) |alignment| {
        const fixture = try TestPool.init(.{ .block_size = 13, .capacity = 33, .alignment = alignment });
        defer fixture.deinit();
        const base = @intFromPtr(fixture.region.memory.ptr);
        for (0..33) |_| {
            const handle = (try fixture.pool.alloc()).?;
            const address = @intFromPtr(fixture.pool.blocks) + @as(usize, handle) * fixture.pool.block_stride;
            try testing.expect(address % alignment == 0);
            try testing.expect(address + 13 <= base + fixture.region.memory.len);
        }
    }
}

test "Pool: metadata stays under 5% for 64-byte blocks" {
    for ([_]u32{ 1024, 100_000, constants.pool_capacity_max / 64 }) |capacity| {
        const geometry = try Geometry.compute(.{ .block_size = 64, .capacity = capacity });
        const blocks_bytes = @as(u64, geometry.capacity) * geometry.block_stride;
        try testing.expect(geometry.blocks_offset * 20 < blocks_bytes);
    }
}

test "Pool: bad options are rejected" {
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 0, .capacity = 1 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 8, .capacity = 0 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 8, .capacity = 1, .alignment = 3 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 8, .capacity = 1, .alignment = 8192 }));
    const huge: Options = .{ .block_size = constants.block_size_max, .capacity = constants.pool_capacity_max };
    try testing.expectError(error.InvalidArgument, Geometry.compute(huge));
}

test "Pool: a corrupted free list is reported, not followed" {
    // A write after free over the link: to an allocated block, out of range, past the end.
    for ([_]u32{ 1, 1000, 5 }) |bad_link| {
        const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4 });
        defer fixture.deinit();
        const pool = fixture.pool;
        const first = (try pool.alloc()).?;
        _ = (try pool.alloc()).?;
        try pool.free(first);
        pool.nextSet(first, bad_link);
        try testing.expectEqual(first, (try pool.alloc()).?);
        try testing.expectError(error.Corrupted, pool.alloc());
    }
}

test "Pool: seeded model test against a set of live handles" {
    const capacity = 257;
    const fixture = try TestPool.init(.{ .block_size = 16, .capacity = capacity });
    defer fixture.deinit();
    const pool = fixture.pool;
    var prng = std.Random.DefaultPrng.init(0x5eed_0001);
    const random = prng.random();
    var live: [capacity]u32 = undefined;
    var live_count: u32 = 0;
    var allocations: u64 = 0;
    for (0..200_000) |_| {
        const action = random.uintLessThan(u32, 100);
        if (action < 55) {
            const result = try pool.alloc();
            if (live_count == capacity) {
                try testing.expectEqual(@as(?u32, null), result);
            } else {
                const handle = result.?;
                for (live[0..live_count]) |other| try testing.expect(other != handle);
                live[live_count] = handle;
                live_count += 1;
                allocations += 1;
            }
        } else if (action < 99) {
            if (live_count == 0) continue;
            const index = random.uintLessThan(u32, live_count);
            try pool.free(live[index]);
            live_count -= 1;
            live[index] = live[live_count];
        } else {
            try pool.reset();
            live_count = 0;
        }
        try testing.expectEqual(@as(u64, live_count), pool.inUse());
    }
    try testing.expectEqual(allocations, pool.header.allocations);
}

test "Pool: growing adds chunks up to the maximum without moving blocks" {
    var fixture = try TestPool.init(.{ .block_size = 100, .capacity = 50, .capacity_max = 170, .grow_chunk = 60 });
    defer fixture.deinit();
    const pool = &fixture.pool;
    var handles: [170]u32 = undefined;
    for (handles[0..50]) |*handle| handle.* = (try pool.alloc()).?;
    const first_block = pool.nextSlot(handles[0]);
    first_block.* = 0xABCD;
    try testing.expectEqual(@as(?u32, null), try pool.alloc());
    try pool.grow(fixture.region);
    try testing.expectEqual(@as(u32, 110), pool.capacity);
    handles[50] = (try pool.alloc()).?;
    try testing.expectEqual(@as(u32, 50), handles[50]); // the first block of the new chunk
    for (handles[51..110]) |*handle| handle.* = (try pool.alloc()).?;
    try pool.grow(fixture.region);
    try testing.expectEqual(@as(u32, 170), pool.capacity);
    try testing.expectError(error.LimitReached, pool.grow(fixture.region));
    for (handles[110..170]) |*handle| handle.* = (try pool.alloc()).?;
    try testing.expectEqual(@as(?u32, null), try pool.alloc());
    try testing.expectEqual(first_block, pool.nextSlot(handles[0]));
    try testing.expectEqual(@as(u32, 0xABCD), first_block.*);
    try testing.expectEqual(@as(u32, 2), pool.header.growths);
    var seen: [170]bool = @splat(false);
    for (handles) |handle| {
        try testing.expect(!seen[handle]);
        seen[handle] = true;
    }
    try pool.reset();
    try testing.expectEqual(@as(u32, 170), pool.capacity);
    try testing.expectEqual(@as(u32, 170), pool.header.high_water);
}

test "Pool: a fixed pool does not grow and growth options are checked" {
    var fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4 });
    defer fixture.deinit();
    try testing.expectError(error.LimitReached, fixture.pool.grow(fixture.region));
    const invalid = error.InvalidArgument;
    try testing.expectError(invalid, Geometry.compute(.{ .block_size = 8, .capacity = 4, .capacity_max = 2, .grow_chunk = 1 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 8, .capacity = 4, .capacity_max = 8 }));
    try testing.expectError(error.InvalidArgument, Geometry.compute(.{ .block_size = 8, .capacity = 4, .grow_chunk = 2 }));
    try testing.expectError(invalid, Geometry.compute(.{ .block_size = 8, .capacity = 4, .capacity_max = 8, .grow_chunk = 9 }));
    const geometry = try Geometry.compute(.{ .block_size = 4096, .capacity = 1, .capacity_max = 1000, .grow_chunk = 1 });
    const ranges = Geometry.committedRanges(geometry, geometry.capacity);
    try testing.expect(ranges[0][1] + (ranges[1][1] - ranges[1][0]) < geometry.region_bytes);
}

test "Pool: the blocks handed out since a reset are a prefix, also across growth" {
    var fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4, .capacity_max = 12, .grow_chunk = 4 });
    defer fixture.deinit();
    const pool = &fixture.pool;
    const first = (try pool.alloc()).?;
    _ = (try pool.alloc()).?;
    try pool.free(first);
    try pool.grow(fixture.region); // two fresh blocks are still waiting below the freed one
    try testing.expectEqual(first, (try pool.alloc()).?);
    try testing.expectEqual(@as(u32, 2), (try pool.alloc()).?);
    try testing.expectEqual(@as(u32, 3), (try pool.alloc()).?);
    try testing.expectEqual(@as(u32, 4), (try pool.alloc()).?);
    try testing.expectEqual(@as(u32, 5), pool.touched());
    try pool.reset();
    try testing.expectEqual(@as(u32, 5), pool.header.high_water);
    try testing.expectEqual(@as(u32, 0), pool.touched());
}

test "Pool: freeMany re-checks handles that change under it" {
    const fixture = try TestPool.init(.{ .block_size = 8, .capacity = 4 });
    defer fixture.deinit();
    const pool = fixture.pool;
    var handles: [2]u32 = undefined;
    try testing.expectEqual(@as(u32, 2), try pool.allocMany(&handles));
    // A handle list straddling blocks 0 and 1: freeing block 1 links it to the list head (2),
    // overwriting the second handle, which must be caught (2 was not marked), not followed.
    const list: [*]u32 = @ptrCast(@alignCast(pool.blocks + pool.block_stride - 4));
    list[0] = 1;
    list[1] = 0;
    try testing.expectError(error.Corrupted, pool.freeMany(list[0..2]));
    try testing.expectEqual(@as(u32, 2), list[1]);
    for (0..pool.capacity) |handle| try testing.expect(pool.states[handle] != .releasing or handle == 0);
}
