/**
 * Ready layouts for the objects a trading system pools, as examples of `struct`. Prices are
 * f64, quantities u32 (u64 for level totals), ids u64, times f64 nanoseconds from `nowNs()`.
 * Links between records are u32 handles, with 0xFFFFFFFF for "none".
 *
 * @module
 */
import { struct, type StructLayout } from "./struct.ts";

/** "No record" in u32 link fields (OrderNode, PriceLevel). */
export const NO_HANDLE = 0xFFFF_FFFF;

/**
 * An order: 64 bytes, one cache line.
 *
 * @example
 * ```ts
 * import { Order, Pool } from "@hotpath/core";
 * using orders = Pool.of(Order, { capacity: 1024 });
 * const order = orders.at(orders.alloc());
 * order.idAsNumber = 1;
 * order.price = 100.25;
 * order.quantity = order.remaining = 10;
 * order.symbol.setString("AAPL");
 * ```
 */
export const Order: StructLayout<OrderSchema> = struct({
  id: "u64",
  clientId: "u64",
  price: "f64",
  quantity: "u32",
  remaining: "u32",
  timestampNs: "f64",
  side: "u8",
  type: "u8",
  timeInForce: "u8",
  status: "u8",
  symbol: ["u8", 12],
  traderId: "u32",
});

/** The fields of `Order`. */
export type OrderSchema = {
  readonly id: "u64";
  readonly clientId: "u64";
  readonly price: "f64";
  readonly quantity: "u32";
  readonly remaining: "u32";
  readonly timestampNs: "f64";
  /** 0 buy, 1 sell. */
  readonly side: "u8";
  /** 0 limit, 1 market. */
  readonly type: "u8";
  /** 0 good-till-cancel, 1 immediate-or-cancel, 2 fill-or-kill. */
  readonly timeInForce: "u8";
  /** 0 new, 1 partially filled, 2 filled, 3 cancelled. */
  readonly status: "u8";
  readonly symbol: readonly ["u8", 12];
  readonly traderId: "u32";
};

/** A trade: 48 bytes. */
export const Trade: StructLayout<TradeSchema> = struct({
  id: "u64",
  buyOrderId: "u64",
  sellOrderId: "u64",
  price: "f64",
  quantity: "u32",
  aggressorSide: "u8",
  timestampNs: "f64",
});

/** The fields of `Trade`. */
export type TradeSchema = {
  readonly id: "u64";
  readonly buyOrderId: "u64";
  readonly sellOrderId: "u64";
  readonly price: "f64";
  readonly quantity: "u32";
  /** The side that took liquidity: 0 buy, 1 sell. */
  readonly aggressorSide: "u8";
  readonly timestampNs: "f64";
};

/** A node of a price level's FIFO queue: the order's handle and links, 16 bytes. */
export const OrderNode: StructLayout<OrderNodeSchema> = struct({
  order: "u32",
  level: "u32",
  previous: "u32",
  next: "u32",
});

/** The fields of `OrderNode`: handles of the order, its level and its neighbours. */
export type OrderNodeSchema = {
  readonly order: "u32";
  readonly level: "u32";
  readonly previous: "u32";
  readonly next: "u32";
};

/** A price level: 64 bytes, one cache line, so neighbouring levels never share one. */
export const PriceLevel: StructLayout<PriceLevelSchema> = struct({
  price: "f64",
  totalQuantity: "u64",
  orderCount: "u32",
  head: "u32",
  tail: "u32",
  better: "u32",
  worse: "u32",
  side: "u8",
  reserved: ["u8", 27],
});

/** The fields of `PriceLevel`. */
export type PriceLevelSchema = {
  readonly price: "f64";
  readonly totalQuantity: "u64";
  readonly orderCount: "u32";
  /** First OrderNode of the FIFO queue. */
  readonly head: "u32";
  /** Last OrderNode of the FIFO queue. */
  readonly tail: "u32";
  /** The neighbouring level on the same side with a better price. */
  readonly better: "u32";
  /** The neighbouring level on the same side with a worse price. */
  readonly worse: "u32";
  readonly side: "u8";
  readonly reserved: readonly ["u8", 27];
};
