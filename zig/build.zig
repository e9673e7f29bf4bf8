const std = @import("std");

/// `zig build` produces zig-out/lib/libhotpath.so (ReleaseFast unless -Doptimize says otherwise).
/// `zig build test` runs every inline test, including the seeded model tests.
pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    // ReleaseFast unless told otherwise: standardOptimizeOption would default to Debug.
    const optimize = b.option(std.builtin.Optimize, "optimize", "Optimization mode (default: fast)") orelse .fast;

    // libc gives clock_gettime through the vDSO: without it a dlopen'd library has no auxv,
    // so Zig's own vDSO lookup fails and every clock read would be a real system call.
    const module = b.createModule(.{
        .root_source_file = b.path("src/exports.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .strip = optimize != .debug,
    });
    const library = b.addLibrary(.{ .name = "hotpath", .linkage = .dynamic, .root_module = module });
    b.installArtifact(library);

    const test_module = b.createModule(.{
        .root_source_file = b.path("src/exports.zig"),
        .target = target,
        // Tests keep every assertion and safety check on.
        .optimize = .debug,
        .link_libc = true,
    });
    const tests = b.addTest(.{ .root_module = test_module });
    const run_tests = b.addRunArtifact(tests);
    // Run every time: a cached pass would hide the tests from the suite's count.
    run_tests.has_side_effects = true;
    b.step("test", "Run the Zig unit and model tests").dependOn(&run_tests.step);
}
