//! Everything TypeScript must agree on, as one table of named numbers built by reflection:
//! the size and every field offset of each shared `extern struct`, every u32/u64 limit in
//! constants.zig, every Status and every BlockState. `zig build mirrors` writes it to ffi/abi.generated.ts;
//! the library exports it (hp_layout_*) with a fingerprint over names and values, so a
//! renamed, moved or changed entry is caught when TypeScript loads the library.
const std = @import("std");
const assert = std.debug.assert;
const constants = @import("../constants.zig");
const layout = @import("../layout.zig");
const config = @import("config.zig");
const Status = @import("../status.zig").Status;
const shared_pool = @import("../memory/shared_pool.zig");
const shared_exports = @import("shared_exports.zig");
const ring_exports = @import("ring_exports.zig");
const ring_layout = @import("../ring/ring_layout.zig");

pub const Entry = struct {
    /// The TypeScript object the entry belongs to, e.g. "PoolHeader", "limits", "Status".
    group: []const u8,
    /// The Zig name (snake_case); TypeScript sees it in camelCase.
    name: []const u8,
    value: i64,
};

/// The structs mirrored field by field, in table order.
pub const structs = .{
    .{ "PoolHeader", layout.PoolHeader },
    .{ "ArenaHeader", layout.ArenaHeader },
    .{ "PoolConfig", config.PoolConfig },
    .{ "ArenaConfig", config.ArenaConfig },
    .{ "SharedPoolConfig", config.SharedPoolConfig },
    .{ "SharedPoolHeader", shared_pool.Header },
    .{ "SharedCacheHeader", shared_pool.CacheHeader },
    .{ "SharedStats", shared_exports.StatsOut },
    .{ "SharedGeometry", shared_exports.GeometryOut },
    .{ "SharedCacheInfo", shared_exports.CacheInfoOut },
    .{ "RingConfig", config.RingConfig },
    .{ "RingHeader", ring_layout.Header },
    .{ "RingRole", ring_layout.Role },
    .{ "RingGeometry", ring_exports.RingGeometryOut },
    .{ "RingStats", ring_exports.RingStatsOut },
    .{ "RingRoleInfo", ring_exports.RingRoleOut },
    .{ "NumaWhere", @import("../system/placement.zig").Counts },
    .{ "Placement", config.Placement },
    .{ "PagesReport", @import("../system/smaps.zig").PagesReport },
    .{ "StatsHeader", @import("../monitoring/stats_directory.zig").Header },
    .{ "StatsEntry", @import("../monitoring/stats_directory.zig").Entry },
    .{ "StatsRead", @import("stats_exports.zig").StatsReadOut },
    .{ "StatsEntryRead", @import("stats_exports.zig").StatsEntryOut },
    .{ "ClockInfo", @import("../system/tsc_clock.zig").Info },
};

/// Enums mirrored value by value after Status and BlockState, in table order.
const enums = .{
    .{ "ClockSource", @import("../system/tsc_clock.zig").ClockSource },
    .{ "ClockFallback", @import("../system/tsc.zig").ClockFallback },
};

/// Values of SharedPool's region format that TypeScript reads or writes (tests forge headers).
const shared_values = .{
    .{ "shared_magic_low", shared_pool.magic & 0xffff_ffff },
    .{ "shared_magic_high", shared_pool.magic >> 32 },
    .{ "shared_layout_version", shared_pool.layout_version },
    .{ "shared_kind", shared_pool.kind_shared_pool },
    .{ "shared_ready", shared_pool.ready_value },
    .{ "shared_closed_count", shared_pool.closed_count },
    .{ "shared_handles_word", shared_pool.handles_word },
    .{ "ring_magic_low", ring_layout.magic & 0xffff_ffff },
    .{ "ring_magic_high", ring_layout.magic >> 32 },
    .{ "ring_layout_version", ring_layout.layout_version },
    .{ "ring_ready", ring_layout.ready_value },
    .{ "ring_line_bytes", ring_layout.line_bytes },
    .{ "stats_read_out_bytes", @import("stats_exports.zig").read_out_bytes },
    .{ "stats_list_pids_max", @import("stats_exports.zig").list_pids_max },
    .{ "stats_kinds_max", @import("../monitoring/stats_directory.zig").kinds_max },
    .{ "stats_file_bytes", @import("../monitoring/stats_directory.zig").file_bytes },
};

pub const entries: []const Entry = &build();

fn countEntries() usize {
    var count: usize = 0;
    for (structs) |pair| count += 1 + @typeInfo(pair[1]).@"struct".field_names.len;
    for (@typeInfo(constants).@"struct".decl_names) |name| {
        if (isLimit(@TypeOf(@field(constants, name)))) count += 1;
    }
    count += 2; // the two magic values
    count += shared_values.len;
    count += @typeInfo(Status).@"enum".field_names.len;
    count += @typeInfo(layout.BlockState).@"enum".field_names.len;
    for (enums) |pair| count += @typeInfo(pair[1]).@"enum".field_names.len;
    return count;
}

fn isLimit(comptime T: type) bool {
    return T == u32 or T == u64;
}

fn build() [countEntries()]Entry {
    @setEvalBranchQuota(100_000);
    var result: [countEntries()]Entry = undefined;
    var index: usize = 0;
    for (structs) |pair| {
        const T = pair[1];
        result[index] = .{ .group = pair[0], .name = "size", .value = @sizeOf(T) };
        index += 1;
        for (@typeInfo(T).@"struct".field_names) |name| {
            result[index] = .{ .group = pair[0], .name = name, .value = @offsetOf(T, name) };
            index += 1;
        }
    }
    for (@typeInfo(constants).@"struct".decl_names) |name| {
        const value = @field(constants, name);
        if (!isLimit(@TypeOf(value))) continue;
        result[index] = .{ .group = "limits", .name = name, .value = value };
        index += 1;
    }
    result[index] = .{ .group = "limits", .name = "pool_magic", .value = layout.PoolHeader.magic_value };
    result[index + 1] = .{ .group = "limits", .name = "arena_magic", .value = layout.ArenaHeader.magic_value };
    index += 2;
    for (shared_values) |pair| {
        result[index] = .{ .group = "limits", .name = pair[0], .value = pair[1] };
        index += 1;
    }
    const status = @typeInfo(Status).@"enum";
    for (status.field_names, status.field_values) |name, value| {
        result[index] = .{ .group = "Status", .name = name, .value = value };
        index += 1;
    }
    const block_state = @typeInfo(layout.BlockState).@"enum";
    for (block_state.field_names, block_state.field_values) |name, value| {
        result[index] = .{ .group = "BlockState", .name = name, .value = value };
        index += 1;
    }
    for (enums) |pair| {
        const info = @typeInfo(pair[1]).@"enum";
        for (info.field_names, info.field_values) |name, value| {
            result[index] = .{ .group = pair[0], .name = name, .value = value };
            index += 1;
        }
    }
    assert(index == result.len);
    return result;
}

/// FNV-1a over every group, name and value: equal fingerprints mean equal tables.
pub const fingerprint: u32 = blk: {
    @setEvalBranchQuota(1_000_000);
    var hash: u32 = layout.fnv_offset;
    for (entries) |entry| {
        hash = layout.fnv1a(hash, entry.group ++ "." ++ entry.name ++ "=");
        hash = layout.fnv1a(hash, std.mem.asBytes(&entry.value));
    }
    break :blk hash;
};

test "mirror table: names are unique within a group and values fit a JavaScript number" {
    for (entries, 0..) |entry, index| {
        try std.testing.expect(@abs(entry.value) <= 1 << 53);
        for (entries[index + 1 ..]) |other| {
            const same = std.mem.eql(u8, entry.group, other.group) and std.mem.eql(u8, entry.name, other.name);
            try std.testing.expect(!same);
        }
    }
}
