import assert from "node:assert/strict";
import fc from "fast-check";
import { IdIndex } from "../examples/orderbook/id_index.ts";
import { JsBook } from "../examples/orderbook/js_book.ts";
import { PoolBook } from "../examples/orderbook/pool_book.ts";
import { type Book, BUY, MID, runChurn, SELL } from "../examples/orderbook/workload.ts";
import { assertCode, test } from "./harness.ts";

test("IdIndex matches a Map over random set/get/delete sequences, clusters included", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 200 })), {
        minLength: 100,
        maxLength: 400,
      }),
      (capacity, steps) => {
        const index = new IdIndex(capacity);
        const model = new Map<number, number>();
        steps.forEach(([action, id], step) => {
          if (action === 0 && !model.has(id) && model.size < capacity) {
            index.set(id, step);
            model.set(id, step);
          } else if (action === 1) {
            assert.equal(index.delete(id), model.get(id) ?? -1);
            model.delete(id);
          }
          assert.equal(index.get(id), model.get(id) ?? -1);
          assert.equal(index.size, model.size);
        });
        for (const [id, handle] of model) assert.equal(index.get(id), handle);
      },
    ),
    { numRuns: 300 },
  );
});

test("IdIndex refuses duplicates, bad ids and a full table with clear errors", () => {
  const index = new IdIndex(2);
  index.set(7, 1);
  assertCode(() => index.set(7, 2), "INVALID_ARGUMENT", "already present");
  assertCode(() => index.set(-1, 2), "INVALID_ARGUMENT");
  index.set(8, 2);
  assertCode(() => index.set(9, 3), "LIMIT_REACHED");
  assertCode(() => new IdIndex(0), "INVALID_ARGUMENT");
});

for (const [name, make] of [["JsBook", () => new JsBook()], ["PoolBook", () => new PoolBook(64)]] as const) {
  test(`${name} matches by price, then time, and rests or drops the remainder`, () => {
    const book: Book = make();
    book.insert(1, SELL, MID + 2, 10, false);
    book.insert(2, SELL, MID + 1, 5, false);
    book.insert(3, SELL, MID + 1, 5, false);
    book.insert(4, BUY, MID - 1, 7, false);
    assert.equal(book.live, 4);
    // Buys 12 up to MID + 2: 5 from order 2 (best price, oldest), 5 from 3, 2 from 1.
    assert.equal(book.insert(5, BUY, MID + 2, 12, false), 2);
    assert.deepEqual([...book.filled.subarray(0, 2)], [2, 3]);
    assert.equal(book.trades, 3);
    assert.equal(book.tradedQuantity, 12);
    assert.equal(book.notional, 5 * (MID + 1) * 2 + 2 * (MID + 2));
    assert.equal(book.live, 2, "order 1 keeps 8 and order 4 rests");
    // A sell IOC below the bid takes order 4 and drops its remainder.
    assert.equal(book.insert(6, SELL, MID - 5, 9, true), 1);
    assert.equal(book.live, 1);
    assert.equal(book.cancel(4), false, "a filled order cannot be cancelled");
    assert.equal(book.cancel(1), true);
    assert.equal(book.cancel(1), false);
    assert.equal(book.live, 0);
    assert.equal(book.insert(7, BUY, MID + 10, 3, false), 0, "an empty side matches nothing");
    assert.equal(book.live, 1);
    if (book instanceof PoolBook) book.close();
  });
}

test("PoolBook and JsBook make the same trades over a seeded churn; the pools hold exactly the resting orders", () => {
  const options = { orders: 2_000, operations: 30_000, seed: 7 };
  const pool = new PoolBook(options.orders);
  const js = new JsBook();
  const clock = () => 0;
  const run = (book: Book) =>
    runChurn(book, options, clock, new Float64Array(options.operations), new Uint8Array(options.operations), () => {});
  const poolCounts = run(pool);
  const jsCounts = run(js);
  assert.deepEqual(poolCounts, jsCounts);
  assert.ok(poolCounts.marketable > 2_000 && poolCounts.cancels > 2_000 && poolCounts.filledOrders > 1_000);
  assert.deepEqual(
    [pool.trades, pool.tradedQuantity, pool.notional, pool.live],
    [js.trades, js.tradedQuantity, js.notional, js.live],
  );
  assert.equal(pool.orderPool.stats().inUse, pool.live, "an order block leaked or was freed twice");
  assert.equal(pool.orderPool.check(), pool.orderPool.capacity);
  assert.equal(pool.levelPool.check(), pool.levelPool.capacity);
  pool.close();
});
