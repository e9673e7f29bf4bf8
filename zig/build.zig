const std = @import("std");

/// `zig build`: zig-out/lib/libhotpath.so (ReleaseFast unless -Doptimize says otherwise).
/// `zig build test`: every inline test, including the seeded model tests.
/// `zig build test-libs`: the test-only libraries the TypeScript tests load (not shipped).
/// `zig build mirrors`: rewrites ../ffi/abi.generated.ts from the Zig sources;
/// `zig build mirrors-check` fails when that file is stale.
pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    // ReleaseFast unless told otherwise: standardOptimizeOption would default to Debug.
    const optimize = b.option(std.builtin.Optimize, "optimize", "Optimization mode (default: fast)") orelse .fast;

    // libc gives clock_gettime through the vDSO (a dlopen'd library without libc has no auxv,
    // so every clock read would be a system call), dlsym for Node-API, and pthread mutexes.
    const library = b.addLibrary(.{
        .name = "hotpath",
        .linkage = .dynamic,
        .root_module = libraryModule(b, "src/libhotpath.zig", target, optimize),
    });
    b.installArtifact(library);

    // Test-only: a Zig extern struct that TypeScript's struct layouts are checked against.
    const layout_test_library = b.addLibrary(.{
        .name = "hotpath_layout_test",
        .linkage = .dynamic,
        .root_module = libraryModule(b, "src/testing/layout_test_exports.zig", target, optimize),
    });
    const test_libs = b.step("test-libs", "Build the test-only libraries into zig-out/lib");
    test_libs.dependOn(&b.addInstallArtifact(layout_test_library, .{}).step);

    const test_step = b.step("test", "Run the Zig unit and model tests");
    // `zig build test -Dtsan`: the same tests under ThreadSanitizer (the thread and model tests
    // of the shared free list and SharedPool are the ones it is for).
    const tsan = b.option(bool, "tsan", "Run the tests under ThreadSanitizer") orelse false;
    for ([_][]const u8{ "src/libhotpath.zig", "src/testing/layout_test_exports.zig" }) |root| {
        // Tests keep every assertion and safety check on.
        const module = libraryModule(b, root, target, .debug);
        module.sanitize_thread = tsan;
        const tests = b.addTest(.{ .root_module = module });
        const run_tests = b.addRunArtifact(tests);
        // Run every time: a cached pass would hide the tests from the suite's count.
        run_tests.has_side_effects = true;
        test_step.dependOn(&run_tests.step);
    }

    const mirror = b.addExecutable(.{
        .name = "hotpath-mirror",
        .root_module = libraryModule(b, "src/mirror_main.zig", b.graph.host, .debug),
    });
    const mirror_steps = .{
        .{ "mirrors", "write", "Rewrite ffi/abi.generated.ts" },
        .{ "mirrors-check", "check", "Fail if ffi/abi.generated.ts is stale" },
    };
    inline for (mirror_steps) |entry| {
        const run_mirror = b.addRunArtifact(mirror);
        // Relative to the build root (zig/), where the run starts.
        run_mirror.setCwd(b.path("."));
        run_mirror.addArgs(&.{ entry[1], "../ffi/abi.generated.ts" });
        run_mirror.has_side_effects = true;
        b.step(entry[0], entry[2]).dependOn(&run_mirror.step);
    }
}

fn libraryModule(
    b: *std.Build,
    root: []const u8,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
) *std.Build.Module {
    return b.createModule(.{
        .root_source_file = b.path(root),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .strip = optimize != .debug,
    });
}
