//! The machine's NUMA and CPU topology, read from sysfs and procfs under a root directory and
//! written as one JSON document (what `numa.topology()` parses). Read in Zig, not JavaScript:
//! Deno refuses to read /sys from JavaScript without --allow-all.
//!
//! Everything is bounded (nodes_max nodes, affinity.cpus_max CPUs, caches_max caches a CPU,
//! file sizes in sysfs.zig), and every file may be missing or malformed: the answer then says
//! `degraded` and lists its problems. Without a usable node directory the machine reads as one
//! node holding every online CPU and all of /proc/meminfo, which is what a kernel without NUMA
//! support means.
const std = @import("std");
const assert = std.debug.assert;
const affinity = @import("affinity.zig");
const sysfs = @import("sysfs.zig");
const constants = @import("../constants.zig");

pub const nodes_max: u32 = 64;
/// Cache levels and kinds listed per CPU (index0 .. index9 in sysfs).
pub const caches_max: u32 = 10;
/// Bytes of the JSON document: 1024 CPUs with their caches fit in about 400 KiB.
pub const document_bytes_max: u32 = constants.topology_bytes_max;
const problems_max = 16;
/// Huge page sizes probed, in KiB (x86-64: 2 MiB and 1 GiB; arm64 adds 64 KiB and 32 MiB).
const huge_page_kib = [_]u64{ 64, 2048, 32768, 524288, 1048576, 16777216 };

const Mask = affinity.Mask;

/// The document being written; `full` once a write did not fit (the caller gets `exhausted`).
pub const Out = struct {
    buffer: []u8,
    length: usize = 0,
    full: bool = false,

    fn text(out: *Out, bytes: []const u8) void {
        if (out.full) return;
        if (out.buffer.len - out.length < bytes.len) {
            out.full = true;
            return;
        }
        @memcpy(out.buffer[out.length..][0..bytes.len], bytes);
        out.length += bytes.len;
    }

    fn print(out: *Out, comptime format: []const u8, args: anytype) void {
        if (out.full) return;
        const written = std.fmt.bufPrint(out.buffer[out.length..], format, args) catch {
            out.full = true;
            return;
        };
        out.length += written.len;
    }

    /// `"name":[ids]` for every id set in `mask`.
    fn ids(out: *Out, name: []const u8, mask: *const Mask) void {
        out.print("\"{s}\":[", .{name});
        var first = true;
        for (0..affinity.cpus_max) |id| {
            if (!sysfs.has(mask, @intCast(id))) continue;
            out.print("{s}{d}", .{ if (first) "" else ",", id });
            first = false;
        }
        out.text("]");
    }
};

const Problems = struct {
    items: [problems_max][]const u8 = undefined,
    count: u32 = 0,

    fn add(problems: *Problems, problem: []const u8) void {
        for (problems.items[0..problems.count]) |known| if (known.ptr == problem.ptr) return;
        if (problems.count == problems_max) return;
        problems.items[problems.count] = problem;
        problems.count += 1;
    }
};

/// Writes the topology under `root` into `out`.
pub fn write(root: *const sysfs.Root, out: *Out) void {
    var scratch: [sysfs.file_bytes_max]u8 = undefined;
    var problems = Problems{};
    const empty: Mask = @splat(0);

    const process = readStatus(root, &scratch);
    const online = listFile(root, &scratch, "/sys/devices/system/cpu/online", .{}) orelse blk: {
        problems.add("/sys/devices/system/cpu/online is missing or malformed: CPUs are the process's");
        break :blk process.cpus orelse single(0);
    };
    out.text("{\"supported\":true,");
    out.ids("onlineCpus", &online);
    out.text(",");
    out.ids("possibleCpus", &(listFile(root, &scratch, "/sys/devices/system/cpu/possible", .{}) orelse online));
    out.text(",");
    out.ids("isolatedCpus", &(listFile(root, &scratch, "/sys/devices/system/cpu/isolated", .{}) orelse empty));
    out.text(",");
    out.ids("nohzFullCpus", &(listFile(root, &scratch, "/sys/devices/system/cpu/nohz_full", .{}) orelse empty));
    out.text(",");
    out.ids("processCpus", &(process.cpus orelse online));
    out.text(",");
    out.ids("processNodes", &(process.nodes orelse single(0)));
    if (cpusetCpus(root, &scratch)) |cpuset| {
        out.text(",");
        out.ids("cpusetCpus", &cpuset);
    }
    var nodes: Mask = @splat(0);
    var node_cpus: [nodes_max]Mask = undefined;
    const node_count = writeNodes(root, &scratch, &online, &nodes, &node_cpus, &problems, out);
    writeCpus(root, &scratch, &online, &nodes, node_cpus[0..node_count], out);
    writeHugePages(root, &scratch, out);
    out.print(",\"degraded\":{},\"problems\":[", .{problems.count > 0});
    for (problems.items[0..problems.count], 0..) |problem, index| {
        out.print("{s}\"{s}\"", .{ if (index == 0) "" else ",", problem });
    }
    out.text("]}");
}

fn single(id: u32) Mask {
    var mask: Mask = @splat(0);
    mask[id / 32] = @as(u32, 1) << @intCast(id % 32);
    return mask;
}

fn listFile(root: *const sysfs.Root, scratch: *[sysfs.file_bytes_max]u8, comptime path: []const u8, args: anytype) ?Mask {
    return sysfs.list(sysfs.read(root, scratch, path, args) orelse return null);
}

const ProcessMasks = struct { cpus: ?Mask, nodes: ?Mask };

fn readStatus(root: *const sysfs.Root, scratch: *[sysfs.file_bytes_max]u8) ProcessMasks {
    const status = sysfs.read(root, scratch, "/proc/self/status", .{}) orelse return .{ .cpus = null, .nodes = null };
    const cpus = if (sysfs.field(status, "Cpus_allowed_list")) |text| sysfs.list(text) else null;
    const nodes = if (sysfs.field(status, "Mems_allowed_list")) |text| sysfs.list(text) else null;
    return .{ .cpus = cpus, .nodes = nodes };
}

/// The cgroup v2 cpuset of this process (`0::/path` in /proc/self/cgroup), if it has one.
fn cpusetCpus(root: *const sysfs.Root, scratch: *[sysfs.file_bytes_max]u8) ?Mask {
    const cgroups = sysfs.read(root, scratch, "/proc/self/cgroup", .{}) orelse return null;
    var lines = std.mem.splitScalar(u8, cgroups, '\n');
    const path = while (lines.next()) |line| {
        if (std.mem.startsWith(u8, line, "0::")) break line[3..];
    } else return null;
    if (path.len == 0 or path.len > 256 or path[0] != '/' or std.mem.indexOf(u8, path, "..") != null) return null;
    var copy: [256]u8 = undefined;
    @memcpy(copy[0..path.len], path);
    const suffix = if (path.len == 1) "" else copy[0..path.len];
    return listFile(root, scratch, "/sys/fs/cgroup{s}/cpuset.cpus.effective", .{suffix});
}

/// Writes `"nodes":[...]`; fills `nodes` and `node_cpus` (in id order); returns how many.
fn writeNodes(
    root: *const sysfs.Root,
    scratch: *[sysfs.file_bytes_max]u8,
    online: *const Mask,
    nodes: *Mask,
    node_cpus: *[nodes_max]Mask,
    problems: *Problems,
    out: *Out,
) u32 {
    const listed = listFile(root, scratch, "/sys/devices/system/node/online", .{});
    const count = if (listed) |mask| affinity.countOf(&mask) else 0;
    if (listed == null or count == 0 or count > nodes_max) {
        problems.add("/sys/devices/system/node/online is missing, malformed or lists more than 64 nodes: " ++
            "one node 0 with every online CPU");
        nodes.* = single(0);
        node_cpus[0] = online.*;
        out.text(",\"nodes\":[{\"id\":0,");
        out.ids("cpus", online);
        const meminfo = sysfs.read(root, scratch, "/proc/meminfo", .{});
        writeMemory(meminfo, problems, out);
        out.text(",\"distances\":[10]}]");
        return 1;
    }
    nodes.* = listed.?;
    var claimed: Mask = @splat(0);
    out.text(",\"nodes\":[");
    var index: u32 = 0;
    for (0..affinity.cpus_max) |id_wide| {
        const id: u32 = @intCast(id_wide);
        if (!sysfs.has(nodes, id)) continue;
        node_cpus[index] = listFile(root, scratch, "/sys/devices/system/node/node{d}/cpulist", .{id}) orelse blk: {
            problems.add("a node's cpulist is missing or malformed: it reads as holding no CPU");
            break :blk @splat(0);
        };
        // A node holds its online CPUs, each CPU one node: the first that lists it.
        var overlap = false;
        for (&node_cpus[index], online, claimed) |*word, online_word, claimed_word| {
            overlap = overlap or (word.* & online_word & claimed_word) != 0;
            word.* &= online_word & ~claimed_word;
        }
        if (overlap) problems.add("two nodes list the same CPU: it counts for the first");
        for (&claimed, node_cpus[index]) |*claimed_word, word| claimed_word.* |= word;
        out.print("{s}{{\"id\":{d},", .{ if (index == 0) "" else ",", id });
        out.ids("cpus", &node_cpus[index]);
        writeMemory(sysfs.read(root, scratch, "/sys/devices/system/node/node{d}/meminfo", .{id}), problems, out);
        writeDistances(sysfs.read(root, scratch, "/sys/devices/system/node/node{d}/distance", .{id}), count, problems, out);
        out.text("}");
        index += 1;
    }
    assert(index == count);
    out.text("]");
    return count;
}

fn writeMemory(meminfo: ?[]const u8, problems: *Problems, out: *Out) void {
    const text = meminfo orelse "";
    const total = if (sysfs.field(text, "MemTotal")) |value| sysfs.kilobytes(value) else null;
    const free = if (sysfs.field(text, "MemFree")) |value| sysfs.kilobytes(value) else null;
    if (total == null or free == null) problems.add("a meminfo is missing or malformed: its memory reads as 0");
    out.print(",\"memoryBytes\":{d},\"freeBytes\":{d}", .{ total orelse 0, free orelse 0 });
}

/// The node's SLIT row: one distance to every online node, or an empty list when it does not
/// have exactly that many entries.
fn writeDistances(row: ?[]const u8, count: u32, problems: *Problems, out: *Out) void {
    var values: [nodes_max]u32 = undefined;
    var found: u32 = 0;
    var valid = row != null;
    if (row) |text| {
        var fields = std.mem.tokenizeAny(u8, text, " \t\n");
        while (fields.next()) |word| {
            const value = sysfs.number(word) orelse {
                valid = false;
                break;
            };
            if (found == nodes_max or value > 255) {
                valid = false;
                break;
            }
            values[found] = @intCast(value);
            found += 1;
        }
    }
    if (!valid or found != count) {
        problems.add("a node's distance row is missing or does not list every node: its distances are empty");
        found = 0;
    }
    out.text(",\"distances\":[");
    for (values[0..found], 0..) |value, index| out.print("{s}{d}", .{ if (index == 0) "" else ",", value });
    out.text("]");
}

fn writeCpus(
    root: *const sysfs.Root,
    scratch: *[sysfs.file_bytes_max]u8,
    online: *const Mask,
    nodes: *const Mask,
    node_cpus: []const Mask,
    out: *Out,
) void {
    out.text(",\"cpus\":[");
    var first = true;
    for (0..affinity.cpus_max) |id_wide| {
        const id: u32 = @intCast(id_wide);
        if (!sysfs.has(online, id)) continue;
        out.print("{s}{{\"id\":{d},\"node\":{d},", .{ if (first) "" else ",", id, nodeOf(id, nodes, node_cpus) });
        first = false;
        const base = "/sys/devices/system/cpu/cpu{d}/";
        const core = if (sysfs.read(root, scratch, base ++ "topology/core_id", .{id})) |t| sysfs.signedNumber(t) else null;
        const package = if (sysfs.read(root, scratch, base ++ "topology/physical_package_id", .{id})) |t|
            sysfs.signedNumber(t)
        else
            null;
        out.print("\"core\":{d},\"package\":{d},\"caches\":[", .{ core orelse -1, package orelse -1 });
        writeCaches(root, scratch, id, out);
        out.text("]}");
    }
    out.text("]");
}

/// The node whose CPU list holds `cpu`, or -1.
fn nodeOf(cpu: u32, nodes: *const Mask, node_cpus: []const Mask) i64 {
    var index: usize = 0;
    for (0..affinity.cpus_max) |id| {
        if (!sysfs.has(nodes, @intCast(id))) continue;
        if (index == node_cpus.len) break;
        if (sysfs.has(&node_cpus[index], cpu)) return @intCast(id);
        index += 1;
    }
    return -1;
}

fn writeCaches(root: *const sysfs.Root, scratch: *[sysfs.file_bytes_max]u8, cpu: u32, out: *Out) void {
    const base = "/sys/devices/system/cpu/cpu{d}/cache/index{d}/";
    var written: u32 = 0;
    for (0..caches_max) |index| {
        const level = if (sysfs.read(root, scratch, base ++ "level", .{ cpu, index })) |t| sysfs.number(t) else null;
        if (level == null or level.? > 9) break;
        const kind = kindOf(sysfs.read(root, scratch, base ++ "type", .{ cpu, index }) orelse "");
        const bytes = if (sysfs.read(root, scratch, base ++ "size", .{ cpu, index })) |t| sysfs.size(t) else null;
        const shared = listFile(root, scratch, base ++ "shared_cpu_list", .{ cpu, index }) orelse single(cpu);
        out.print("{s}{{\"level\":{d},\"type\":\"{s}\",\"sizeBytes\":{d},", .{
            if (written == 0) "" else ",", level.?, kind, bytes orelse 0,
        });
        out.ids("sharedWith", &shared);
        out.text("}");
        written += 1;
    }
}

/// One of the kernel's cache types, or "Unknown": only these reach the document.
fn kindOf(text: []const u8) []const u8 {
    const trimmed = std.mem.trim(u8, text, " \t\n");
    inline for (.{ "Data", "Instruction", "Unified" }) |known| {
        if (std.mem.eql(u8, trimmed, known)) return known;
    }
    return "Unknown";
}

fn writeHugePages(root: *const sysfs.Root, scratch: *[sysfs.file_bytes_max]u8, out: *Out) void {
    out.text(",\"hugePages\":[");
    var first = true;
    for (huge_page_kib) |kib| {
        const base = "/sys/kernel/mm/hugepages/hugepages-{d}kB/";
        const total = if (sysfs.read(root, scratch, base ++ "nr_hugepages", .{kib})) |t| sysfs.number(t) else null;
        const free = if (sysfs.read(root, scratch, base ++ "free_hugepages", .{kib})) |t| sysfs.number(t) else null;
        if (total == null or free == null or total.? > (1 << 40) or free.? > total.?) continue;
        out.print("{s}{{\"sizeBytes\":{d},\"total\":{d},\"free\":{d}}}", .{
            if (first) "" else ",", kib * 1024, total.?, free.?,
        });
        first = false;
    }
    out.text("]");
    const mode = if (sysfs.read(root, scratch, "/sys/kernel/mm/transparent_hugepage/enabled", .{})) |text|
        transparentMode(text)
    else
        "unknown";
    out.print(",\"transparentHugePages\":\"{s}\"", .{mode});
}

/// The bracketed choice of "always [madvise] never": one of the three, or "unknown".
fn transparentMode(text: []const u8) []const u8 {
    const open = std.mem.indexOfScalar(u8, text, '[') orelse return "unknown";
    const close = std.mem.indexOfScalarPos(u8, text, open, ']') orelse return "unknown";
    const chosen = text[open + 1 .. close];
    inline for (.{ "always", "madvise", "never" }) |known| {
        if (std.mem.eql(u8, chosen, known)) return known;
    }
    return "unknown";
}

test "topology: the transparent huge page mode is the bracketed word, else unknown" {
    try std.testing.expectEqualStrings("madvise", transparentMode("always [madvise] never\n"));
    try std.testing.expectEqualStrings("unknown", transparentMode("always [sometimes] never"));
    try std.testing.expectEqualStrings("unknown", transparentMode("[always"));
}

test "topology: the machine's document parses as JSON with at least one node and CPU" {
    if (!sysfs.supported) return error.SkipZigTest;
    const buffer = try std.testing.allocator.alloc(u8, document_bytes_max);
    defer std.testing.allocator.free(buffer);
    var out = Out{ .buffer = buffer };
    write(&sysfs.Root.init("").?, &out);
    try std.testing.expect(!out.full);
    const parsed = try std.json.parseFromSlice(std.json.Value, std.testing.allocator, buffer[0..out.length], .{});
    defer parsed.deinit();
    try std.testing.expect(parsed.value.object.get("nodes").?.array.items.len >= 1);
    try std.testing.expect(parsed.value.object.get("cpus").?.array.items.len >= 1);
}

test "topology: an empty root degrades to one node, and a small buffer reports full" {
    if (!sysfs.supported) return error.SkipZigTest;
    var buffer: [4096]u8 = undefined;
    var out = Out{ .buffer = &buffer };
    write(&sysfs.Root.init("/nonexistent-hotpath-root").?, &out);
    try std.testing.expect(!out.full);
    const parsed = try std.json.parseFromSlice(std.json.Value, std.testing.allocator, buffer[0..out.length], .{});
    defer parsed.deinit();
    try std.testing.expect(parsed.value.object.get("degraded").?.bool);
    try std.testing.expectEqual(@as(usize, 1), parsed.value.object.get("nodes").?.array.items.len);
    var tiny: [16]u8 = undefined;
    var small = Out{ .buffer = &tiny };
    write(&sysfs.Root.init("").?, &small);
    try std.testing.expect(small.full);
}
