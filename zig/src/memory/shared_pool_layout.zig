//! The layout of a SharedPool region, written down once: the header every opener checks, a
//! cache slot's header, the parameters and the geometry derived from them. A region may come
//! from another process, so `checkHeader` treats its bytes as untrusted input.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const layout = @import("../layout.zig");
const free_list = @import("shared_free_list.zig");
const liveness = @import("../system/liveness.zig");

/// "HPSHPOOL" read as a little-endian u64.
pub const magic: u64 = 0x4c4f_4f50_4853_5048;
pub const layout_version: u32 = 2;
pub const kind_shared_pool: u32 = 1;
/// Written last by the creator: a region without it is not (yet) formatted.
pub const ready_value: u32 = 0x5245_4459;

pub const Header = extern struct {
    // Written once by the creator; checked by every opener.
    magic: u64,
    abi_version: u32,
    layout_version: u32,
    kind: u32,
    header_bytes: u32,
    block_size: u32,
    alignment: u32,
    capacity: u32,
    capacity_max: u32,
    grow_chunk: u32,
    caches_max: u32,
    cache_capacity: u32,
    block_stride: u32,
    cache_stride: u32,
    owners_offset: u32,
    caches_offset: u32,
    blocks_offset: u32,
    region_bytes: u64,
    layout_hash: u32,
    creator_pid: u32,
    ready: u32,
    retire_capacity: u32,
    reserved: [8]u32,
    // The free list's head, alone on its cache line.
    free_head: u64,
    pad_head: [7]u64,
    // Growth and counts of blocks.
    committed: u32,
    claimed: u32,
    high_water: u32,
    free_count: u32,
    pad_growth: [12]u32,
    // Epoch-based reclamation (shared_epochs.zig).
    /// The global epoch: never 0, advanced by collectors.
    epoch: u32,
    /// Retired blocks parked in the limbo table (from closed or dead caches).
    limbo_count: u32,
    /// Dead caches found in the middle of a batch move (each may have stranded one batch).
    interrupted_batches: u32,
    pad_epoch: [13]u32,
    // Counters, updated once per batch call.
    refills: u64,
    flushes: u64,
    reclaimed_blocks: u64,
    reclaimed_caches: u64,
    failed: u64,
    grows: u64,
    grow_failures: u64,
    /// Retired blocks freed once no reader could still see them.
    retired_freed: u64,
};

/// One Worker's magazine. JavaScript reads `count` and the handles through a Uint32Array:
/// handle i (1-based) is word `handles_word - 1 + i`, and the word before the first handle,
/// `empty_mark`, holds the constant `empty_mark` so that an empty magazine reads "no handle".
pub const CacheHeader = extern struct {
    count: u32,
    /// generation << 2 | CacheState, changed by CAS only.
    state: u32,
    owner: liveness.Identity,
    /// The allocations this cache handed out as owner byte: its index + 1.
    owner_tag: u32,
    /// The epoch this Worker entered, or 0 outside (written by its JavaScript enter/exit).
    epoch: u32,
    /// Entries of this cache's retire ring (handle, epoch pairs after the handles).
    retired: u32,
    /// Monotonic milliseconds since a collector first found this reader blocking an advance; 0 if not.
    blocking_since_ms: u32,
    /// 1 while a native call moves a batch between this cache and the free list: an owner that
    /// dies with it set may have stranded that batch (see shared_recovery.zig).
    transit: u32,
    reserved: [2]u32,
    empty_mark: u32,
};

/// What an empty magazine's "top handle" reads: past every bitmap (so its bit reads as clear),
/// and below 2^31 so that JavaScript's loads of handles stay small integers (a Uint32Array read
/// of 0xffffffff is a double, which makes the JITs compile the alloc path for doubles).
pub const empty_mark: u32 = 0x7fff_ffff;

pub const CacheState = enum(u2) { free = 0, live = 1, busy = 2, closed = 3 };

/// What `count` holds after close: past every handle, so JavaScript alloc and free both take
/// their slow path (which reports CLOSED) without a test of their own.
pub const closed_count: u32 = 0xffff_fff0;
pub const handles_word: u32 = @sizeOf(CacheHeader) / 4;

comptime {
    assert(@sizeOf(Header) % constants.cache_line_bytes == 0);
    assert(@offsetOf(Header, "free_head") % constants.cache_line_bytes == 0);
    assert(@offsetOf(Header, "committed") % constants.cache_line_bytes == 0);
    assert(@offsetOf(Header, "refills") % constants.cache_line_bytes == 0);
    assert(@sizeOf(CacheHeader) == constants.cache_line_bytes);
    assert(@offsetOf(CacheHeader, "empty_mark") == @sizeOf(CacheHeader) - 4);
    assert(constants.shared_caches_max < 255); // owner bytes 1..255
    assert(empty_mark >= constants.pool_capacity_max and empty_mark <= std.math.maxInt(i32));
    assert(constants.shared_cache_capacity_max <= free_list.batch_max);
}

pub const Params = struct {
    block_size: u32,
    alignment: u32,
    capacity: u32,
    capacity_max: u32,
    grow_chunk: u32,
    caches_max: u32,
    cache_capacity: u32,
    /// Retired (handle, epoch) pairs one cache holds before it must collect.
    retire_capacity: u32,
};

/// The parameters among the fields of `source` (a creation config or a header: same names).
pub fn paramsOf(source: anytype) Params {
    var params: Params = undefined;
    inline for (@typeInfo(Params).@"struct".field_names) |name| @field(params, name) = @field(source, name);
    return params;
}

/// Owner byte of a retired block: allocated to nobody, not free yet.
pub const owner_retired: u8 = 255;

pub const Geometry = struct {
    params: Params,
    block_stride: u32,
    cache_stride: u32,
    owners_offset: u32,
    caches_offset: u32,
    /// Byte offset of a cache's retire ring from the cache's start.
    retire_offset: u32,
    limbo_offset: u32,
    limbo_entries: u32,
    /// One cache line per cache: the head of its home stack (see `popHome`).
    homes_offset: u32,
    /// One bitmap per cache, `bitmap_words` u32 words each (whole cache lines): bit h is set
    /// while handle h sits in that cache's magazine (see `SharedPool.bitmap`).
    bitmaps_offset: u32,
    bitmap_words: u32,
    blocks_offset: u32,
    region_bytes: u64,

    /// Every size and offset of a region, from its parameters; error.Invalid beyond a limit.
    pub fn compute(params: Params) error{Invalid}!Geometry {
        const p = params;
        if (p.block_size == 0 or p.block_size > constants.block_size_max) return error.Invalid;
        // The minimum first: isPowerOfTwo asserts on 0.
        if (p.alignment < constants.block_alignment_min or !std.math.isPowerOfTwo(p.alignment)) return error.Invalid;
        if (p.alignment > constants.alignment_max) return error.Invalid;
        if (p.capacity == 0 or p.capacity_max > constants.pool_capacity_max) return error.Invalid;
        if (p.grow_chunk == 0 and p.capacity_max != p.capacity) return error.Invalid;
        if (p.grow_chunk != 0 and (p.capacity_max <= p.capacity or p.grow_chunk > p.capacity_max)) return error.Invalid;
        if (p.caches_max == 0 or p.caches_max > constants.shared_caches_max) return error.Invalid;
        if (p.cache_capacity < 2 or p.cache_capacity > constants.shared_cache_capacity_max) return error.Invalid;
        if (p.retire_capacity < 4 or p.retire_capacity > constants.shared_retire_capacity_max) return error.Invalid;
        const line = constants.cache_line_bytes;
        const stride: u64 = std.mem.alignForward(u64, p.block_size, p.alignment);
        const retire_offset = std.mem.alignForward(u64, @sizeOf(CacheHeader) + 4 * @as(u64, p.cache_capacity), 8);
        const cache_stride: u64 = std.mem.alignForward(u64, retire_offset + 8 * @as(u64, p.retire_capacity), line);
        const owners_offset: u64 = @sizeOf(Header);
        const caches_offset = std.mem.alignForward(u64, owners_offset + p.capacity_max, line);
        const limbo_offset = caches_offset + cache_stride * p.caches_max;
        const limbo_entries: u64 = @min(p.capacity_max, constants.shared_limbo_max);
        const limbo_end = limbo_offset + 8 * limbo_entries;
        const homes_offset = std.mem.alignForward(u64, limbo_end, line);
        const homes_end = homes_offset + @as(u64, line) * p.caches_max;
        const bitmap_bytes = std.mem.alignForward(u64, 4 * ((@as(u64, p.capacity_max) + 31) / 32), line);
        const bitmaps_offset = homes_end;
        const bitmaps_end = bitmaps_offset + bitmap_bytes * p.caches_max;
        const blocks_offset = std.mem.alignForward(u64, bitmaps_end, @max(line, p.alignment));
        const end = blocks_offset + stride * p.capacity_max;
        if (end > constants.region_bytes_max) return error.Invalid;
        return .{
            .params = p,
            .block_stride = @intCast(stride),
            .cache_stride = @intCast(cache_stride),
            .owners_offset = @intCast(owners_offset),
            .caches_offset = @intCast(caches_offset),
            .retire_offset = @intCast(retire_offset),
            .limbo_offset = @intCast(limbo_offset),
            .limbo_entries = @intCast(limbo_entries),
            .homes_offset = @intCast(homes_offset),
            .bitmaps_offset = @intCast(bitmaps_offset),
            .bitmap_words = @intCast(bitmap_bytes / 4),
            .blocks_offset = @intCast(blocks_offset),
            .region_bytes = std.mem.alignForward(u64, end, constants.page_bytes),
        };
    }

    /// Bytes from the region's start that hold metadata and the first `blocks` blocks, in pages.
    pub fn committedBytes(geometry: Geometry, blocks: u32) u64 {
        assert(blocks <= geometry.params.capacity_max);
        const end = geometry.blocks_offset + @as(u64, blocks) * geometry.block_stride;
        return @min(std.mem.alignForward(u64, end, constants.page_bytes), geometry.region_bytes);
    }

    /// FNV-1a over every geometry field: an opener's recomputed hash must match the header's.
    pub fn hash(geometry: Geometry) u32 {
        const g = geometry;
        const p = g.params;
        const words = [_]u64{
            p.block_size,    p.alignment,      p.capacity,     p.capacity_max,    p.grow_chunk,
            p.caches_max,    p.cache_capacity, g.block_stride, g.cache_stride,    g.owners_offset,
            g.caches_offset, g.blocks_offset,  g.region_bytes, p.retire_capacity, g.retire_offset,
            g.limbo_offset,  g.limbo_entries,  g.homes_offset, g.bitmaps_offset,  g.bitmap_words,
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
    if (header.kind != kind_shared_pool) return error.Incompatible;
    const geometry = Geometry.compute(paramsOf(header)) catch return error.Corrupted;
    // Every field written once by the creator must be what this geometry makes, reserved words
    // zero, the ready mark set and the layout hash right: one comparison covers them all.
    var expected = headerFor(geometry, header.creator_pid);
    expected.ready = ready_value;
    const immutable = @offsetOf(Header, "free_head");
    if (!std.mem.eql(u8, std.mem.asBytes(&expected)[0..immutable], std.mem.asBytes(&header)[0..immutable])) {
        return error.Corrupted;
    }
    if (file_bytes != geometry.region_bytes) return error.Corrupted;
    return geometry;
}

/// The header a creator writes for `geometry`: its fixed part, the free list empty and the
/// counts of a new pool, `ready` still 0 (set last, once the region is formatted).
pub fn headerFor(geometry: Geometry, creator_pid: u32) Header {
    const p = geometry.params;
    var h = std.mem.zeroes(Header);
    h.magic = magic;
    h.abi_version = constants.abi_version;
    h.layout_version = layout_version;
    h.kind = kind_shared_pool;
    h.header_bytes = @sizeOf(Header);
    h.block_size = p.block_size;
    h.alignment = p.alignment;
    h.capacity = p.capacity;
    h.capacity_max = p.capacity_max;
    h.grow_chunk = p.grow_chunk;
    h.caches_max = p.caches_max;
    h.cache_capacity = p.cache_capacity;
    h.retire_capacity = p.retire_capacity;
    h.block_stride = geometry.block_stride;
    h.cache_stride = geometry.cache_stride;
    h.owners_offset = geometry.owners_offset;
    h.caches_offset = geometry.caches_offset;
    h.blocks_offset = geometry.blocks_offset;
    h.region_bytes = geometry.region_bytes;
    h.layout_hash = geometry.hash();
    h.creator_pid = creator_pid;
    h.free_head = @bitCast(free_list.Head{ .top = free_list.end, .tag = 0 });
    h.committed = p.capacity;
    h.claimed = p.capacity;
    h.epoch = 1;
    return h;
}
