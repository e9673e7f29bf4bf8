/**
 * The sides of a broadcast ring: one producer, many consumers, each consumer sees every
 * message (the Disruptor's multicast, Aeron's subscriptions). Each consumer's position lives
 * in its role's own line (`cursor`).
 *
 * - A gating ("block") consumer holds the producer back: the producer may write position p
 *   only while p < cursor + capacity for every gating consumer. The producer keeps that limit
 *   in a field and scans the cursors again only when it reaches it (rigtorp's cached index,
 *   over many consumers).
 * - A "drop" consumer is not waited for. When the producer laps it, it jumps ahead and counts
 *   what it lost. It reads each message as a seqlock reader: the slot's turn word says which
 *   position the slot holds (p + 1 once published, p while being written), so the consumer
 *   copies the payload into its own memory and keeps the copy only if the turn did not change.
 *   Its `bytes` are that copy (same offsets as the ring's), so it never sees a torn message.
 *
 * A gating consumer whose thread or process died would hold the producer forever: a producer
 * that finds the ring full asks the library to reap roles of dead owners (at most every 50 ms).
 *
 * @module
 */
import { RING_ROLE } from "../ffi/abi.generated.ts";
import {
  cursorWord,
  drainReleasingAll,
  FULL,
  HeadFollower,
  LOST,
  parkedAfterPublish,
  type RingCore,
  RingSide,
  SELECT_HEAD,
  WORD,
} from "./ring_side.ts";
import type { WaitStrategy } from "./ring_options.ts";

const REAP_INTERVAL_MS = 50;
const ROLE_LIVE = 1;
const ROLE_CONSUMER = 2;

/** Writes messages into a broadcast ring: claim slots, write them, commit. */
export class BroadcastProducer extends RingSide {
  /** First slot of the last `tryClaimBatch`. */
  claimed = 0;
  declare private readonly turns: number;
  declare private readonly turnStride: number;
  declare private readonly roles: number;
  declare private next: number;
  declare private head: number;
  /** Positions below `limit` may be written (every gating consumer is less than a ring behind). */
  declare private limit: number;
  /** Role index of the slowest gating consumer at the last scan (-1: none): what `park` waits on. */
  private slowest = -1;
  private lastReap = 0;

  constructor(core: RingCore, token: number, wait: WaitStrategy) {
    super(core, token, wait, core.bytes, "RingProducer");
    this.turns = core.geometry.slotsOffset >>> 2;
    this.turnStride = core.geometry.slotStride >>> 2;
    this.roles = core.geometry.rolesMax;
    this.head = Atomics.load(this.words, WORD.head);
    this.next = this.head;
    this.limit = this.head;
  }

  /** Claims the next slot: its index, or -1 when a gating consumer is a whole ring behind. */
  tryClaim(): number {
    const position = this.next;
    if (((this.limit - position) | 0) <= 0 && this.#scan() < 1) return this.#full();
    const slot = position & this.mask;
    Atomics.store(this.words, this.turns + slot * this.turnStride, position); // being written
    this.next = (position + 1) | 0;
    return slot;
  }

  /** Claims up to `count` slots; returns how many (0: full). Slot i is `claimed + i` (see SPSC). */
  tryClaimBatch(count: number): number {
    const wanted = this.checkCount(count, "tryClaimBatch count");
    const position = this.next;
    let room = (this.limit - position) | 0;
    if (room < wanted) room = this.#scan();
    if (room < 1) {
      this.#full();
      return 0;
    }
    const taken = this.batchOf(position, room, wanted);
    for (let index = 0; index < taken; index++) {
      const at = (position + index) | 0;
      Atomics.store(this.words, this.turns + (at & this.mask) * this.turnStride, at);
    }
    this.claimed = position & this.mask;
    this.next = (position + taken) | 0;
    return taken;
  }

  /** Publishes every slot claimed since the last commit. */
  commit(): boolean {
    const next = this.next;
    const head = this.head;
    if (next === head) {
      this.checkOpen();
      return true;
    }
    const words = this.words;
    for (let at = head; at !== next; at = (at + 1) | 0) {
      Atomics.store(words, this.turns + (at & this.mask) * this.turnStride, (at + 1) | 0);
    }
    if (head < 0 && next >= 0) Atomics.add(words, WORD.headWraps, 1);
    Atomics.store(words, WORD.head, next);
    this.head = next;
    if (parkedAfterPublish(words, WORD.consumersParked)) this.wake(SELECT_HEAD);
    return true;
  }

  /** Waits (by the wait strategy) until no gating consumer is a ring behind, then claims; -1 after `timeoutMs`. */
  claim(timeoutMs = Infinity): number {
    const limit = this.checkTimeout(timeoutMs);
    if (((this.limit - this.next) | 0) > 0 || this.#scan() > 0) return this.tryClaim();
    return this.waitReady(limit, this.counter + FULL) > 0 ? this.tryClaim() : -1;
  }

  /** Scans the gating consumers' cursors: the room left before the slowest is lapped. */
  #scan(): number {
    this.checkOpen();
    const words = this.words;
    let lowest = this.head;
    let slowest = -1;
    for (let index = 0; index < this.roles; index++) {
      const role = (this.core.geometry.rolesOffset + index * RING_ROLE.size) >>> 2;
      if ((Atomics.load(words, role + (RING_ROLE.state >>> 2)) & 3) !== ROLE_LIVE) continue;
      if (Atomics.load(words, role + (RING_ROLE.kind >>> 2)) !== ROLE_CONSUMER) continue;
      if (Atomics.load(words, role + (RING_ROLE.gating >>> 2)) !== 1) continue;
      const cursor = Atomics.load(words, role + (RING_ROLE.cursor >>> 2));
      if (((cursor - lowest) | 0) <= 0) {
        lowest = cursor;
        slowest = index;
      }
    }
    this.slowest = slowest;
    this.limit = (lowest + this.capacity) | 0;
    const room = (this.limit - this.next) | 0;
    if (room < 1 && slowest >= 0) return this.#reapDead(room);
    return room;
  }

  /** Full because of a gating consumer: take back roles of dead owners, at most every 50 ms. */
  #reapDead(room: number): number {
    const now = performance.now();
    if (now - this.lastReap < REAP_INTERVAL_MS) return room;
    this.lastReap = now;
    return this.core.native.symbols.hp_ring_reap(this.core.id) > 0 ? this.#scan() : room;
  }

  protected ready(): number {
    return this.#scan();
  }

  protected parkSelector(): number {
    return this.slowest < 0 ? SELECT_HEAD : 2 + this.slowest;
  }

  protected parkValue(): number {
    return this.slowest < 0 ? this.head : Atomics.load(this.words, cursorWord(this.core.geometry, this.slowest));
  }

  #full(): number {
    this.numbers[this.counter + FULL]++;
    return -1;
  }

  protected poison(): void {
    this.next = this.head; // held claims are dropped: commit has nothing and throws
    this.limit = this.next; // full for good: the scan checks closed first
  }
}

/** Reads every message of a broadcast ring: peek, read, release. */
export class BroadcastConsumer extends HeadFollower {
  /** True for a "drop" consumer (not waited for; reads copies). */
  declare readonly drops: boolean;
  declare private readonly turns: number;
  declare private readonly turnStride: number;
  declare private readonly cursorWord: number;
  /** Drop consumers: their copy of the ring's slots, as Int32 words, and payload words per slot. */
  declare private readonly copy: Int32Array;
  declare private readonly payloadWords: number;
  declare private readonly payloadStart: number;

  constructor(core: RingCore, token: number, wait: WaitStrategy, drops: boolean) {
    const g = core.geometry;
    const copy = drops ? new Uint8Array(g.slotsOffset + g.capacity * g.slotStride) : core.bytes;
    const word = cursorWord(g, token & 0xff);
    super(core, token, wait, copy, { word, wrapsWord: word + 1, selector: 2 + (token & 0xff) });
    this.drops = drops;
    this.turns = g.slotsOffset >>> 2;
    this.turnStride = g.slotStride >>> 2;
    this.cursorWord = cursorWord(g, this.roleIndex);
    this.copy = new Int32Array(copy.buffer, copy.byteOffset, copy.byteLength >>> 2);
    this.payloadWords = (g.slotStride - g.payloadOffset) >>> 2;
    this.payloadStart = (g.slotsOffset + g.payloadOffset) >>> 2;
  }

  /** The next message's slot, or -1 when it has read everything published. */
  tryPeek(): number {
    for (;;) {
      const position = this.next;
      if (position === this.headCache && this.refresh() < 1) return this.empty();
      if (!this.drops) {
        this.next = (position + 1) | 0;
        return position & this.mask;
      }
      const slot = this.#copy(position, true);
      if (slot >= 0) return slot;
    }
  }

  /** Peeks up to `count` messages; returns how many. Slot i is `peeked + i` (see SPSC). */
  peekBatch(count: number): number {
    const wanted = this.checkCount(count, "peekBatch count");
    return this.drops ? this.#peekCopies(wanted) : this.peekHead(wanted);
  }

  /**
   * Drop consumers peek one by one; the batch is the consecutive copies that were intact, up to
   * the ring's last slot.
   */
  #peekCopies(wanted: number): number {
    const first = this.tryPeek();
    if (first < 0) return 0;
    this.peeked = first;
    const most = this.batchOf(first, wanted, wanted);
    let taken = 1;
    while (taken < most) {
      const position = this.next;
      if (position === this.headCache) break;
      if (this.#copy(position, false) < 0) break;
      taken++;
    }
    return taken;
  }

  /**
   * Copies position's message; its slot, or -1 if it was overwritten (counted lost). A lapped
   * consumer jumps to the oldest message still in the ring, unless `mayJump` is false (the rest
   * of a batch, which must be consecutive): then -2 and nothing changes.
   */
  #copy(wanted: number, mayJump: boolean): number {
    let position = wanted;
    const behind = (this.headCache - position) | 0;
    if (behind > this.capacity) {
      if (!mayJump) return -2;
      this.numbers[this.counter + LOST] += behind - this.capacity;
      position = (this.headCache - this.capacity) | 0;
    }
    const slot = position & this.mask;
    const turn = this.turns + slot * this.turnStride;
    const expected = (position + 1) | 0;
    this.next = expected;
    if (Atomics.load(this.words, turn) !== expected) return this.#overwritten();
    const from = this.payloadStart + slot * this.turnStride;
    const words = this.words;
    const copy = this.copy;
    for (let index = 0; index < this.payloadWords; index++) copy[from + index] = words[from + index];
    if (Atomics.load(this.words, turn) !== expected) return this.#overwritten();
    return slot;
  }

  /** The producer lapped this consumer under its read: count the message lost, see how far. */
  #overwritten(): number {
    this.numbers[this.counter + LOST]++;
    this.headCache = Atomics.load(this.words, WORD.head);
    return -1;
  }

  /** Calls `fn(slot)` for up to `max` messages and releases them; returns how many. */
  drain(max: number, fn: (slot: number) => void): number {
    return drainReleasingAll(this, max, fn);
  }

  /** Messages published that this consumer has not read yet. */
  get lag(): number {
    this.checkOpen();
    return (Atomics.load(this.words, WORD.head) - this.next) | 0;
  }

  /** Drop consumers: messages lost by being lapped, since this consumer was created. */
  get lost(): number {
    return this.numbers[this.counter + LOST];
  }
}
