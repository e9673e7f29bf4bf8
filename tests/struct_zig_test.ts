import assert from "node:assert/strict";
import { Pool, struct } from "../mod.ts";
import { adapter } from "../ffi/runtime.ts";
import { test } from "./harness.ts";

// The same fields as TestOrder in zig/src/testing/layout_test_exports.zig (built by
// `zig build test-libs`, which the test suite runs first).
const Inner = struct({ a: "u16", b: "f64" });
const TestOrder = struct({
  id: "u64",
  side: "u8",
  price: "f64",
  qty: "u32",
  flag: "bool",
  symbol: ["u8", 16],
  inner: Inner,
  small: "i8",
  big: "i64",
  ratio: "f32",
  levels: ["u16", 3],
});

const library = adapter.open(
  new URL("../zig/zig-out/lib/libhotpath_layout_test.so", import.meta.url).pathname,
  {
    /** fn hpt_layout_value(index: u32) u32 */
    hpt_layout_value: { parameters: ["u32"], result: "u32" },
    /** fn hpt_record_check(record: ?[*]u8, length: u32) u32 */
    hpt_record_check: { parameters: ["buffer", "u32"], result: "u32" },
    /** fn hpt_record_write(record: ?[*]u8, length: u32) i32 */
    hpt_record_write: { parameters: ["buffer", "u32"], result: "i32" },
  },
);

test("struct layout matches a Zig extern struct: size, alignment and every offset", () => {
  const names = ["id", "side", "price", "qty", "flag", "symbol", "inner", "small", "big", "ratio", "levels"] as const;
  const expected = [
    TestOrder.size,
    TestOrder.align,
    ...names.map((name) => TestOrder.offsetOf(name)),
    Inner.offsetOf("b"),
    Inner.size,
  ];
  const native = expected.map((_, index) => library.hpt_layout_value(index));
  assert.deepEqual(native, expected);
});

test("struct records written from TypeScript read correctly in Zig, field by field", () => {
  using pool = Pool.of(TestOrder, { capacity: 4 });
  pool.alloc();
  const handle = pool.alloc();
  const order = pool.at(handle);
  order.id = 0x0102_0304_0506_0708n;
  order.side = 0xAB;
  order.price = -1234.5;
  order.qty = 4_000_000_000;
  order.flag = true;
  order.symbol.setString("BTC-USD");
  order.inner.a = 65535;
  order.inner.b = 0.25;
  order.small = -7;
  order.big = -9_007_199_254_740_993n;
  order.ratio = 1.5;
  order.levels.set(0, 1);
  order.levels.set(1, 2);
  order.levels.set(2, 65535);
  const mask = library.hpt_record_check(pool.view(handle), TestOrder.size);
  assert.equal(mask.toString(2).padStart(11, "0"), "11111111111", "bit i = field i matches");
  order.levels.set(2, 9);
  assert.equal(library.hpt_record_check(pool.view(handle), TestOrder.size), 0b01111111111, "a wrong field shows");
});

test("struct records written by Zig read correctly from TypeScript, padding untouched", () => {
  using pool = Pool.of(TestOrder, { capacity: 1 });
  const handle = pool.alloc();
  assert.equal(library.hpt_record_write(pool.view(handle), TestOrder.size), 0);
  const order = pool.at(handle);
  assert.equal(order.id, 0xFFFF_FFFF_FFFF_FFFEn);
  assert.equal(order.side, 3);
  assert.equal(order.price, 99.125);
  assert.equal(order.qty, 17);
  assert.equal(order.flag, false);
  assert.equal(order.symbol.getString(), "ETH");
  assert.equal(order.inner.a, 4242);
  assert.equal(order.inner.b, -2);
  assert.equal(order.small, -128);
  assert.equal(order.big, 9_007_199_254_740_991n);
  assert.equal(order.bigAsNumber, Number.MAX_SAFE_INTEGER);
  assert.equal(order.ratio, -0.5);
  assert.deepEqual([order.levels.get(0), order.levels.get(1), order.levels.get(2)], [7, 8, 9]);
  assert.equal(library.hpt_record_write(pool.view(handle).subarray(0, 95), 95), -1, "a short buffer is refused");
});
