//! A process-wide pthread mutex held for one scope: `const guard = MutexGuard.acquire(&mutex);
//! defer guard.release();`. For the cold paths that serialise threads (the region registry,
//! the counter directory's writers); nothing on a hot path takes a lock.
const std = @import("std");
const assert = std.debug.assert;

pub const MutexGuard = struct {
    mutex: *std.c.pthread_mutex_t,

    pub fn acquire(mutex: *std.c.pthread_mutex_t) MutexGuard {
        assert(std.c.pthread_mutex_lock(mutex) == .SUCCESS);
        return .{ .mutex = mutex };
    }

    pub fn release(guard: MutexGuard) void {
        assert(std.c.pthread_mutex_unlock(guard.mutex) == .SUCCESS);
    }
};

test "mutex guard: acquire and release, twice in a row" {
    var mutex: std.c.pthread_mutex_t = .{};
    for (0..2) |_| {
        const guard = MutexGuard.acquire(&mutex);
        guard.release();
    }
}
