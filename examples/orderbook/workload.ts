/**
 * The churn both order books run: the same seeded sequence of passive inserts, cancels and
 * marketable immediate-or-cancel orders, so the two books do identical work and must end
 * with identical trades (checked).
 *
 * @module
 */

/** A price-time-priority limit order book, as the churn drives it. */
export interface Book {
  /**
   * A limit order: matches the other side at prices up to `price` (buy) or down to it
   * (sell), oldest order first at each level; the rest rests unless `ioc`. Returns how many
   * resting orders it filled completely; their ids are in `filled`.
   */
  insert(id: number, side: number, price: number, quantity: number, ioc: boolean): number;
  /** Removes a resting order; false if it is not resting (filled or cancelled before). */
  cancel(id: number): boolean;
  /** Ids of the resting orders the last insert filled completely. */
  readonly filled: Int32Array;
  /** Resting orders. */
  readonly live: number;
  /** Trades, traded quantity and sum of price × quantity: equal books give equal sums. */
  readonly trades: number;
  readonly tradedQuantity: number;
  readonly notional: number;
}

export const BUY = 0;
export const SELL = 1;
/** Prices are integer ticks; passive orders rest within DEPTH ticks of MID. */
export const MID = 50_000;
export const DEPTH = 400;
/** Price ticks a book must cover. */
export const PRICE_TICKS = 2 * MID;
/** A marketable order may reach this far past the mid: it trades while the other side has orders. */
const REACH = DEPTH;
/** Operation kinds, as recorded per operation. */
export const INSERT = 0;
export const CANCEL = 1;
export const MARKETABLE = 2;
export const KIND_NAMES = ["insert (rests)", "cancel", "marketable IOC (matches)"] as const;
/** Most resting orders one insert can fill: quantities are at least 1. */
export const FILLED_MAX = 512;

/** Sizes of one churn run. */
export interface ChurnOptions {
  /** Resting orders to build up before the churn and keep around during it. */
  orders: number;
  /** Operations of the churn. */
  operations: number;
  seed: number;
}

/** xorshift32: deterministic on both runtimes, no allocation. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed | 0 || 1;
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x;
    return (x >>> 0) % bound;
  }
}

/** The ids resting in the book, in a typed-array set with O(1) add, remove and random pick. */
export class LiveIds {
  readonly #ids: Int32Array;
  readonly #position: Int32Array;
  #count = 0;
  constructor(maxIds: number, maxLive: number) {
    this.#ids = new Int32Array(maxLive);
    this.#position = new Int32Array(maxIds).fill(-1);
  }
  get count(): number {
    return this.#count;
  }
  add(id: number): void {
    this.#position[id] = this.#count;
    this.#ids[this.#count++] = id;
  }
  remove(id: number): void {
    const at = this.#position[id];
    if (at < 0) throw new Error(`workload: id ${id} is not live`);
    const last = this.#ids[--this.#count];
    this.#ids[at] = last;
    this.#position[last] = at;
    this.#position[id] = -1;
  }
  pick(random: Random): number {
    return this.#ids[random.below(this.#count)];
  }
}

/** What one churn did, for checking that two books did the same. */
export interface ChurnCounts {
  inserts: number;
  cancels: number;
  marketable: number;
  filledOrders: number;
}

/**
 * Runs the prefill (untimed) and then the churn, timing every book call with `clock` into
 * `latencies` (ns, clock cost not yet subtracted) and its kind into `kinds`. The driver's own bookkeeping is not timed.
 */
export function runChurn(
  book: Book,
  options: ChurnOptions,
  clock: () => number,
  latencies: Float64Array,
  kinds: Uint8Array,
  beforeChurn: () => void,
): ChurnCounts {
  const random = new Random(options.seed);
  const maxIds = options.orders + options.operations + 1;
  const live = new LiveIds(maxIds, options.orders * 2 + FILLED_MAX);
  const counts: ChurnCounts = { inserts: 0, cancels: 0, marketable: 0, filledOrders: 0 };
  let nextId = 0;
  for (; nextId < options.orders; nextId++) {
    insertPassive(book, random, nextId, live);
  }
  beforeChurn();
  for (let operation = 0; operation < options.operations; operation++) {
    const roll = random.below(100);
    let start: number;
    let end: number;
    if (roll < 10) {
      const side = random.below(2);
      const price = side === BUY ? MID + REACH : MID - REACH;
      const quantity = 1 + random.below(400);
      const id = nextId++;
      start = clock();
      const filled = book.insert(id, side, price, quantity, true);
      end = clock();
      for (let index = 0; index < filled; index++) live.remove(book.filled[index]);
      counts.filledOrders += filled;
      counts.marketable++;
      kinds[operation] = MARKETABLE;
    } else if (live.count < options.orders) {
      const side = random.below(2);
      const offset = 1 + random.below(DEPTH);
      const price = side === BUY ? MID - offset : MID + offset;
      const quantity = 1 + random.below(100);
      const id = nextId++;
      start = clock();
      const filled = book.insert(id, side, price, quantity, false);
      end = clock();
      if (filled !== 0) throw new Error("workload: a passive order matched");
      live.add(id);
      counts.inserts++;
      kinds[operation] = INSERT;
    } else {
      const id = live.pick(random);
      start = clock();
      const removed = book.cancel(id);
      end = clock();
      if (!removed) throw new Error(`workload: cancel of live order ${id} failed`);
      live.remove(id);
      counts.cancels++;
      kinds[operation] = CANCEL;
    }
    latencies[operation] = end - start;
  }
  if (live.count !== book.live) {
    throw new Error(`workload: the book holds ${book.live} orders, the driver ${live.count}`);
  }
  return counts;
}

function insertPassive(book: Book, random: Random, id: number, live: LiveIds): void {
  const side = random.below(2);
  const offset = 1 + random.below(DEPTH);
  book.insert(id, side, side === BUY ? MID - offset : MID + offset, 1 + random.below(100), false);
  live.add(id);
}
