/**
 * The order book over hotpath memory: orders and price levels are blocks of two Pools
 * (records laid out by `struct`), the id index is an open-addressing table in typed arrays,
 * trades are records in an Arena reset on every order. After setup it allocates no
 * JavaScript objects, so the garbage collector has nothing to do.
 *
 * Fields are read through typed arrays over each pool's `bytes` (the per-field access path
 * of `struct`): `words[handle * STRIDE_WORDS + FIELD]`. Those views span the pool's whole
 * reservation, so they stay valid when the order pool grows.
 *
 * @module
 */
import { Arena, Pool, struct } from "../../mod.ts";
import { IdIndex } from "./id_index.ts";
import { type Book, BUY, FILLED_MAX, PRICE_TICKS } from "./workload.ts";

/** One resting order: 32 bytes. */
export const BookOrder = struct({
  id: "u32",
  price: "i32",
  quantity: "u32",
  remaining: "u32",
  previous: "i32",
  next: "i32",
  level: "i32",
  side: "u32",
});

/** One price level: 32 bytes. */
export const BookLevel = struct({
  price: "i32",
  side: "u32",
  count: "u32",
  head: "i32",
  tail: "i32",
  total: "f64",
});

/** One trade: 16 bytes in the per-order arena. */
const TradeRecord = struct({ makerId: "u32", takerId: "u32", price: "i32", quantity: "u32" });

const NONE = -1;
const word = (layout: { offsetOf(name: string): number }, name: string) => layout.offsetOf(name) / 4;
const O_ID = word(BookOrder, "id");
const O_PRICE = word(BookOrder, "price");
const O_QUANTITY = word(BookOrder, "quantity");
const O_REMAINING = word(BookOrder, "remaining");
const O_PREVIOUS = word(BookOrder, "previous");
const O_NEXT = word(BookOrder, "next");
const O_LEVEL = word(BookOrder, "level");
const O_SIDE = word(BookOrder, "side");
const L_PRICE = word(BookLevel, "price");
const L_SIDE = word(BookLevel, "side");
const L_COUNT = word(BookLevel, "count");
const L_HEAD = word(BookLevel, "head");
const L_TAIL = word(BookLevel, "tail");
const L_TOTAL = BookLevel.offsetOf("total") / 8;
const T_MAKER = word(TradeRecord, "makerId");
const T_TAKER = word(TradeRecord, "takerId");
const T_PRICE = word(TradeRecord, "price");
const T_QUANTITY = word(TradeRecord, "quantity");

function int32Over(pool: { bytes: Uint8Array }): Int32Array {
  return new Int32Array(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.byteLength / 4);
}

/** The order book over hotpath pools. `orders` is the most resting orders it is sized for. */
export class PoolBook implements Book {
  readonly filled = new Int32Array(FILLED_MAX);
  trades = 0;
  tradedQuantity = 0;
  notional = 0;
  /** The order pool, for its statistics and for timing its own alloc/free. */
  readonly orderPool: Pool;
  readonly levelPool: Pool;
  readonly #arena: Arena;
  readonly #index: IdIndex;
  readonly #orders: Int32Array;
  readonly #levels: Int32Array;
  readonly #levelTotals: Float64Array;
  readonly #trades: Int32Array;
  readonly #orderWords: number;
  readonly #levelWords: number;
  /** Level handle per price tick and side, or NONE. */
  readonly #levelAt: [Int32Array, Int32Array];
  #bestBid = -1;
  #bestAsk = PRICE_TICKS;

  constructor(orders: number) {
    // A quarter of headroom up front and growth beyond it: resting orders never exceed
    // `orders` in the churn, so growing would mean a bug, and it would show in stats.
    const capacity = Math.ceil(orders * 1.25);
    this.orderPool = Pool.of(BookOrder, {
      capacity,
      grow: { chunk: Math.min(4096, capacity), maxCapacity: capacity * 4 },
      debug: false,
      name: "orderbook orders",
    });
    this.levelPool = Pool.of(BookLevel, { capacity: 2 * PRICE_TICKS / 8, debug: false, name: "orderbook levels" });
    this.#arena = new Arena({ capacity: FILLED_MAX * 2 * TradeRecord.size, name: "orderbook trades" });
    this.#index = new IdIndex(capacity);
    this.#orders = int32Over(this.orderPool);
    this.#levels = int32Over(this.levelPool);
    this.#levelTotals = new Float64Array(this.levelPool.bytes.buffer, this.levelPool.bytes.byteOffset);
    this.#trades = new Int32Array(this.#arena.bytes.buffer, this.#arena.bytes.byteOffset);
    this.#orderWords = this.orderPool.stride / 4;
    this.#levelWords = this.levelPool.stride / 4;
    this.#levelAt = [new Int32Array(PRICE_TICKS).fill(NONE), new Int32Array(PRICE_TICKS).fill(NONE)];
  }

  get live(): number {
    return this.#index.size;
  }

  insert(id: number, side: number, price: number, quantity: number, ioc: boolean): number {
    const orders = this.#orders;
    const levels = this.#levels;
    const trades = this.#trades;
    const arena = this.#arena;
    const orderWords = this.#orderWords;
    arena.reset();
    let remaining = quantity;
    let filled = 0;
    let tradeCount = 0;
    const opposite = this.#levelAt[1 - side];
    while (remaining > 0) {
      const best = side === BUY ? this.#bestAsk : this.#bestBid;
      if (side === BUY ? best > price : best < price) break;
      const level = opposite[best];
      if (level === NONE) break;
      const levelBase = level * this.#levelWords;
      let maker = levels[levelBase + L_HEAD];
      while (maker !== NONE && remaining > 0) {
        const base = maker * orderWords;
        const makerRemaining = orders[base + O_REMAINING];
        const take = Math.min(remaining, makerRemaining);
        const trade = arena.alloc(TradeRecord.size, 4) >> 2;
        trades[trade + T_MAKER] = orders[base + O_ID];
        trades[trade + T_TAKER] = id;
        trades[trade + T_PRICE] = levels[levelBase + L_PRICE];
        trades[trade + T_QUANTITY] = take;
        tradeCount++;
        remaining -= take;
        orders[base + O_REMAINING] = makerRemaining - take;
        this.#levelTotals[this.#totalAt(level)] -= take;
        const next = orders[base + O_NEXT];
        if (makerRemaining === take) {
          this.filled[filled++] = orders[base + O_ID];
          this.#unlink(maker);
        }
        maker = next;
      }
    }
    for (let trade = 0; trade < tradeCount * 4; trade += 4) {
      const tradeQuantity = trades[trade + T_QUANTITY];
      this.trades++;
      this.tradedQuantity += tradeQuantity;
      this.notional += trades[trade + T_PRICE] * tradeQuantity;
    }
    if (remaining > 0 && !ioc) this.#rest(id, side, price, quantity, remaining);
    return filled;
  }

  cancel(id: number): boolean {
    const order = this.#index.get(id);
    if (order === NONE) return false;
    const base = order * this.#orderWords;
    const level = this.#orders[base + O_LEVEL];
    this.#levelTotals[this.#totalAt(level)] -= this.#orders[base + O_REMAINING];
    this.#unlink(order);
    return true;
  }

  /** Frees every block and region. */
  close(): void {
    this.orderPool.close();
    this.levelPool.close();
    this.#arena.close();
  }

  #rest(id: number, side: number, price: number, quantity: number, remaining: number): void {
    const orders = this.#orders;
    const levels = this.#levels;
    const levelAt = this.#levelAt[side];
    let level = levelAt[price];
    if (level === NONE) level = this.#newLevel(side, price);
    const levelBase = level * this.#levelWords;
    const order = this.orderPool.alloc();
    const base = order * this.#orderWords;
    const tail = levels[levelBase + L_TAIL];
    orders[base + O_ID] = id;
    orders[base + O_PRICE] = price;
    orders[base + O_QUANTITY] = quantity;
    orders[base + O_REMAINING] = remaining;
    orders[base + O_PREVIOUS] = tail;
    orders[base + O_NEXT] = NONE;
    orders[base + O_LEVEL] = level;
    orders[base + O_SIDE] = side;
    if (tail === NONE) levels[levelBase + L_HEAD] = order;
    else orders[tail * this.#orderWords + O_NEXT] = order;
    levels[levelBase + L_TAIL] = order;
    levels[levelBase + L_COUNT]++;
    this.#levelTotals[this.#totalAt(level)] += remaining;
    this.#index.set(id, order);
  }

  /** Index of a level's f64 `total` in `#levelTotals`. */
  #totalAt(level: number): number {
    return ((level * this.#levelWords) >> 1) + L_TOTAL;
  }

  #newLevel(side: number, price: number): number {
    const level = this.levelPool.alloc();
    const base = level * this.#levelWords;
    const levels = this.#levels;
    levels[base + L_PRICE] = price;
    levels[base + L_SIDE] = side;
    levels[base + L_COUNT] = 0;
    levels[base + L_HEAD] = NONE;
    levels[base + L_TAIL] = NONE;
    this.#levelTotals[this.#totalAt(level)] = 0;
    this.#levelAt[side][price] = level;
    if (side === BUY ? price > this.#bestBid : price < this.#bestAsk) {
      if (side === BUY) this.#bestBid = price;
      else this.#bestAsk = price;
    }
    return level;
  }

  /** Takes an order out of its level and the index and frees its block; frees an emptied level. */
  #unlink(order: number): void {
    const orders = this.#orders;
    const levels = this.#levels;
    const base = order * this.#orderWords;
    const level = orders[base + O_LEVEL];
    const levelBase = level * this.#levelWords;
    const previous = orders[base + O_PREVIOUS];
    const next = orders[base + O_NEXT];
    if (previous === NONE) levels[levelBase + L_HEAD] = next;
    else orders[previous * this.#orderWords + O_NEXT] = next;
    if (next === NONE) levels[levelBase + L_TAIL] = previous;
    else orders[next * this.#orderWords + O_PREVIOUS] = previous;
    this.#index.delete(orders[base + O_ID]);
    this.orderPool.free(order);
    if (--levels[levelBase + L_COUNT] === 0) this.#dropLevel(level);
  }

  #dropLevel(level: number): void {
    const levels = this.#levels;
    const base = level * this.#levelWords;
    const side = levels[base + L_SIDE];
    const price = levels[base + L_PRICE];
    const levelAt = this.#levelAt[side];
    levelAt[price] = NONE;
    this.levelPool.free(level);
    if (side === BUY) {
      if (price === this.#bestBid) {
        let scan = price - 1;
        while (scan >= 0 && levelAt[scan] === NONE) scan--;
        this.#bestBid = scan;
      }
    } else if (price === this.#bestAsk) {
      let scan = price + 1;
      while (scan < PRICE_TICKS && levelAt[scan] === NONE) scan++;
      this.#bestAsk = scan;
    }
  }
}
