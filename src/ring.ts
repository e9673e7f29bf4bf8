/**
 * `Ring`: bounded queues in shared memory between Workers and between processes (Deno and Bun
 * alike): SPSC, MPMC and broadcast. Zero-copy and allocation-free: a producer claims a slot,
 * writes it through a typed cursor or bytes, and commits; a consumer peeks, reads, releases.
 * Batch forms move many messages per publication; `try*` calls return -1 instead of throwing
 * when full or empty; blocking calls wait by a strategy (spin, yield, park, backoff).
 *
 * A Ring object is one realm's attachment to the ring's region; `producer()` and `consumer()`
 * take a role in it (src/ring_spsc.ts, ring_mpmc.ts, ring_broadcast.ts hold the algorithms).
 *
 * @module
 */
import process from "node:process";
import { type Native, openNative } from "../ffi/library.ts";
import { HotpathError, statusError } from "./errors.ts";
import { type Schema, StructLayout } from "./struct.ts";
import { describe, readOptions } from "./validate.ts";
import { regionPath } from "./shared_pool_options.ts";
import {
  checkRingDescriptor,
  KINDS,
  type RingConsumer,
  type RingDescriptor,
  type RingKind,
  type RingOptions,
  type RingProducer,
  ringSettings,
  type RingSideOptions,
  type RingStats,
  sideSettings,
  type SlowConsumerPolicy,
} from "./ring_options.ts";
import {
  attachRing,
  createRing,
  holdRing,
  openRing,
  readRingCounters,
  readRole,
  ringPathMatches,
} from "./ring_region.ts";
import { unlinkSharedRegion } from "./shared_pool_region.ts";
import { track } from "./metrics.ts";
import { placedNodeOf } from "./placement_report.ts";
import type { RingCore, RingSide } from "./ring_side.ts";
import { SpscConsumer, SpscProducer } from "./ring_spsc.ts";
import { MpmcConsumer, MpmcProducer } from "./ring_mpmc.ts";
import { BroadcastConsumer, BroadcastProducer } from "./ring_broadcast.ts";

export type { RingDescriptor, RingKind, RingOptions, RingSideOptions, RingStats, SlowConsumerPolicy };
export type { RingRoleStats, WaitStrategy } from "./ring_options.ts";

export type { RingConsumer, RingProducer, RingSlots } from "./ring_options.ts";

/** The options of `Ring.spsc/mpmc/broadcast`, with the slot layout's schema kept for typed cursors. */
export type RingCreateOptions<S extends Schema> = Omit<RingOptions, "slot"> & { slot: StructLayout<S> | number };

/** Options of `Ring.attach` and `Ring.open`: the struct layout of the slots, for typed cursors. */
export interface RingAttachOptions<S extends Schema = Schema> {
  /** The layout the ring was created with (or one that fits its slots). */
  slot?: StructLayout<S>;
}

const ROLE_PRODUCER = 1;
const ROLE_CONSUMER = 2;
const VERDICTS = ["alive", "dead", "unknown"] as const;

/** A bounded queue over a shared region; see the module documentation. */
export class Ring<S extends Schema = Schema> {
  /** "spsc", "mpmc" or "broadcast". */
  declare readonly kind: RingKind;
  /** Slots (a power of two). */
  declare readonly capacity: number;
  /** `capacity - 1`. */
  declare readonly mask: number;
  /** Payload bytes per slot. */
  declare readonly slotSize: number;
  /** The ring's file path ("" for anonymous memory). */
  declare readonly name: string;
  #core: RingCore;
  #path: string | undefined;
  #policy: SlowConsumerPolicy;
  #sides = new Set<RingSide>();

  private constructor(native: Native, id: number, path: string | undefined, layout: unknown, where: string) {
    const hold = holdRing(native, id, where);
    const g = hold.geometry;
    const checked = checkSlotLayout(where, layout, g.slotBytes, g.slotAlign, id, native);
    this.#core = {
      native,
      id,
      attachment: hold.attachment,
      words: new Int32Array(hold.buffer),
      numbers: new Float64Array(hold.buffer),
      bytes: new Uint8Array(hold.buffer),
      geometry: g,
      layout: checked,
      closed: false,
    };
    this.#path = path;
    this.#policy = g.policy === 1 ? "drop" : "block";
    this.kind = KINDS[g.kind - 1];
    this.capacity = g.capacity;
    this.mask = g.capacity - 1;
    this.slotSize = g.slotBytes;
    this.name = path ?? "";
    track(this, placedNodeOf(hold.buffer));
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * A single-producer single-consumer ring: the fastest kind.
   *
   * @example
   * ```ts
   * import { Ring, struct } from "@hotpath/core";
   * const Tick = struct({ price: "f64", size: "u32" });
   * using ring = Ring.spsc({ slot: Tick, capacity: 1024 });
   * const producer = ring.producer();
   * const consumer = ring.consumer();
   * const slot = producer.tryClaim();
   * producer.at(slot).price = 101.25;
   * producer.commit();
   * const read = consumer.tryPeek();
   * console.log(consumer.at(read).price); // 101.25
   * consumer.release();
   * ```
   */
  static spsc<S extends Schema = Schema>(options: RingCreateOptions<S>): Ring<S> {
    return Ring.#create("spsc", options) as Ring<S>;
  }

  /** A multi-producer multi-consumer ring (each message to one consumer). */
  static mpmc<S extends Schema = Schema>(options: RingCreateOptions<S>): Ring<S> {
    return Ring.#create("mpmc", options) as Ring<S>;
  }

  /** One producer, many consumers, each seeing every message (`onSlowConsumer`: "block" or "drop"). */
  static broadcast<S extends Schema = Schema>(options: RingCreateOptions<S>): Ring<S> {
    return Ring.#create("broadcast", options) as Ring<S>;
  }

  static #create(kind: RingKind, options: unknown): Ring {
    const where = `Ring.${kind}`;
    const settings = ringSettings(where, kind, options);
    const native = openNative();
    const id = createRing(native, settings, where);
    return new Ring(native, id, settings.path, settings.layout, where);
  }

  /**
   * Attaches to a ring shared with `share()`: in the same process by its id, in another process
   * by its path (named rings only). Give the slot layout again for typed cursors.
   */
  static attach<S extends Schema = Schema>(descriptor: RingDescriptor, options: RingAttachOptions<S> = {}): Ring<S> {
    const where = "Ring.attach";
    const checked = checkRingDescriptor(where, descriptor);
    const given = readOptions(where, options, ["slot"]);
    const native = openNative();
    if (checked.pid === process.pid && attachRing(native, checked.id)) {
      const path = checked.path !== null && ringPathMatches(native, checked.id, checked.path)
        ? checked.path
        : undefined;
      return new Ring<S>(native, checked.id, path, given.slot, where);
    }
    if (checked.path !== null) return Ring.open<S>({ path: checked.path, slot: given.slot as StructLayout<S> });
    throw new HotpathError(
      "CLOSED",
      checked.pid === process.pid
        ? `${where}: the ring is no longer open in this process (every Ring over it was closed).`
        : `${where}: the ring lives in anonymous memory of process ${checked.pid}; only its Workers can ` +
          "attach. Create it with a name to share it between processes.",
    );
  }

  /** Opens a named ring that this or another process created (NOT_FOUND if none). */
  static open<S extends Schema = Schema>(options: { name?: string; path?: string } & RingAttachOptions<S>): Ring<S> {
    const where = "Ring.open";
    const given = readOptions(where, options, ["name", "path", "slot"]);
    const path = regionPath(where, given.name, given.path);
    if (path === undefined) throw new HotpathError("INVALID_ARGUMENT", `${where}: give the ring's name or path.`);
    const native = openNative();
    return new Ring<S>(native, openRing(native, path, where), path, given.slot, where);
  }

  /** Removes a named ring's name; processes that have it open keep using it. */
  static unlink(options: { name?: string; path?: string }): void {
    const where = "Ring.unlink";
    const given = readOptions(where, options, ["name", "path"]);
    const path = regionPath(where, given.name, given.path);
    if (path === undefined) throw new HotpathError("INVALID_ARGUMENT", `${where}: give the ring's name or path.`);
    unlinkSharedRegion(openNative(), path, where);
  }

  /**
   * Takes the producer role (SPSC and broadcast: one at a time, LIMIT_REACHED otherwise; a role
   * whose thread or process died is taken back).
   */
  producer(options: RingSideOptions = {}): RingProducer<S> {
    const settings = sideSettings("Ring.producer", options, this.#policy);
    const token = this.#claim(ROLE_PRODUCER, false, "Ring.producer");
    const core = this.#core;
    const side = this.kind === "spsc"
      ? new SpscProducer(core, token, settings.wait)
      : this.kind === "mpmc"
      ? new MpmcProducer(core, token, settings.wait)
      : new BroadcastProducer(core, token, settings.wait);
    this.#sides.add(side);
    return side;
  }

  /** Takes a consumer role (SPSC: one at a time). Broadcast: `onSlow` "block" gates the producer. */
  consumer(options: RingSideOptions = {}): RingConsumer<S> {
    const settings = sideSettings("Ring.consumer", options, this.#policy);
    if (this.kind !== "broadcast" && settings.onSlowGiven) {
      throw new HotpathError("INVALID_ARGUMENT", "Ring.consumer: onSlow is for broadcast rings only.");
    }
    const drops = settings.onSlow === "drop";
    const token = this.#claim(ROLE_CONSUMER, this.kind === "broadcast" && !drops, "Ring.consumer");
    const core = this.#core;
    const side = this.kind === "spsc"
      ? new SpscConsumer(core, token, settings.wait)
      : this.kind === "mpmc"
      ? new MpmcConsumer(core, token, settings.wait)
      : new BroadcastConsumer(core, token, settings.wait, drops);
    this.#sides.add(side);
    return side;
  }

  #claim(kind: number, gating: boolean, where: string): number {
    this.#checkOpen(where);
    const core = this.#core;
    const token = core.native.symbols.hp_ring_role_claim(core.id, kind, gating ? 1 : 0, core.attachment);
    if (token >= 0) return token;
    throw statusError(token, where, "LIMIT_REACHED");
  }

  /** A descriptor another Worker (`Ring.attach`) or, for named rings, another process can use. */
  share(): RingDescriptor {
    this.#checkOpen("Ring.share");
    return { kind: "hotpath.Ring", version: 1, pid: process.pid, id: this.#core.id, path: this.#path ?? null };
  }

  /** Counters and roles, read from the region: the same from every attached Worker and process. */
  stats(): RingStats {
    this.#checkOpen("Ring.stats");
    const { native, id, geometry } = this.#core;
    const mine = new Set([...this.#sides].map(sideIndex));
    const c = readRingCounters(native, id, "Ring.stats");
    const roles = [];
    for (let index = 0; index < geometry.rolesMax; index++) {
      const role = readRole(native, id, index);
      if (role === undefined) continue;
      const consumer = role.kind === ROLE_CONSUMER;
      roles.push({
        role: consumer ? "consumer" as const : "producer" as const,
        pid: role.pid,
        tid: role.tid,
        gating: role.gating === 1,
        lag: consumer && this.kind === "broadcast" ? Math.max(0, c.pushed - role.position) : 0,
        fullEvents: role.fullEvents,
        emptyEvents: role.emptyEvents,
        parks: role.parks,
        wakes: role.wakes,
        lost: role.lost,
        lateCommits: role.lateCommits,
        owner: VERDICTS[role.verdict] ?? "unknown",
        mine: mine.has(index),
      });
    }
    return {
      kind: this.kind,
      capacity: this.capacity,
      slotSize: this.slotSize,
      pushed: c.pushed,
      popped: c.popped,
      depth: c.depth,
      fullEvents: c.fullEvents,
      emptyEvents: c.emptyEvents,
      parks: c.parks,
      wakes: c.wakes,
      skipped: c.skipped,
      lost: c.lost,
      lateCommits: c.lateCommits,
      reapedRoles: c.reapedRoles,
      reclaimedPeeks: c.reclaimedPeeks,
      producers: c.producers,
      consumers: c.consumers,
      roles,
      bytesReserved: geometry.regionBytes,
    };
  }

  /** Removes this named ring's name; processes that have it open keep using it. */
  unlink(): void {
    this.#checkOpen("Ring.unlink");
    if (this.#path === undefined) {
      throw new HotpathError("INVALID_ARGUMENT", "Ring.unlink: this ring has no name (anonymous memory).");
    }
    unlinkSharedRegion(this.#core.native, this.#path, "Ring.unlink");
  }

  /**
   * Gives back this object's roles and detaches. Other Workers and processes keep the ring; the
   * memory goes with the last one. Views kept after it never crash (they read zeros once the
   * last attachment in this process is gone).
   */
  close(): void {
    const core = this.#core;
    if (core.closed) return;
    for (const side of this.#sides) side.close();
    this.#sides.clear();
    core.closed = true;
    core.native.symbols.hp_region_close(core.id);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(where: string): void {
    if (this.#core.closed) throw new HotpathError("CLOSED", `${where}: the ring is closed.`);
  }
}

/** The role index of a side still open, or -1. */
function sideIndex(side: RingSide): number {
  const open = side as unknown as { roleIndex: number; closedSide: boolean };
  return open.closedSide ? -1 : open.roleIndex;
}

function checkSlotLayout(
  where: string,
  layout: unknown,
  slotBytes: number,
  slotAlign: number,
  id: number,
  native: Native,
): StructLayout<never> | undefined {
  if (layout === undefined) return undefined;
  const fits = StructLayout.isLayout(layout) && layout.size <= slotBytes && layout.align <= slotAlign;
  if (fits) return layout as StructLayout<never>;
  native.symbols.hp_region_close(id);
  if (!StructLayout.isLayout(layout)) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: slot must come from struct(...); got ${describe(layout)}.`);
  }
  throw new HotpathError(
    "INCOMPATIBLE",
    `${where}: the layout (${layout.size} bytes, align ${layout.align}) does not fit the ring's slots ` +
      `(${slotBytes} bytes, align ${slotAlign}).`,
  );
}
