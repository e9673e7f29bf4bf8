/**
 * What every producer and consumer of a Ring shares: its role in the region, slot addressing
 * and typed cursors, counters in its role's own line, the wait strategies and close.
 *
 * Waiting (`waitReady`): each strategy re-reads the other side's index through `ready()`.
 * "park" sleeps in the kernel on that index word (futex, at most 100 ms per call so that even
 * a lost wake-up costs bounded latency); the other side makes the wake system call only when
 * the header's parked count is not 0.
 *
 * @module
 */
import process from "node:process";
import type { Native } from "../ffi/library.ts";
import { RING_HEADER, RING_ROLE } from "../ffi/abi.generated.ts";
import { closedError, HotpathError } from "./errors.ts";
import type { StructCursor, StructLayout } from "./struct.ts";
import type { RingGeometry } from "./ring_region.ts";
import type { WaitStrategy } from "./ring_options.ts";
import { describe } from "./validate.ts";

/** Word indices (Int32) of the header's shared words. */
export const WORD = {
  head: RING_HEADER.head >>> 2,
  headWraps: RING_HEADER.headWraps >>> 2,
  tail: RING_HEADER.tail >>> 2,
  tailWraps: RING_HEADER.tailWraps >>> 2,
  consumersParked: RING_HEADER.consumersParked >>> 2,
  producersParked: RING_HEADER.producersParked >>> 2,
  skipped: RING_HEADER.skipped >>> 2,
} as const;

/**
 * x86-64: the waiter check that follows each publication reads the parked count with a plain
 * load. Both engines compile `Atomics.store` (and compareExchange) to a locked instruction, a
 * full barrier that no later load passes, and keep later loads after it; JSC compiles
 * `Atomics.load` to `lock xadd`, which takes the line exclusive, so producer and consumer bounced
 * the parked line between their cores on every commit and release (SPSC batch 64 on Bun: 148
 * instead of 168 M msg/s). arm64's `stlr` does not order a later plain load: Atomics.load there.
 */
const PLAIN_LOAD_AFTER_PUBLISH = process.arch === "x64";

/** Whether a thread is parked by count word `word`; call only right after publishing. */
export function parkedAfterPublish(words: Int32Array, word: number): boolean {
  return (PLAIN_LOAD_AFTER_PUBLISH ? words[word] : Atomics.load(words, word)) !== 0;
}

/** Park selectors of the library: the head, the tail, or 2 + a role's index (its cursor). */
export const SELECT_HEAD = 0;
export const SELECT_TAIL = 1;

/** What one Ring object shares with the sides it made. */
export interface RingCore {
  native: Native;
  id: number;
  attachment: number;
  words: Int32Array;
  numbers: Float64Array;
  bytes: Uint8Array;
  geometry: RingGeometry;
  layout: StructLayout<never> | undefined;
  /** Longest a "spin" or "backoff" waiter spins before it checks the clock or yields. */
  closed: boolean;
}

const SPIN = 0;
const YIELD = 1;
const PARK = 2;
const BACKOFF = 3;
const STRATEGY_CODES: Record<WaitStrategy, number> = { spin: SPIN, yield: YIELD, park: PARK, backoff: BACKOFF };
/**
 * Backoff: re-reads before the first park. No yield phase: when the two sides share a core, a
 * sched_yield hands it to a spinning peer until the next scheduler tick (4 ms stalls measured
 * by bench/ring_oneway.ts on this machine); "yield" remains a strategy of its own.
 */
const BACKOFF_SPINS = 256;
const PARK_SLICE_MS = 100;
/** Largest batch count accepted (batches are cut to what the ring holds). */
const COUNT_MAX = 2 ** 30;

// deno-lint-ignore no-explicit-any
type AnyCursor = StructCursor<any>;

/** A producer or consumer: one role of the ring, held by this thread until `close()`. */
export abstract class RingSide {
  /** Slots in the ring (a power of two). */
  declare readonly capacity: number;
  /** `capacity - 1`: the slot after slot s is `(s + 1) & mask`. */
  declare readonly mask: number;
  /** The bytes this side reads or writes slots through (see `offsetOf`). */
  declare readonly bytes: Uint8Array;
  /** Payload bytes of one slot. */
  declare readonly slotSize: number;
  /** Bytes from one slot's payload to the next in `bytes`: `offsetOf(s + 1) - offsetOf(s)`. */
  declare readonly slotStride: number;
  declare protected readonly words: Int32Array;
  declare protected readonly numbers: Float64Array;
  declare protected readonly core: RingCore;
  declare protected readonly token: number;
  declare protected readonly roleIndex: number;
  /** Index in `numbers` of this role's full_events; empty, parks, wakes, lost, late follow by name. */
  declare protected readonly counter: number;
  declare private readonly base: number;
  /** `mask` while open, -1 once closed: `offsetOf` then takes its error path (CLOSED). */
  private slotLimit: number;
  declare private readonly strategy: number;
  declare private readonly where: string;
  /** The layout's cursor over `bytes` (undefined for byte rings); `at` sets its `$base`. */
  declare private readonly cursor: AnyCursor | undefined;
  protected closedSide = false;

  constructor(core: RingCore, token: number, wait: WaitStrategy, bytes: Uint8Array, where: string) {
    const g = core.geometry;
    this.capacity = g.capacity;
    this.mask = g.capacity - 1;
    this.bytes = bytes;
    this.slotSize = g.slotBytes;
    this.slotStride = g.slotStride;
    this.words = core.words;
    this.numbers = core.numbers;
    this.core = core;
    this.token = token;
    this.roleIndex = token & 0xff;
    this.counter = (g.rolesOffset + this.roleIndex * RING_ROLE.size + RING_ROLE.fullEvents) / 8;
    this.slotLimit = g.capacity - 1;
    this.base = g.slotsOffset + g.payloadOffset;
    this.strategy = STRATEGY_CODES[wait];
    this.where = where;
    this.cursor = core.layout?.cursor(bytes);
  }

  /** Byte offset in `bytes` of slot `slot`'s payload. */
  offsetOf(slot: number): number {
    // `slot & mask` equals slot only for an integer 0 .. mask; typeof first: a bigint or a
    // Symbol would throw a TypeError in `&`.
    if (typeof slot === "number" && (slot & this.mask) === slot && slot <= this.slotLimit) {
      return this.base + slot * this.slotStride;
    }
    throw this.slotError(slot);
  }

  /** Struct rings: this side's one cursor, moved to slot `slot` (the next `at` moves it again). */
  at(slot: number): AnyCursor {
    const cursor = this.cursor;
    if (typeof slot === "number" && (slot & this.mask) === slot && slot <= this.slotLimit && cursor !== undefined) {
      cursor.$base = this.base + slot * this.slotStride;
      return cursor;
    }
    throw this.atError(slot);
  }

  private atError(slot: unknown): HotpathError {
    if (this.cursor !== undefined) return this.slotError(slot);
    this.checkOpen();
    return new HotpathError(
      "INVALID_STATE",
      `${this.where}.at: this ring's slots are raw bytes (no struct layout); use bytes and offsetOf(slot), ` +
        "or create or attach it with a struct layout.",
    );
  }

  private slotError(slot: unknown): HotpathError {
    this.checkOpen();
    return new HotpathError(
      "OUT_OF_RANGE",
      `${this.where}: slot must be an integer from 0 to ${this.mask}; got ${describe(slot)}.`,
    );
  }

  /**
   * How many of `wanted` slots a batch from `position` takes, given `ready` slots there: a
   * batch stops at the last slot, so that its slots are consecutive (offsets `slotStride` apart).
   */
  protected batchOf(position: number, ready: number, wanted: number): number {
    const untilEnd = this.capacity - (position & this.mask);
    const most = wanted < untilEnd ? wanted : untilEnd;
    return ready < most ? ready : most;
  }

  /** Gives the role back; later calls throw CLOSED. The ring stays open. */
  close(): void {
    if (this.closedSide) return;
    this.closedSide = true;
    this.slotLimit = -1;
    this.poison();
    if (!this.core.closed) this.core.native.symbols.hp_ring_role_release(this.core.id, this.token);
  }

  /** Makes the fast path of every operation take its slow path (which throws CLOSED). */
  protected abstract poison(): void;

  [Symbol.dispose](): void {
    this.close();
  }

  protected checkOpen(): void {
    if (this.closedSide || this.core.closed) {
      this.slotLimit = -1;
      this.poison();
      throw closedError(this.where);
    }
  }

  /** Messages (consumer) or free slots (producer) available now, reading the other side. */
  protected abstract ready(): number;
  /** The selector and value `park` sleeps on while `ready()` is 0. */
  protected abstract parkSelector(): number;
  protected abstract parkValue(): number;

  /** Waits by this side's strategy until `ready()` > 0; returns it, or 0 after `timeoutMs`. */
  protected waitReady(timeoutMs: number, counter: number): number {
    let ready = this.ready();
    if (ready > 0) return ready;
    this.checkOpen();
    this.numbers[counter]++;
    const deadline = performance.now() + timeoutMs;
    const strategy = this.strategy;
    const symbols = this.core.native.symbols;
    for (let round = 1;; round++) {
      ready = this.ready();
      if (ready > 0) return ready;
      if (strategy === SPIN || (strategy === BACKOFF && round < BACKOFF_SPINS)) {
        if ((round & 1023) === 0 && this.expired(deadline)) return 0;
        continue;
      }
      if (strategy === YIELD) {
        symbols.hp_yield();
        if (this.expired(deadline)) return 0;
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) return 0;
      this.checkOpen();
      const parked = symbols.hp_ring_park(
        this.core.id,
        this.token,
        this.parkSelector(),
        this.parkValue(),
        Math.min(remaining, PARK_SLICE_MS),
      );
      if (parked < 0) this.checkOpen();
    }
  }

  /** `waitReady` without blocking the thread: Deno parks on a worker thread (a nonblocking FFI
   * call); Bun has no nonblocking FFI, so it polls on timers, 1 ms apart once idle. */
  protected async waitReadyAsync(timeoutMs: number, counter: number): Promise<number> {
    let ready = this.ready();
    if (ready > 0) return ready;
    this.checkOpen();
    this.numbers[counter]++;
    const deadline = performance.now() + timeoutMs;
    const symbols = this.core.native.symbols;
    const deno = this.core.native.runtime === "deno";
    for (let round = 0;; round++) {
      ready = this.ready();
      if (ready > 0) return ready;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return 0;
      this.checkOpen();
      const slice = Math.min(remaining, PARK_SLICE_MS);
      if (deno) {
        await symbols.hp_ring_park_async(this.core.id, this.token, this.parkSelector(), this.parkValue(), slice);
      } else {
        await new Promise((resolve) => setTimeout(resolve, round < 8 ? 0 : Math.min(slice, 1)));
      }
    }
  }

  private expired(deadline: number): boolean {
    this.checkOpen();
    return deadline !== Infinity && performance.now() >= deadline;
  }

  /** Wakes the threads parked on `selector` (the caller saw a parked count). */
  protected wake(selector: number): void {
    this.numbers[this.counter + WAKES]++;
    this.core.native.symbols.hp_ring_wake(this.core.id, selector);
  }

  /** Throws INVALID_ARGUMENT unless `count` is an integer from 1 to 2^30 (more than a ring holds). */
  protected checkCount(count: unknown, name: string): number {
    if (typeof count === "number" && count >= 1 && count <= COUNT_MAX && count === Math.floor(count)) return count;
    this.checkOpen();
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${this.where}: ${name} must be an integer from 1 to ${COUNT_MAX}; got ${describe(count)}.`,
    );
  }

  /** Throws INVALID_ARGUMENT unless `timeoutMs` is a number >= 0 (Infinity: no limit). */
  protected checkTimeout(timeoutMs: unknown): number {
    if (typeof timeoutMs === "number" && timeoutMs >= 0) return timeoutMs;
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${this.where}: timeoutMs must be a number >= 0 or Infinity; got ${describe(timeoutMs)}.`,
    );
  }
}

/** Offsets, in f64s from `counter`, of a role's counters (ring/ring_layout.zig `Role`). */
export const FULL = 0;
export const EMPTY = (RING_ROLE.emptyEvents - RING_ROLE.fullEvents) / 8;
export const WAKES = (RING_ROLE.wakes - RING_ROLE.fullEvents) / 8;
export const LOST = (RING_ROLE.lost - RING_ROLE.fullEvents) / 8;
export const LATE = (RING_ROLE.lateCommits - RING_ROLE.fullEvents) / 8;
export const MESSAGES = (RING_ROLE.messages - RING_ROLE.fullEvents) / 8;
/** Word index of role `index`'s cursor and wrap count. */
export function cursorWord(geometry: RingGeometry, index: number): number {
  return (geometry.rolesOffset + index * RING_ROLE.size + RING_ROLE.cursor) >>> 2;
}

/**
 * A consumer that follows the producers' head (SPSC, broadcast): its position, a cached copy of
 * the head, and the waiting and counting both share. The hot `tryPeek`/`release` stay in each
 * class (one shape per call site).
 */
export abstract class HeadFollower extends RingSide {
  /** First slot of the last `peekBatch`. */
  peeked = 0;
  /** The next position to read. */
  protected next: number;
  /** Cached copy of the producer's head. */
  protected headCache: number;
  /** The position published as released (SPSC: the tail; broadcast: this consumer's cursor). */
  protected released: number;
  /** Word index of that position, of its wrap count, and the park selector that waits on it. */
  declare private readonly releaseWord: number;
  declare private readonly releaseWrapsWord: number;
  declare private readonly releaseSelector: number;

  constructor(
    core: RingCore,
    token: number,
    wait: WaitStrategy,
    bytes: Uint8Array,
    release: { word: number; wrapsWord: number; selector: number },
  ) {
    super(core, token, wait, bytes, "RingConsumer");
    this.releaseWord = release.word;
    this.releaseWrapsWord = release.wrapsWord;
    this.releaseSelector = release.selector;
    this.released = Atomics.load(this.words, release.word);
    this.next = this.released;
    this.headCache = Atomics.load(this.words, WORD.head);
  }

  /** Peeks up to `wanted` messages behind the head, stopping at the ring's last slot; how many. */
  protected peekHead(wanted: number): number {
    const position = this.next;
    let available = (this.headCache - position) | 0;
    if (available < wanted) available = this.refresh();
    if (available < 1) {
      this.empty();
      return 0;
    }
    const taken = this.batchOf(position, available, wanted);
    this.peeked = position & this.mask;
    this.next = (position + taken) | 0;
    return taken;
  }

  /** Gives back every message peeked since the last release: the producer may reuse the slots. */
  release(): boolean {
    const next = this.next;
    const released = this.released;
    if (next === released) {
      this.checkOpen();
      return true;
    }
    if (released < 0 && next >= 0) Atomics.add(this.words, this.releaseWrapsWord, 1);
    Atomics.store(this.words, this.releaseWord, next);
    this.released = next;
    if (parkedAfterPublish(this.words, WORD.producersParked)) this.wake(this.releaseSelector);
    return true;
  }

  /** Waits (by the wait strategy) until a message is there; returns how many are, 0 after `timeoutMs`. */
  poll(timeoutMs = Infinity): number {
    return this.waitReady(this.checkTimeout(timeoutMs), this.counter + EMPTY);
  }

  /** `poll` without blocking the thread (see RingSide `waitReadyAsync`). */
  pollAsync(timeoutMs = Infinity): Promise<number> {
    return this.waitReadyAsync(this.checkTimeout(timeoutMs), this.counter + EMPTY);
  }

  protected ready(): number {
    const available = (this.headCache - this.next) | 0;
    return available > 0 ? available : this.refresh();
  }

  protected parkSelector(): number {
    return SELECT_HEAD;
  }

  protected parkValue(): number {
    return this.next;
  }

  /** Reads the head again: the messages available. */
  protected refresh(): number {
    this.checkOpen();
    this.headCache = Atomics.load(this.words, WORD.head);
    return (this.headCache - this.next) | 0;
  }

  /** Counts a try that found nothing; -1. */
  protected empty(): number {
    this.numbers[this.counter + EMPTY]++;
    return -1;
  }

  /**
   * Held peeks are given up unreleased (a consumer reads them again), and the ring reads empty
   * for good: the slow path checks closed first.
   */
  protected poison(): void {
    this.next = this.released;
    this.headCache = this.next;
  }
}

/** The error of `drain` given something other than a function. */
export function notFunction(fn: unknown): HotpathError {
  return new HotpathError("INVALID_ARGUMENT", `RingConsumer.drain: fn must be a function; got ${typeof fn}.`);
}

/**
 * `drain` of consumers that release every message they peeked even when `fn` throws (MPMC and
 * broadcast: taken positions cannot be handed back). Batches are consecutive slots.
 */
export function drainReleasingAll(
  consumer: { peekBatch(count: number): number; readonly peeked: number; release(): boolean },
  max: number,
  fn: (slot: number) => void,
): number {
  if (typeof fn !== "function") throw notFunction(fn);
  const count = consumer.peekBatch(max);
  if (count === 0) return 0;
  const first = consumer.peeked;
  try {
    for (let index = 0; index < count; index++) fn(first + index);
  } finally {
    consumer.release();
  }
  return count;
}
