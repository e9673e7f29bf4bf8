import assert from "node:assert/strict";
import { NO_HANDLE, Order, OrderNode, Pool, PriceLevel, Trade } from "../mod.ts";
import { test } from "./harness.ts";

test("trading layouts have their documented sizes; PriceLevel fills one cache line", () => {
  assert.equal(Order.size, 64);
  assert.equal(Trade.size, 48);
  assert.equal(OrderNode.size, 16);
  assert.equal(PriceLevel.size, 64);
  assert.equal(Order.offsetOf("symbol"), 44);
  assert.equal(Order.offsetOf("traderId"), 56);
});

test("trading layouts hold an order, its queue node and its level in pools", () => {
  using orders = Pool.of(Order, { capacity: 16 });
  using nodes = Pool.of(OrderNode, { capacity: 16 });
  using levels = Pool.of(PriceLevel, { capacity: 4, align: 64 });
  const orderHandle = orders.alloc();
  const order = orders.at(orderHandle);
  order.idAsNumber = 77;
  order.price = 101.5;
  order.quantity = order.remaining = 10;
  order.side = 1;
  order.symbol.setString("ES-Z26");
  const levelHandle = levels.alloc();
  assert.equal(levels.ptr(levelHandle) % 64, 0, "a level starts on a cache line");
  const nodeHandle = nodes.alloc();
  const node = nodes.at(nodeHandle);
  node.order = orderHandle;
  node.level = levelHandle;
  node.previous = node.next = NO_HANDLE;
  const level = levels.at(levelHandle);
  level.price = order.price;
  level.head = level.tail = nodeHandle;
  level.orderCount = 1;
  level.totalQuantityAsNumber = order.remaining;
  assert.equal(orders.at(nodes.at(levels.at(levelHandle).head).order).symbol.getString(), "ES-Z26");
  assert.equal(levels.at(levelHandle).totalQuantity, 10n);
});
