//! Every limit of the library, in one place. Each is checked at comptime where it can be
//! and enforced at the C ABI, so nothing JS passes can exceed it. Every `u32`/`u64` constant
//! here is mirrored to TypeScript (ffi/abi.generated.ts, `LIMITS`) by `zig build mirrors`.
const std = @import("std");
const assert = std.debug.assert;

/// Bumped whenever an exported signature or a shared layout changes.
pub const abi_version: u32 = 6;

/// Pools and arenas alive, or closed and waiting for their views to be collected.
pub const slots_max: u32 = 1 << 14;
/// Generation bits in an id; an id is `generation << slot_bits | slot`.
pub const slot_bits: u32 = 14;
pub const generation_max: u32 = (1 << 16) - 1;

pub const pool_capacity_max: u32 = 1 << 26;
pub const block_size_max: u32 = 1 << 20;
pub const alignment_max: u32 = 4096;
/// Arena offsets stay below 2^31 so JavaScript can align them with 32-bit bit operations.
pub const arena_capacity_max: u32 = 1 << 30;
/// One mapping at most; JavaScript builds one ArrayBuffer over it.
pub const region_bytes_max: u64 = 1 << 32;
/// Handles moved by one batch call.
pub const batch_max: u32 = 1 << 20;

/// The end of a pool's free list, and "no handle".
pub const handle_nil: u32 = std.math.maxInt(u32);
pub const cache_line_bytes: u32 = 64;
pub const page_bytes: u32 = 4096;
/// Header of a pool or arena region: one hot cache line, one cold.
pub const header_bytes: u32 = 2 * cache_line_bytes;
/// Smallest internal block alignment: the free list keeps a u32 in each free block.
pub const block_alignment_min: u32 = 4;
/// Bytes of every creation config (abi/config.zig): room for options to come.
pub const config_bytes: u32 = 64;
/// JavaScript realms (the main thread and each Worker) that may hold views of one region.
pub const holders_max: u32 = 1 << 16;
/// Per-Worker caches of one SharedPool: Workers and processes attached at once. An allocated
/// block's owner byte holds its cache's index + 1, so at most 254.
pub const shared_caches_max: u32 = 254;
/// Handles one SharedPool cache holds; refill and flush move half of it in one call.
pub const shared_cache_capacity_max: u32 = 4096;
/// Retired blocks one SharedPool cache holds before it collects.
pub const shared_retire_capacity_max: u32 = 4096;
/// Entries of a SharedPool's limbo table: retired blocks of closed or dead caches.
pub const shared_limbo_max: u32 = 4096;
/// Payload bytes of one ring slot.
pub const ring_slot_bytes_max: u32 = 1 << 16;
/// Slots of one ring: positions are u32 and wrap, so differences must stay below 2^31.
pub const ring_capacity_max: u32 = 1 << 24;
/// Producers and consumers attached to one ring at once.
pub const ring_roles_max: u32 = 64;
/// Longest an MPMC consumer waits for a claimed slot's commit before it skips the slot.
pub const ring_unblock_timeout_ms_max: u32 = 3_600_000;
/// Longest one futex wait, so that a lost wake-up costs at most this much latency.
pub const ring_park_ns_max: u32 = 100_000_000;
/// Bytes of a named region's path, including the `/dev/shm/` a bare name gets.
pub const shared_path_bytes_max: u32 = 256;
/// CPUs an affinity mask names (glibc's cpu_set_t); masks cross FFI as this many u32 words.
pub const affinity_cpus_max: u32 = 1024;
pub const affinity_mask_words: u32 = affinity_cpus_max / 32;
/// Bytes of the topology document (JSON) `numa.topology()` reads.
pub const topology_bytes_max: u32 = 1 << 20;
/// Objects one process publishes in its counter directory at once (more are counted, not shown).
pub const stats_entries_max: u32 = 256;
/// Counters per published object.
pub const stats_counters_max: u32 = 16;
/// Bytes of a published object's name (longer names are cut).
pub const stats_name_bytes_max: u32 = 64;
/// Bytes of the command line a counter directory records for its process.
pub const stats_command_bytes_max: u32 = 128;
/// Slowest publishing cadence a directory entry may declare (its staleness bound).
pub const stats_interval_ms_max: u32 = 3_600_000;

comptime {
    assert(slots_max == 1 << slot_bits);
    assert((@as(u64, generation_max) << slot_bits | (slots_max - 1)) <= std.math.maxInt(i32));
    assert(std.math.isPowerOfTwo(alignment_max));
    assert(alignment_max <= page_bytes);
    assert(pool_capacity_max < handle_nil);
    assert(pool_capacity_max <= std.math.maxInt(i32));
    assert(arena_capacity_max <= std.math.maxInt(i32) - page_bytes);
    assert(batch_max <= std.math.maxInt(i32));
    assert(header_bytes % cache_line_bytes == 0);
    assert(config_bytes % 8 == 0);
}
