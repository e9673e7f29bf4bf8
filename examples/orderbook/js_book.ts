/**
 * The baseline: the order book as JavaScript is usually written. Orders and price levels
 * are objects, the id index and the levels are Maps, trades are objects pushed to an array.
 * Same algorithm as the pool book: FIFO queues as doubly linked lists, best prices tracked
 * and rescanned tick by tick when a best level empties.
 *
 * @module
 */
import { type Book, BUY, FILLED_MAX, PRICE_TICKS } from "./workload.ts";

class JsOrder {
  previous: JsOrder | null = null;
  next: JsOrder | null = null;
  constructor(
    readonly id: number,
    readonly side: number,
    readonly price: number,
    readonly quantity: number,
    public remaining: number,
    readonly level: JsLevel,
  ) {}
}

class JsLevel {
  total = 0;
  count = 0;
  head: JsOrder | null = null;
  tail: JsOrder | null = null;
  constructor(readonly price: number, readonly side: number) {}
}

interface JsTrade {
  makerId: number;
  takerId: number;
  price: number;
  quantity: number;
}

/** The order book over JS objects and Maps. */
export class JsBook implements Book {
  readonly filled = new Int32Array(FILLED_MAX);
  trades = 0;
  tradedQuantity = 0;
  notional = 0;
  #orders = new Map<number, JsOrder>();
  #levels = [new Map<number, JsLevel>(), new Map<number, JsLevel>()];
  #tradeLog: JsTrade[] = [];
  #bestBid = -1;
  #bestAsk = PRICE_TICKS;

  get live(): number {
    return this.#orders.size;
  }

  insert(id: number, side: number, price: number, quantity: number, ioc: boolean): number {
    const trades = this.#tradeLog;
    trades.length = 0;
    let remaining = quantity;
    let filled = 0;
    const opposite = this.#levels[1 - side];
    while (remaining > 0) {
      const best = side === BUY ? this.#bestAsk : this.#bestBid;
      if (side === BUY ? best > price : best < price) break;
      const level = opposite.get(best);
      if (level === undefined) break;
      let maker = level.head;
      while (maker !== null && remaining > 0) {
        const take = Math.min(remaining, maker.remaining);
        trades.push({ makerId: maker.id, takerId: id, price: level.price, quantity: take });
        remaining -= take;
        maker.remaining -= take;
        level.total -= take;
        const next = maker.next;
        if (maker.remaining === 0) {
          this.filled[filled++] = maker.id;
          this.#unlink(maker);
        }
        maker = next;
      }
    }
    for (const trade of trades) {
      this.trades++;
      this.tradedQuantity += trade.quantity;
      this.notional += trade.price * trade.quantity;
    }
    if (remaining > 0 && !ioc) this.#rest(id, side, price, quantity, remaining);
    return filled;
  }

  cancel(id: number): boolean {
    const order = this.#orders.get(id);
    if (order === undefined) return false;
    order.level.total -= order.remaining;
    this.#unlink(order);
    return true;
  }

  #rest(id: number, side: number, price: number, quantity: number, remaining: number): void {
    const levels = this.#levels[side];
    let level = levels.get(price);
    if (level === undefined) {
      level = new JsLevel(price, side);
      levels.set(price, level);
      if (side === BUY ? price > this.#bestBid : price < this.#bestAsk) {
        if (side === BUY) this.#bestBid = price;
        else this.#bestAsk = price;
      }
    }
    const order = new JsOrder(id, side, price, quantity, remaining, level);
    order.previous = level.tail;
    if (level.tail === null) level.head = order;
    else level.tail.next = order;
    level.tail = order;
    level.count++;
    level.total += remaining;
    this.#orders.set(id, order);
  }

  /** Takes an order out of its level and the index; drops the level when it empties. */
  #unlink(order: JsOrder): void {
    const level = order.level;
    if (order.previous === null) level.head = order.next;
    else order.previous.next = order.next;
    if (order.next === null) level.tail = order.previous;
    else order.next.previous = order.previous;
    level.count--;
    this.#orders.delete(order.id);
    if (level.count === 0) this.#dropLevel(level);
  }

  #dropLevel(level: JsLevel): void {
    const levels = this.#levels[level.side];
    levels.delete(level.price);
    if (level.side === BUY) {
      if (level.price === this.#bestBid) {
        let price = level.price - 1;
        while (price >= 0 && !levels.has(price)) price--;
        this.#bestBid = price;
      }
    } else if (level.price === this.#bestAsk) {
      let price = level.price + 1;
      while (price < PRICE_TICKS && !levels.has(price)) price++;
      this.#bestAsk = price;
    }
  }
}
