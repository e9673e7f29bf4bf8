//! The root of libhotpath.so: the FFI exports and the Node-API entry point.
comptime {
    _ = @import("abi/exports.zig");
    _ = @import("abi/shared_exports.zig");
    _ = @import("abi/ring_exports.zig");
    _ = @import("abi/system_exports.zig");
    _ = @import("abi/stats_exports.zig");
    _ = @import("abi/clock_exports.zig");
    _ = @import("abi/napi.zig");
}

test {
    _ = @import("abi/exports.zig");
    _ = @import("abi/config.zig");
    _ = @import("abi/mirror_table.zig");
    _ = @import("memory/region.zig");
    _ = @import("memory/pool.zig");
    _ = @import("memory/arena.zig");
    _ = @import("memory/registry.zig");
    _ = @import("memory/shared_free_list.zig");
    _ = @import("memory/shared_region.zig");
    _ = @import("memory/shared_pool.zig");
    _ = @import("memory/shared_pool_layout.zig");
    _ = @import("memory/shared_pool_test.zig");
    _ = @import("memory/shared_epochs.zig");
    _ = @import("memory/shared_recovery.zig");
    _ = @import("abi/shared_exports.zig");
    _ = @import("abi/ring_exports.zig");
    _ = @import("ring/ring_layout.zig");
    _ = @import("ring/ring.zig");
    _ = @import("system/liveness.zig");
    _ = @import("system/mutex_guard.zig");
    _ = @import("system/clock.zig");
    _ = @import("system/affinity.zig");
    _ = @import("system/sysfs.zig");
    _ = @import("system/topology.zig");
    _ = @import("system/placement.zig");
    _ = @import("system/smaps.zig");
    _ = @import("memory/binding.zig");
    _ = @import("abi/system_exports.zig");
    _ = @import("monitoring/stats_directory.zig");
    _ = @import("abi/stats_exports.zig");
    _ = @import("system/tsc.zig");
    _ = @import("system/tsc_clock.zig");
    _ = @import("abi/clock_exports.zig");
}
