//! A test-only library (libhotpath_layout_test.so): a Zig extern struct with the same fields as
//! tests/struct_zig_test.ts's `TestOrder`, to prove that TypeScript's struct layouts are C
//! layouts. TypeScript writes a record into pool memory and Zig checks it field by field;
//! Zig writes a record and TypeScript reads it back. Not part of libhotpath's ABI.
const std = @import("std");
const assert = std.debug.assert;

const Inner = extern struct { a: u16, b: f64 };

const TestOrder = extern struct {
    id: u64,
    side: u8,
    price: f64,
    qty: u32,
    flag: bool,
    symbol: [16]u8,
    inner: Inner,
    small: i8,
    big: i64,
    ratio: f32,
    levels: [3]u16,
};

comptime {
    assert(@sizeOf(TestOrder) == 96);
    assert(@alignOf(TestOrder) == 8);
}

const layout = [_]u32{
    @sizeOf(TestOrder),             @alignOf(TestOrder),
    @offsetOf(TestOrder, "id"),     @offsetOf(TestOrder, "side"),
    @offsetOf(TestOrder, "price"),  @offsetOf(TestOrder, "qty"),
    @offsetOf(TestOrder, "flag"),   @offsetOf(TestOrder, "symbol"),
    @offsetOf(TestOrder, "inner"),  @offsetOf(TestOrder, "small"),
    @offsetOf(TestOrder, "big"),    @offsetOf(TestOrder, "ratio"),
    @offsetOf(TestOrder, "levels"), @offsetOf(Inner, "b"),
    @sizeOf(Inner),
};

/// Size, alignment and offsets, in the order of `layout`; maxInt(u32) past the end.
export fn hpt_layout_value(index: u32) callconv(.c) u32 {
    return if (index < layout.len) layout[index] else std.math.maxInt(u32);
}

fn symbolOf(text: []const u8) [16]u8 {
    var symbol: [16]u8 = @splat(0);
    @memcpy(symbol[0..text.len], text);
    return symbol;
}

/// The values TypeScript writes before calling hpt_record_check.
const from_typescript: TestOrder = .{
    .id = 0x0102_0304_0506_0708,
    .side = 0xAB,
    .price = -1234.5,
    .qty = 4_000_000_000,
    .flag = true,
    .symbol = symbolOf("BTC-USD"),
    .inner = .{ .a = 65535, .b = 0.25 },
    .small = -7,
    .big = -9_007_199_254_740_993,
    .ratio = 1.5,
    .levels = .{ 1, 2, 65535 },
};

/// The values hpt_record_write writes for TypeScript to read.
const from_zig: TestOrder = .{
    .id = 0xFFFF_FFFF_FFFF_FFFE,
    .side = 3,
    .price = 99.125,
    .qty = 17,
    .flag = false,
    .symbol = symbolOf("ETH"),
    .inner = .{ .a = 4242, .b = -2.0 },
    .small = -128,
    .big = 9_007_199_254_740_991,
    .ratio = -0.5,
    .levels = .{ 7, 8, 9 },
};

/// The record at `pointer`, or null when it is missing, short or not aligned like the struct.
fn record(pointer: ?[*]u8, length: u32) ?*TestOrder {
    if (length < @sizeOf(TestOrder)) return null;
    const bytes = pointer orelse return null;
    if (@intFromPtr(bytes) % @alignOf(TestOrder) != 0) return null;
    return @ptrCast(@alignCast(bytes));
}

/// Bit i set when field i (in declaration order; inner counts as one) holds the value TypeScript
/// was to write. maxInt(u32) for a missing, short or misaligned buffer.
export fn hpt_record_check(pointer: ?[*]u8, length: u32) callconv(.c) u32 {
    const got = record(pointer, length) orelse return std.math.maxInt(u32);
    const want = from_typescript;
    // Read the bool's byte as a byte: any value but 0 or 1 in a Zig bool is undefined behaviour.
    const flag_byte: u8 = @as(*const u8, @ptrCast(&got.flag)).*;
    const checks = [_]bool{
        got.id == want.id,
        got.side == want.side,
        got.price == want.price,
        got.qty == want.qty,
        flag_byte == 1,
        std.mem.eql(u8, &got.symbol, &want.symbol),
        got.inner.a == want.inner.a and got.inner.b == want.inner.b,
        got.small == want.small,
        got.big == want.big,
        got.ratio == want.ratio,
        std.mem.eql(u16, &got.levels, &want.levels),
    };
    var mask: u32 = 0;
    for (checks, 0..) |ok, index| {
        if (ok) mask |= @as(u32, 1) << @intCast(index);
    }
    return mask;
}

/// Writes `from_zig` over the record; 0, or -1 for a missing, short or misaligned buffer.
export fn hpt_record_write(pointer: ?[*]u8, length: u32) callconv(.c) i32 {
    const target = record(pointer, length) orelse return -1;
    target.* = from_zig;
    return 0;
}

test "layout test library: the record is C-shaped" {
    try std.testing.expectEqual(@as(u32, 29), hpt_layout_value(7));
    try std.testing.expectEqual(@as(u32, 48), hpt_layout_value(8));
    var buffer: [96]u8 align(8) = undefined;
    try std.testing.expectEqual(@as(i32, 0), hpt_record_write(&buffer, buffer.len));
    try std.testing.expectEqual(@as(i32, -1), hpt_record_write(&buffer, 95));
    try std.testing.expectEqual(std.math.maxInt(u32), hpt_record_check(null, 96));
}
