//! The layout of a process's counter directory and the two sides of it: the publishing threads
//! of that process, and readers in any process. A directory is a small named file
//! (`/dev/shm/hotpath-stats-<pid>`): a header naming the process, then `entries_max` entries,
//! one per published object (kind, name, node) with a copy of its counters. Aeron's counters
//! file is the model: readers read it (through a descriptor, not a mapping: a file truncated under
//! a mapping would raise SIGBUS) and never touch the writer's hot path.
//!
//! An entry has one writer at a time (the thread that claimed it; the process serialises its
//! writers). It is published under a sequence lock: odd while written, even when complete. A
//! reader copies the entry word by word between two loads of the sequence and keeps the copy
//! only when both were the same even value; after `read_attempts_max` failures it reports the
//! entry torn. Every word is loaded and stored atomically, so a torn copy is detected, never
//! undefined. A writer killed mid-write leaves an odd sequence, and its identity says dead.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const liveness = @import("../system/liveness.zig");

pub const magic: u64 = 0x3153_5441_5453_5048; // "HPSTATS1"
pub const layout_version: u32 = 1;
pub const entries_max = constants.stats_entries_max;
pub const counters_max = constants.stats_counters_max;
pub const name_bytes_max = constants.stats_name_bytes_max;
pub const command_bytes_max = constants.stats_command_bytes_max;
/// Kind codes are 1 .. kinds_max (TypeScript's COUNTER_KINDS, in order); 0 is a free entry.
pub const kinds_max: u32 = 15;
/// Copies a reader tries before it reports an entry torn (a writer holds it for well under 1 µs).
pub const read_attempts_max: u32 = 64;

pub const Header = extern struct {
    magic: u64,
    layout_version: u32,
    entries_max: u32,
    entry_bytes: u32,
    counters_max: u32,
    /// The process: its main thread, which lives as long as the process.
    owner: liveness.Identity,
    /// CLOCK_MONOTONIC at creation.
    created_ns: u64,
    /// Claims refused because every entry was taken (objects the directory does not show).
    overflow: u64,
    command_bytes: u32,
    reserved_word: u32,
    command: [command_bytes_max]u8,
    reserved: [56]u8,
};

pub const Entry = extern struct {
    /// The sequence lock: odd while being written, 0 before the first write.
    sequence: u64,
    /// The claiming thread's tid, 0 when the entry is free.
    claim: u32,
    kind: u32,
    owner: liveness.Identity,
    /// CLOCK_MONOTONIC of the last publication, 0 before the first.
    published_ns: u64,
    /// The publisher's cadence: a reader may see counters this old (plus one publication).
    interval_ns: u64,
    node: i32,
    name_bytes: u32,
    name: [name_bytes_max]u8,
    counters: [counters_max]f64,
};

const entry_words = @sizeOf(Entry) / 8;

comptime {
    assert(@sizeOf(Header) == 256);
    assert(@sizeOf(Entry) == 256);
    assert(@sizeOf(Entry) % 8 == 0 and @offsetOf(Entry, "sequence") == 0);
    assert(entries_max >= 1 and entries_max <= 1 << 16);
}

/// The directory as mapped (writable by its process, read-only elsewhere).
pub const Directory = extern struct {
    header: Header,
    entries: [entries_max]Entry,
};

/// Bytes of a directory file: the Directory, in whole pages.
pub const file_bytes: u64 = std.mem.alignForward(u64, @sizeOf(Directory), constants.page_bytes);

comptime {
    assert(@sizeOf(Directory) == @sizeOf(Header) + @as(u64, entries_max) * @sizeOf(Entry));
    assert(file_bytes >= @sizeOf(Directory) and file_bytes % constants.page_bytes == 0);
}

/// Writes the header of a new (zero-filled) directory for the process `owner`.
pub fn format(directory: *Directory, owner: liveness.Identity, command: []const u8, created_ns: u64) void {
    assert(directory.header.magic == 0);
    const kept = @min(command.len, command_bytes_max);
    directory.header = .{
        .magic = 0,
        .layout_version = layout_version,
        .entries_max = entries_max,
        .entry_bytes = @sizeOf(Entry),
        .counters_max = counters_max,
        .owner = owner,
        .created_ns = created_ns,
        .overflow = 0,
        .command_bytes = @intCast(kept),
        .reserved_word = 0,
        .command = @splat(0),
        .reserved = @splat(0),
    };
    @memcpy(directory.header.command[0..kept], command[0..kept]);
    // The magic last: a reader that sees it sees the rest of the header.
    @atomicStore(u64, &directory.header.magic, magic, .release);
}

/// Whether `header` describes a directory this library can read (any other file is refused).
pub fn headerValid(header: *const Header) bool {
    return header.magic == magic and header.layout_version == layout_version and
        header.entries_max == entries_max and header.entry_bytes == @sizeOf(Entry) and
        header.counters_max == counters_max and header.command_bytes <= command_bytes_max;
}

/// What a thread publishes about one object.
pub const Description = struct { kind: u32, node: i32, name: []const u8 };

/// Claims a free entry (or one whose owner died) for `me`; null when every entry is taken.
/// The caller serialises the writers of this process.
pub fn claim(directory: *Directory, me: liveness.Identity, description: Description) ?u32 {
    assert(description.kind >= 1 and description.kind <= kinds_max);
    assert(me.tid != 0);
    const index = freeEntry(directory) orelse {
        _ = @atomicRmw(u64, &directory.header.overflow, .Add, 1, .monotonic);
        return null;
    };
    const entry = &directory.entries[index];
    var value = std.mem.zeroes(Entry);
    value.claim = me.tid;
    value.kind = description.kind;
    value.owner = me;
    value.node = description.node;
    const kept = @min(description.name.len, name_bytes_max);
    value.name_bytes = @intCast(kept);
    @memcpy(value.name[0..kept], description.name[0..kept]);
    value.counters = @splat(std.math.nan(f64));
    write(entry, &value);
    return index;
}

fn freeEntry(directory: *Directory) ?u32 {
    for (&directory.entries, 0..) |*entry, index| {
        if (@atomicLoad(u32, &entry.claim, .acquire) == 0) return @intCast(index);
    }
    // Entries of threads that ended without releasing them (a Worker terminated mid-run).
    for (&directory.entries, 0..) |*entry, index| {
        if (liveness.check(entry.owner) == .dead) return @intCast(index);
    }
    return null;
}

/// Whether `me` holds entry `index`.
pub fn holds(directory: *const Directory, index: u32, me: liveness.Identity) bool {
    if (index >= entries_max) return false;
    const entry = &directory.entries[index];
    return @atomicLoad(u32, &entry.claim, .acquire) == me.tid and entry.owner.thread_start == me.thread_start;
}

/// Publishes new counters of entry `index` (held by the caller).
pub fn publish(directory: *Directory, index: u32, counters: *const [counters_max]f64, now_ns: u64, interval_ns: u64) void {
    assert(index < entries_max);
    const entry = &directory.entries[index];
    assert(entry.claim != 0);
    var value = entry.*; // only this thread writes the entry, so its own read is stable
    value.published_ns = now_ns;
    value.interval_ns = interval_ns;
    value.counters = counters.*;
    write(entry, &value);
}

/// Frees entry `index` (held by the caller): readers stop showing it.
pub fn release(directory: *Directory, index: u32) void {
    assert(index < entries_max);
    const entry = &directory.entries[index];
    assert(entry.claim != 0);
    const cleared = std.mem.zeroes(Entry);
    write(entry, &cleared);
}

/// Stores every word of `value` but the sequence into `entry` under the sequence lock.
fn write(entry: *Entry, value: *const Entry) void {
    const sequence = @atomicLoad(u64, &entry.sequence, .monotonic);
    const odd = sequence | 1; // an odd sequence left by a dead writer stays odd
    @atomicStore(u64, &entry.sequence, odd, .monotonic);
    const target: *[entry_words]u64 = @ptrCast(entry);
    const source: *const [entry_words]u64 = @ptrCast(value);
    for (1..entry_words) |word| @atomicStore(u64, &target[word], source[word], .release);
    @atomicStore(u64, &entry.sequence, odd + 1, .release);
}

/// Copies entry `index` into `out` when it is claimed; whether the copy is consistent (false:
/// a writer was in it for every attempt).
pub fn readEntry(directory: *const Directory, index: u32, out: *Entry) bool {
    assert(index < entries_max);
    const entry = &directory.entries[index];
    const source: *const [entry_words]u64 = @ptrCast(entry);
    const target: *[entry_words]u64 = @ptrCast(out);
    for (0..read_attempts_max) |_| {
        const before = @atomicLoad(u64, &entry.sequence, .acquire);
        for (1..entry_words) |word| target[word] = @atomicLoad(u64, &source[word], .acquire);
        const after = @atomicLoad(u64, &entry.sequence, .acquire);
        if (before == after and before & 1 == 0) {
            target[0] = before;
            return true;
        }
        std.atomic.spinLoopHint();
    }
    return false;
}

const testing = std.testing;

fn testDirectory() !*Directory {
    const directory = try testing.allocator.create(Directory);
    directory.* = std.mem.zeroes(Directory);
    format(directory, liveness.current(), "test command", 1);
    return directory;
}

test "stats directory: claim, publish, read, release" {
    const directory = try testDirectory();
    defer testing.allocator.destroy(directory);
    try testing.expect(headerValid(&directory.header));
    const me = liveness.current();
    const index = claim(directory, me, .{ .kind = 1, .node = 0, .name = "orders" }).?;
    try testing.expect(holds(directory, index, me));
    var counters: [counters_max]f64 = @splat(0);
    counters[1] = 42;
    publish(directory, index, &counters, 5, 250);
    var copy: Entry = undefined;
    try testing.expect(readEntry(directory, index, &copy));
    try testing.expectEqual(@as(f64, 42), copy.counters[1]);
    try testing.expectEqualStrings("orders", copy.name[0..copy.name_bytes]);
    try testing.expectEqual(@as(u64, 4), copy.sequence); // two writes
    release(directory, index);
    try testing.expect(!holds(directory, index, me));
    try testing.expect(readEntry(directory, index, &copy));
    try testing.expectEqual(@as(u32, 0), copy.claim);
}

test "stats directory: a full directory counts overflow and reuses a dead thread's entries" {
    const directory = try testDirectory();
    defer testing.allocator.destroy(directory);
    const me = liveness.current();
    for (0..entries_max) |_| _ = claim(directory, me, .{ .kind = 2, .node = -1, .name = "x" }).?;
    try testing.expectEqual(@as(?u32, null), claim(directory, me, .{ .kind = 2, .node = -1, .name = "y" }));
    try testing.expectEqual(@as(u64, 1), directory.header.overflow);
    var gone = me;
    gone.thread_start +%= 1; // a thread of this tid that no longer runs
    directory.entries[7].owner = gone;
    try testing.expectEqual(@as(?u32, 7), claim(directory, me, .{ .kind = 2, .node = -1, .name = "z" }));
}

test "stats directory: a writer stopped mid-write leaves the entry torn for readers" {
    const directory = try testDirectory();
    defer testing.allocator.destroy(directory);
    const index = claim(directory, liveness.current(), .{ .kind = 1, .node = 0, .name = "a" }).?;
    directory.entries[index].sequence |= 1;
    var copy: Entry = undefined;
    try testing.expect(!readEntry(directory, index, &copy));
    var header = directory.header;
    header.entries_max += 1;
    try testing.expect(!headerValid(&header));
}

test "stats directory: a reader racing a writer never keeps a mixed copy" {
    const directory = try testDirectory();
    defer testing.allocator.destroy(directory);
    const index = claim(directory, liveness.current(), .{ .kind = 1, .node = 0, .name = "race" }).?;
    var stop = std.atomic.Value(bool).init(false);
    const writer = try std.Thread.spawn(.{}, struct {
        fn run(target: *Directory, slot: u32, done: *std.atomic.Value(bool)) void {
            var round: f64 = 0;
            while (!done.load(.acquire)) : (round += 1) {
                const counters: [counters_max]f64 = @splat(round);
                publish(target, slot, &counters, 1, 1);
            }
        }
    }.run, .{ directory, index, &stop });
    var copy: Entry = undefined;
    var consistent: u32 = 0;
    for (0..20_000) |_| {
        if (!readEntry(directory, index, &copy)) continue;
        consistent += 1;
        for (copy.counters) |value| try testing.expect(value == copy.counters[0] or std.math.isNan(copy.counters[0]));
    }
    stop.store(true, .release);
    writer.join();
    try testing.expect(consistent > 0);
}
