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

    // Test-only: a Zig extern struct that TypeScript's struct layouts are checked against.
    const layout_test_module = b.createModule(.{
        .root_source_file = b.path("src/layout_test_exports.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .strip = optimize != .debug,
    });
    const layout_test_library = b.addLibrary(.{
        .name = "hotpath_layout_test",
        .linkage = .dynamic,
        .root_module = layout_test_module,
    });
    b.installArtifact(layout_test_library);

    const test_step = b.step("test", "Run the Zig unit and model tests");
    for ([_][]const u8{ "src/exports.zig", "src/layout_test_exports.zig" }) |root| {
        const tests = b.addTest(.{
            .root_module = b.createModule(.{
                .root_source_file = b.path(root),
                .target = target,
                // Tests keep every assertion and safety check on.
                .optimize = .debug,
                .link_libc = true,
            }),
        });
        const run_tests = b.addRunArtifact(tests);
        // Run every time: a cached pass would hide the tests from the suite's count.
        run_tests.has_side_effects = true;
        test_step.dependOn(&run_tests.step);
    }
}
