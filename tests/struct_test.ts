import assert from "node:assert/strict";
import { Arena, Pool, struct } from "../mod.ts";
import { assertCode, test } from "./harness.ts";

function offsets(layout: { fields: readonly { name: string; offset: number }[] }): Record<string, number> {
  return Object.fromEntries(layout.fields.map((field) => [field.name, field.offset]));
}

test("struct lays out fields like C: natural alignment, padding, rounded size", () => {
  // struct { uint8_t a; uint64_t b; uint16_t c; } -> a@0 b@8 c@16, size 24, align 8
  const padded = struct({ a: "u8", b: "u64", c: "u16" });
  assert.deepEqual(offsets(padded), { a: 0, b: 8, c: 16 });
  assert.equal(padded.size, 24);
  assert.equal(padded.align, 8);
  // struct { uint8_t a; uint16_t b; uint8_t c; } -> a@0 b@2 c@4, size 6, align 2
  const small = struct({ a: "u8", b: "u16", c: "u8" });
  assert.deepEqual(offsets(small), { a: 0, b: 2, c: 4 });
  assert.equal(small.size, 6);
  // struct { float a; uint8_t sym[5]; int32_t b; bool c; } -> a@0 sym@4 b@12 c@16, size 20
  const arrays = struct({ a: "f32", sym: ["u8", 5], b: "i32", c: "bool" });
  assert.deepEqual(offsets(arrays), { a: 0, sym: 4, b: 12, c: 16 });
  assert.equal(arrays.size, 20);
  assert.equal(arrays.align, 4);
});

test("struct nests structs and arrays of structs with their own alignment", () => {
  const Point = struct({ x: "i16", y: "f64" }); // size 16, align 8
  const Shape = struct({ tag: "u8", origin: Point, corners: [Point, 2], count: "u16" });
  assert.deepEqual(offsets(Shape), { tag: 0, origin: 8, corners: 24, count: 56 });
  assert.equal(Shape.size, 64);
  assert.equal(Shape.offsetOf("corners"), 24);
});

test("struct rejects bad schemas with INVALID_ARGUMENT naming the field", () => {
  assertCode(() => struct({}), "INVALID_ARGUMENT", "at least one field");
  assertCode(() => struct({ a: "u128" as never }), "INVALID_ARGUMENT", '"a"');
  assertCode(() => struct({ a: ["u8", 0] }), "INVALID_ARGUMENT", "array length");
  assertCode(() => struct({ a: ["u8", 1.5] }), "INVALID_ARGUMENT", "array length");
  assertCode(() => struct({ a: [["u8", 2], 2] as never }), "INVALID_ARGUMENT", '"a"');
  assertCode(() => struct({ "bad-name": "u8" }), "INVALID_ARGUMENT", "bad-name");
  assertCode(() => struct({ at: "u8" }), "INVALID_ARGUMENT", '"at"');
  assertCode(() => struct({ id: "u64", idAsNumber: "u8" }), "INVALID_ARGUMENT", "collides");
  assertCode(() => struct({ a: "u8" }).offsetOf("b" as never), "INVALID_ARGUMENT", '"b"');
});

const Order = struct({
  id: "u64",
  price: "f64",
  qty: "u32",
  delta: "i32",
  side: "u8",
  flag: "bool",
  small: "i8",
  half: "i16",
  wide: "u16",
  ratio: "f32",
  big: "i64",
  symbol: ["u8", 8],
  fills: ["u32", 3],
});

test("StructPool cursor reads and writes every field type in native memory", () => {
  using orders = Pool.of(Order, { capacity: 8 });
  const handle = orders.alloc();
  const order = orders.at(handle);
  order.id = 2n ** 63n + 5n;
  order.price = 101.25;
  order.qty = 4_000_000_000;
  order.delta = -2_000_000_000;
  order.side = 255;
  order.flag = true;
  order.small = -128;
  order.half = -32768;
  order.wide = 65535;
  order.ratio = 0.5;
  order.big = -(2n ** 62n);
  order.symbol.setString("MSFT");
  order.fills.set(2, 77);
  assert.deepEqual(
    [order.id, order.price, order.qty, order.delta, order.side, order.flag, order.small, order.half, order.wide],
    [2n ** 63n + 5n, 101.25, 4_000_000_000, -2_000_000_000, 255, true, -128, -32768, 65535],
  );
  assert.equal(order.ratio, 0.5);
  assert.equal(order.big, -(2n ** 62n));
  assert.equal(order.symbol.getString(), "MSFT");
  assert.deepEqual([order.fills.get(0), order.fills.get(1), order.fills.get(2)], [0, 0, 77]);
  const view = new DataView(orders.bytes.buffer, orders.bytes.byteOffset + orders.offset(handle), Order.size);
  assert.equal(view.getFloat64(Order.offsetOf("price"), true), 101.25, "the bytes are where the layout says");
  assert.equal(view.getUint32(Order.offsetOf("qty"), true), 4_000_000_000);
});

test("StructPool cursors move between records without mixing them", () => {
  using orders = Pool.of(Order, { capacity: 100 });
  const handles = Array.from({ length: 100 }, () => orders.alloc());
  for (const handle of handles) orders.at(handle).qty = handle * 3;
  for (const handle of handles) assert.equal(orders.at(handle).qty, handle * 3);
  assert.equal(orders.at(handles[5]), orders.at(handles[6]), "one reusable cursor");
});

test("struct cursor number path for 64-bit fields: exact within 2^53, an error beyond", () => {
  using orders = Pool.of(Order, { capacity: 1 });
  const order = orders.at(orders.alloc());
  order.idAsNumber = Number.MAX_SAFE_INTEGER;
  assert.equal(order.id, BigInt(Number.MAX_SAFE_INTEGER));
  assert.equal(order.idAsNumber, Number.MAX_SAFE_INTEGER);
  order.bigAsNumber = -Number.MAX_SAFE_INTEGER;
  assert.equal(order.big, -BigInt(Number.MAX_SAFE_INTEGER));
  assert.equal(order.bigAsNumber, -Number.MAX_SAFE_INTEGER);
  order.id = 2n ** 53n + 1n;
  assertCode(() => order.idAsNumber, "OUT_OF_RANGE", "bigint");
  assertCode(() => (order.idAsNumber = -1), "INVALID_ARGUMENT", "idAsNumber");
  assertCode(() => (order.idAsNumber = 2 ** 53), "INVALID_ARGUMENT");
  assertCode(() => (order.bigAsNumber = 0.5), "INVALID_ARGUMENT");
});

test("struct cursor setters reject values that do not fit instead of wrapping", () => {
  using orders = Pool.of(Order, { capacity: 1 });
  const order = orders.at(orders.alloc());
  const cases: [keyof typeof order, unknown][] = [
    ["qty", -1],
    ["qty", 2 ** 32],
    ["qty", 1.5],
    ["side", 256],
    ["small", 128],
    ["half", 40000],
    ["delta", 2 ** 31],
    ["price", "1"],
    ["flag", 1],
    ["id", -1n],
    ["id", 5],
    ["big", 2n ** 63n],
  ];
  for (const [field, value] of cases) {
    assertCode(() => ((order as unknown as Record<string, unknown>)[field] = value), "INVALID_ARGUMENT", field);
  }
  assert.equal(order.qty, 0, "nothing was written");
  assertCode(() => order.symbol.setString("TOO-LONG-SYMBOL"), "INVALID_ARGUMENT");
  assertCode(() => order.symbol.setString("café"), "INVALID_ARGUMENT");
  assertCode(() => order.fills.get(3), "INVALID_ARGUMENT", "index 3");
  assertCode(() => order.fills.set(0, -1), "INVALID_ARGUMENT");
  assertCode(() => order.fills.getString(), "INVALID_ARGUMENT", "u8 array");
});

test("struct cursor positions are checked against the memory and the alignment", () => {
  const Pair = struct({ a: "u32", b: "u32" });
  const bytes = new Uint8Array(64);
  const cursor = Pair.cursor(bytes);
  assert.equal(cursor.at(56).offset, 56);
  assertCode(() => cursor.at(60), "INVALID_ARGUMENT", "offset 60");
  assertCode(() => cursor.at(2), "INVALID_ARGUMENT", "aligned to 4");
  assertCode(() => cursor.at(-4), "INVALID_ARGUMENT");
  assertCode(() => Pair.cursor(bytes.subarray(4)), "INVALID_ARGUMENT", "multiple of 8");
  assertCode(() => Pair.cursor([1, 2] as never), "INVALID_ARGUMENT", "Uint8Array");
});

test("StructPool.at rejects handles that are not allocated, and every call after close", () => {
  const orders = Pool.of(Order, { capacity: 2 });
  const handle = orders.alloc();
  orders.free(handle);
  assertCode(() => orders.at(handle), "INVALID_HANDLE", "not allocated");
  orders.close();
  assertCode(() => orders.at(0), "CLOSED");
  assertCode(() => Pool.of(Order, { capacity: 1, align: 4 }), "INVALID_ARGUMENT", "alignment");
});

test("Arena.allocStruct aligns records, and a cursor over arena.bytes reads them", () => {
  using arena = new Arena({ capacity: 4096 });
  arena.alloc(3, 1);
  const offset = arena.allocStruct(Order);
  assert.equal(offset % Order.align, 0);
  const order = Order.cursor(arena.bytes).at(offset);
  order.price = 7.5;
  assert.equal(order.price, 7.5);
  assert.equal(arena.mark(), offset + Order.size);
});

test("using scopes free a pool block and rewind an arena at the end of the block", () => {
  using pool = new Pool({ blockSize: 16, capacity: 4 });
  using arena = new Arena({ capacity: 1024 });
  arena.alloc(8);
  {
    using block = pool.allocScoped();
    using scope = arena.scope();
    assert.equal(pool.isAllocated(block.handle), true);
    assert.equal(scope.mark, 8);
    arena.alloc(100);
  }
  assert.equal(pool.stats().inUse, 0);
  assert.equal(arena.mark(), 8);
  assert.throws(() => {
    using block = pool.allocScoped();
    pool.free(block.handle);
  }, /DOUBLE_FREE|not allocated/);
});
