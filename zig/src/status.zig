//! The status every exported function returns. Negative values are errors, so a function
//! that returns a handle, an offset or an id can return a status in the same i32.
pub const Status = enum(c_int) {
    ok = 0,
    /// An argument breaks a documented limit (size, capacity, alignment, count, flags).
    invalid_argument = -1,
    /// The id names no live pool or arena (never created, closed or released).
    invalid_id = -2,
    /// The pool has no free block, or the arena has no room.
    exhausted = -3,
    /// A handle is out of range for its pool.
    invalid_handle = -4,
    /// The handle is not allocated: freed twice, or never handed out.
    double_free = -5,
    /// The kernel refused the mapping.
    out_of_memory = -6,
    /// Every slot is taken by a live or not yet released region.
    limit_reached = -7,
    /// Shared state fails a consistency check: something wrote over pool metadata.
    corrupted = -8,
    /// A named region of another format, kind, ABI or layout version.
    incompatible = -9,
    /// The name exists already (creation is exclusive).
    already_exists = -10,
    /// No region of that name.
    not_found = -11,
    /// The file belongs to another user or others may read or write it.
    permission_denied = -12,
    /// The file system of a named region (/dev/shm) has too little room.
    no_space = -13,
    /// Not available on this operating system.
    unsupported = -14,
    /// A path that is not a usable file name.
    invalid_path = -15,
    /// Another Worker or process is using the pool, and the operation needs it alone.
    busy = -16,
    /// The kernel refused the placement's nodes: none exists, has memory or may be used here.
    placement_refused = -17,
    /// mlock refused: the region is larger than RLIMIT_MEMLOCK allows.
    lock_refused = -18,

    pub fn code(status: Status) c_int {
        return @backingInt(status);
    }
};
