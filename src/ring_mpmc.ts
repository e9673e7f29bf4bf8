/**
 * The two sides of an MPMC ring, in the manner of Vyukov's bounded queue (rigtorp's
 * MPMCQueue): each slot starts with a turn word. Slot of position p is free for the producer
 * of p when its turn is p, holds p's message when it is p + 1, and is free for position
 * p + capacity once the consumer of p stores p + capacity. Producers take positions with a CAS
 * on head, consumers with a CAS on tail (`Atomics.compareExchange` on native memory: atomic
 * across Workers and processes).
 *
 * A producer that dies between claim and commit leaves its slot's turn at p forever. A
 * consumer that finds the slot so for longer than the ring's unblock timeout takes position p
 * and swaps the turn from p to p + capacity: the slot is skipped (counted in `skipped`) and
 * free for the next lap. A producer that was only slow finds its commit refused (`commit()`
 * returns false, counted in `lateCommits`); the timeout must exceed any pause a live producer
 * can have between claim and commit (as Aeron's publication unblock timeout).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { RING_HEADER } from "../ffi/abi.generated.ts";
import {
  drainReleasingAll,
  EMPTY,
  FULL,
  LATE,
  MESSAGES,
  parkedAfterPublish,
  type RingCore,
  RingSide,
  SELECT_HEAD,
  SELECT_TAIL,
  WORD,
} from "./ring_side.ts";
import type { WaitStrategy } from "./ring_options.ts";

const RECLAIMED_PEEKS = RING_HEADER.reclaimedPeeks >>> 2;

/** A position word that disagrees with the slots' turns: only a region written by someone else. */
function corrupted(where: string, word: string): HotpathError {
  return new HotpathError(
    "CORRUPTED",
    `${where}: the ring's ${word} index disagrees with its slots; something other than hotpath wrote the region.`,
  );
}

/**
 * Tracks one position that stays blocked (a claim not committed, a peek not released): whether
 * it has stayed so for longer than the unblock timeout. The clock is read only while blocked.
 */
class Overdue {
  private at = 0;
  private since = -1;

  constructor(private readonly limitMs: number) {}

  /** True once `position` has been seen blocked for `limitMs`; false (and the clock starts) before. */
  check(position: number): boolean {
    const now = performance.now();
    if (this.since < 0 || this.at !== position) {
      this.at = position;
      this.since = now;
      return false;
    }
    return now - this.since >= this.limitMs;
  }

  clear(): void {
    this.since = -1;
  }
}

function pendingError(where: string, what: string): HotpathError {
  return new HotpathError(
    "INVALID_STATE",
    `${where}: the slots of the last ${what} are still held; ${
      what === "claim" ? "commit()" : "release()"
    } them first ` +
      "(an MPMC side holds one claim or peek at a time).",
  );
}

/** Writes messages into an MPMC ring: claim slots, write them, commit. */
export class MpmcProducer extends RingSide {
  /** First slot of the last claim. */
  claimed = 0;
  declare private readonly turns: number;
  declare private readonly turnStride: number;
  /** Position of the first slot held, and how many are held (0: none). */
  private first = 0;
  private held = 0;
  /** A slot a consumer took and has not released (it may have died holding it). */
  declare private readonly unreleased: Overdue;

  constructor(core: RingCore, token: number, wait: WaitStrategy) {
    super(core, token, wait, core.bytes, "RingProducer");
    this.turns = core.geometry.slotsOffset >>> 2;
    this.turnStride = core.geometry.slotStride >>> 2;
    this.unreleased = new Overdue(core.geometry.unblockTimeoutMs);
  }

  /** Claims the next slot: its index, or -1 when the ring is full. */
  tryClaim(): number {
    if (this.held !== 0 || this.closedSide) throw this.#cannot();
    return this.#take(1) === 0 ? this.#full() : this.claimed;
  }

  /** Claims up to `count` consecutive slots; returns how many (0: full). Slot i is `claimed + i` (see SPSC). */
  tryClaimBatch(count: number): number {
    const wanted = this.checkCount(count, "tryClaimBatch count");
    if (this.held !== 0 || this.closedSide) throw this.#cannot();
    const taken = this.#take(wanted);
    if (taken === 0) this.#full();
    return taken;
  }

  #take(wanted: number): number {
    const words = this.words;
    const mask = this.mask;
    let position = Atomics.load(words, WORD.head);
    let rereads = 0;
    for (;;) {
      const most = this.batchOf(position, wanted, wanted);
      let free = 0;
      let difference = 0;
      while (free < most) {
        const at = (position + free) | 0;
        difference = (Atomics.load(words, this.turns + (at & mask) * this.turnStride) - at) | 0;
        if (difference !== 0) break;
        free++;
      }
      if (free === 0) {
        // The slot's last lap is not released: full, or a consumer holds it (see #reclaim).
        if (difference < 0) return this.#reclaim(position) ? this.#take(wanted) : 0;
        const reread = Atomics.load(words, WORD.head); // another producer moved on
        if (reread === position && ++rereads > 1) throw corrupted("RingProducer", "head");
        position = reread;
        continue;
      }
      const next = (position + free) | 0;
      const seen = Atomics.compareExchange(words, WORD.head, position, next);
      if (seen !== position) {
        position = seen;
        continue;
      }
      if (position < 0 && next >= 0) Atomics.add(words, WORD.headWraps, 1);
      this.first = position;
      this.held = free;
      this.claimed = position & mask;
      return free;
    }
  }

  /**
   * Publishes the slots claimed. False if a consumer skipped any of them because this commit
   * came after the ring's unblock timeout (those messages are lost; counted in lateCommits).
   */
  commit(): boolean {
    const held = this.held;
    if (held === 0 || this.closedSide) {
      this.checkOpen();
      return true;
    }
    const words = this.words;
    let late = 0;
    for (let index = 0; index < held; index++) {
      const position = (this.first + index) | 0;
      const turn = this.turns + (position & this.mask) * this.turnStride;
      if (Atomics.compareExchange(words, turn, position, (position + 1) | 0) !== position) late++;
    }
    this.held = 0;
    this.numbers[this.counter + MESSAGES] += held - late;
    if (parkedAfterPublish(words, WORD.consumersParked)) this.wake(SELECT_HEAD);
    if (late === 0) return true;
    this.numbers[this.counter + LATE] += late;
    return false;
  }

  /** Waits (by the wait strategy) for a free slot, then claims it; -1 after `timeoutMs`. */
  claim(timeoutMs = Infinity): number {
    const limit = this.checkTimeout(timeoutMs);
    const deadline = performance.now() + limit;
    for (let round = 0;; round++) {
      if (this.held !== 0 || this.closedSide) throw this.#cannot();
      if (this.#take(1) === 1) return this.claimed;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        if (round === 0) this.#full(); // a wait that never started still found the ring full
        return -1;
      }
      if (this.waitReady(remaining, this.counter + FULL) === 0) return -1;
    }
  }

  /**
   * The slot of `position` still holds the message of `position - capacity`. If a consumer took
   * that message (the tail is past it) and has not released it for the unblock timeout, it died
   * or closed mid-read: give the slot back on its behalf (counted in reclaimedPeeks). True if so.
   */
  #reclaim(position: number): boolean {
    const previous = (position - this.capacity) | 0;
    if (((Atomics.load(this.words, WORD.tail) - previous) | 0) <= 0) return false; // not taken: full
    if (!this.unreleased.check(position)) return false;
    this.unreleased.clear();
    const turn = this.turns + (position & this.mask) * this.turnStride;
    if (Atomics.compareExchange(this.words, turn, (previous + 1) | 0, position) !== ((previous + 1) | 0)) return false;
    Atomics.add(this.words, RECLAIMED_PEEKS, 1);
    return true;
  }

  protected ready(): number {
    this.checkOpen();
    const head = Atomics.load(this.words, WORD.head);
    const turn = Atomics.load(this.words, this.turns + (head & this.mask) * this.turnStride);
    if (((turn - head) | 0) >= 0) return 1;
    // A slot overdue for its release: the next claim gives it back.
    const previous = (head - this.capacity) | 0;
    if (((Atomics.load(this.words, WORD.tail) - previous) | 0) <= 0) return 0;
    return this.unreleased.check(head) ? 1 : 0;
  }

  protected parkSelector(): number {
    return SELECT_TAIL;
  }

  protected parkValue(): number {
    return Atomics.load(this.words, WORD.tail);
  }

  #full(): number {
    this.numbers[this.counter + FULL]++;
    return -1;
  }

  #cannot(): HotpathError {
    this.checkOpen();
    return pendingError("RingProducer", "claim");
  }

  protected poison(): void {}
}

/** Reads messages from an MPMC ring: peek slots, read them, release. */
export class MpmcConsumer extends RingSide {
  /** First slot of the last peek. */
  peeked = 0;
  declare private readonly turns: number;
  declare private readonly turnStride: number;
  private first = 0;
  private held = 0;
  /** A position claimed by a producer and not committed (it may have died holding it). */
  declare private readonly uncommitted: Overdue;

  constructor(core: RingCore, token: number, wait: WaitStrategy) {
    super(core, token, wait, core.bytes, "RingConsumer");
    this.turns = core.geometry.slotsOffset >>> 2;
    this.turnStride = core.geometry.slotStride >>> 2;
    this.uncommitted = new Overdue(core.geometry.unblockTimeoutMs);
  }

  /** The next message's slot, or -1 when there is none. */
  tryPeek(): number {
    if (this.held !== 0 || this.closedSide) throw this.#cannot();
    return this.#take(1) === 0 ? this.#empty() : this.peeked;
  }

  /** Peeks up to `count` consecutive messages; returns how many. Slot i is `peeked + i` (see SPSC). */
  peekBatch(count: number): number {
    const wanted = this.checkCount(count, "peekBatch count");
    if (this.held !== 0 || this.closedSide) throw this.#cannot();
    const taken = this.#take(wanted);
    if (taken === 0) this.#empty();
    return taken;
  }

  #take(wanted: number): number {
    const words = this.words;
    const mask = this.mask;
    let position = Atomics.load(words, WORD.tail);
    let rereads = 0;
    for (;;) {
      const most = this.batchOf(position, wanted, wanted);
      let ready = 0;
      let difference = 0;
      while (ready < most) {
        const at = (position + ready) | 0;
        difference = (Atomics.load(words, this.turns + (at & mask) * this.turnStride) - at - 1) | 0;
        if (difference !== 0) break;
        ready++;
      }
      if (ready === 0) {
        if (difference < 0) {
          const stuck = this.#stuck(position);
          if (stuck >= 0) return stuck;
          position = Atomics.load(words, WORD.tail); // skipped a dead claim: go on behind it
          continue;
        }
        const reread = Atomics.load(words, WORD.tail); // another consumer moved on
        if (reread === position && ++rereads > 1) throw corrupted("RingConsumer", "tail");
        position = reread;
        continue;
      }
      const next = (position + ready) | 0;
      const seen = Atomics.compareExchange(words, WORD.tail, position, next);
      if (seen !== position) {
        position = seen;
        continue;
      }
      if (position < 0 && next >= 0) Atomics.add(words, WORD.tailWraps, 1);
      this.first = position;
      this.held = ready;
      this.peeked = position & mask;
      return ready;
    }
  }

  /** Whether `position` was claimed and not committed for longer than the unblock timeout. */
  #overdue(position: number): boolean {
    if (Atomics.load(this.words, WORD.head) === position) {
      this.uncommitted.clear(); // empty, not stuck
      return false;
    }
    return this.uncommitted.check(position);
  }

  /**
   * Nothing ready at `position`: 0 when empty or not yet overdue; 1 when the overdue claim was
   * committed at the last moment (it is ours now); -1 when it was skipped.
   */
  #stuck(position: number): number {
    if (!this.#overdue(position)) return 0;
    this.uncommitted.clear();
    const words = this.words;
    if (Atomics.compareExchange(words, WORD.tail, position, (position + 1) | 0) !== position) return -1;
    if (position === -1) Atomics.add(words, WORD.tailWraps, 1);
    const turn = this.turns + (position & this.mask) * this.turnStride;
    if (Atomics.compareExchange(words, turn, position, (position + this.capacity) | 0) === position) {
      Atomics.add(words, WORD.skipped, 1);
      if (parkedAfterPublish(words, WORD.producersParked)) this.wake(SELECT_TAIL);
      return -1;
    }
    // Committed at the last moment: the message is ours.
    this.first = position;
    this.held = 1;
    this.peeked = position & this.mask;
    return 1;
  }

  /**
   * Gives back the slots peeked: producers may reuse them. False if a producer had already
   * taken a slot back because this peek outlasted the unblock timeout (its contents may have
   * changed while they were read; counted in lateCommits).
   */
  release(): boolean {
    const held = this.held;
    if (held === 0 || this.closedSide) {
      this.checkOpen();
      return true;
    }
    return this.#giveBack(held);
  }

  #giveBack(held: number): boolean {
    const words = this.words;
    let late = 0;
    for (let index = 0; index < held; index++) {
      const position = (this.first + index) | 0;
      const turn = this.turns + (position & this.mask) * this.turnStride;
      // A CAS, not a store: a producer may have reclaimed the slot past the unblock timeout
      // and written the next lap into it, which this late release must leave alone.
      if (
        Atomics.compareExchange(words, turn, (position + 1) | 0, (position + this.capacity) | 0) !==
          ((position + 1) | 0)
      ) {
        late++;
      }
    }
    this.held = 0;
    this.numbers[this.counter + MESSAGES] += held - late;
    if (late !== 0) this.numbers[this.counter + LATE] += late;
    if (parkedAfterPublish(words, WORD.producersParked)) this.wake(SELECT_TAIL);
    return late === 0;
  }

  /**
   * Calls `fn(slot)` for up to `max` messages and releases them; returns how many. If `fn`
   * throws, the messages up to the one it threw on are released and the rest are released
   * too (counted as delivered): an MPMC consumer cannot hand taken positions back.
   */
  drain(max: number, fn: (slot: number) => void): number {
    return drainReleasingAll(this, max, fn);
  }

  /** Waits until a message is there; returns 1, or 0 after `timeoutMs`. Another consumer may take it first. */
  poll(timeoutMs = Infinity): number {
    if (this.held !== 0) throw this.#cannot();
    return this.waitReady(this.checkTimeout(timeoutMs), this.counter + EMPTY);
  }

  /** `poll` without blocking the thread. */
  pollAsync(timeoutMs = Infinity): Promise<number> {
    if (this.held !== 0) throw this.#cannot();
    return this.waitReadyAsync(this.checkTimeout(timeoutMs), this.counter + EMPTY);
  }

  protected ready(): number {
    this.checkOpen();
    const tail = Atomics.load(this.words, WORD.tail);
    const turn = Atomics.load(this.words, this.turns + (tail & this.mask) * this.turnStride);
    if (((turn - tail - 1) | 0) >= 0) return 1;
    // A slot overdue for its commit: the next peek skips it (or finds it committed after all).
    return this.#overdue(tail) ? 1 : 0;
  }

  protected parkSelector(): number {
    return SELECT_HEAD;
  }

  protected parkValue(): number {
    return Atomics.load(this.words, WORD.head);
  }

  #empty(): number {
    this.numbers[this.counter + EMPTY]++;
    return -1;
  }

  #cannot(): HotpathError {
    this.checkOpen();
    return pendingError("RingConsumer", "peek");
  }

  /** Held peeks are given back (as consumed): an MPMC consumer cannot hand positions back. */
  protected poison(): void {
    if (this.held !== 0) this.#giveBack(this.held);
  }
}
