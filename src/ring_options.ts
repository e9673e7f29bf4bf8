/**
 * The options of `Ring.spsc/mpmc/broadcast`, `Ring.attach` and `Ring.open`, checked once each,
 * and the public types that describe a ring: its descriptor, stats and wait strategies.
 *
 * @module
 */
import { LIMITS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { type Schema, type StructCursor, StructLayout } from "./struct.ts";
import { describe, integerIn, readOptions } from "./validate.ts";
import { regionPath } from "./shared_pool_options.ts";
import { MEMORY_OPTION_KEYS, type MemoryOptions, type ResolvedPlacement, resolvePlacement } from "./placement.ts";

/** Which queue a ring is: one producer and one consumer, many of each, or one to many. */
export type RingKind = "spsc" | "mpmc" | "broadcast";

/** The numbers the library stores for each kind (ring/ring_layout.zig `Kind`). */
export const KIND_CODES: Record<RingKind, number> = { spsc: 1, mpmc: 2, broadcast: 3 };
export const KINDS: readonly RingKind[] = ["spsc", "mpmc", "broadcast"];

/**
 * How a side waits when the ring is full (producer) or empty (consumer):
 * - `"spin"`: re-reads the index in a loop (lowest latency, one core busy);
 * - `"yield"`: re-reads and gives the core away (`sched_yield`) between reads;
 * - `"park"`: sleeps in the kernel (futex) until the other side publishes (no CPU while idle);
 * - `"backoff"` (default): spins a few microseconds, then parks (no yield phase: a yield to a
 *   spinning peer on the same core stalls until the next scheduler tick).
 */
export type WaitStrategy = "spin" | "yield" | "park" | "backoff";
export const WAIT_STRATEGIES: readonly WaitStrategy[] = ["spin", "yield", "park", "backoff"];

/** What a broadcast consumer that falls a whole ring behind does. */
export type SlowConsumerPolicy = "block" | "drop";

/**
 * Options of `Ring.spsc`, `Ring.mpmc` and `Ring.broadcast`; `placement`, `hugePages` and
 * `lock` place its memory (see MemoryOptions). A named ring's file cannot have explicit huge pages.
 */
export interface RingOptions extends MemoryOptions {
  /** A `struct(...)` layout (typed cursors on slots) or a payload size in bytes (1 .. 65536). */
  slot: StructLayout<Schema> | number;
  /** Slots: a power of two from 2 to 2^24. */
  capacity: number;
  /** A named ring in `/dev/shm/<name>` that other processes open with `Ring.open({ name })`. */
  name?: string;
  /** A named ring at this absolute path instead. */
  path?: string;
  /** MPMC and broadcast: producers plus consumers attached at once (2 .. 64, default 16). */
  maxRoles?: number;
  /** Broadcast: what a consumer that is a whole ring behind does, unless it says otherwise (default "block"). */
  onSlowConsumer?: SlowConsumerPolicy;
  /**
   * MPMC: how long a claimed slot may stay uncommitted before consumers skip it (a producer
   * died between claim and commit), and how long a peeked slot may stay unreleased before a
   * producer takes it back (a consumer died mid-read). Default 5000 ms. Must exceed any pause a
   * live side can have between claim and commit or peek and release: a producer resumed after
   * its slot was skipped learns it from `commit()` (false), a consumer from `release()` (false),
   * but what they wrote or read meanwhile may belong to the next lap.
   */
  unblockTimeoutMs?: number;
}

/** Options of `ring.producer()` and `ring.consumer()`. */
export interface RingSideOptions {
  /** How blocking calls (`claim`, `poll`) wait. Default "backoff". */
  wait?: WaitStrategy;
  /** Broadcast consumers: "block" holds the producer back, "drop" is cut loose (the ring's default). */
  onSlow?: SlowConsumerPolicy;
}

/** A structured-cloneable description of a ring, for `Ring.attach` in a Worker or another process. */
export interface RingDescriptor {
  /** Always "hotpath.Ring". */
  kind: "hotpath.Ring";
  /** Format of the descriptor: 1. */
  version: 1;
  /** The process that shared it. */
  pid: number;
  /** The ring's id in that process. */
  id: number;
  /** The named ring's file, or null for anonymous memory (this process's Workers only). */
  path: string | null;
}

/** One attached producer or consumer, as `stats()` reports it. */
export interface RingRoleStats {
  /** Which side it is. */
  role: "producer" | "consumer";
  /** Process of its owner. */
  pid: number;
  /** Thread of its owner (each Worker is one). */
  tid: number;
  /** Broadcast consumers: whether the producer waits for it. */
  gating: boolean;
  /** Broadcast consumers: messages published that it has not read yet. */
  lag: number;
  /** Tries that found the ring full. */
  fullEvents: number;
  /** Tries that found the ring empty. */
  emptyEvents: number;
  /** Times it slept in the kernel. */
  parks: number;
  /** Wake-up system calls it made. */
  wakes: number;
  /** Broadcast "drop" consumers: messages lost by being lapped. */
  lost: number;
  /** MPMC: commits or releases that came after the unblock timeout gave their slot away. */
  lateCommits: number;
  /** Whether its thread still runs ("unknown" when the system cannot tell). */
  owner: "alive" | "dead" | "unknown";
  /** True for this object's own roles. */
  mine: boolean;
}

/** Counters of a ring, the same from every attached Worker and process. */
export interface RingStats {
  /** "spsc", "mpmc" or "broadcast". */
  kind: RingKind;
  /** Slots. */
  capacity: number;
  /** Payload bytes per slot. */
  slotSize: number;
  /** Messages committed since creation (MPMC: by the producers; a skipped claim is not one). */
  pushed: number;
  /**
   * SPSC and MPMC: messages released (MPMC: including reclaimed peeks); broadcast: pushed minus
   * the slowest gating consumer's lag.
   */
  popped: number;
  /** Messages committed and not yet released (broadcast: by the slowest gating consumer). */
  depth: number;
  /** Tries that found the ring full (each blocking wait counts once), over the roles attached now. */
  fullEvents: number;
  /** Tries that found it empty (each blocking wait counts once). */
  emptyEvents: number;
  /** Times a side went to sleep in the kernel. */
  parks: number;
  /** Wake-up system calls made because a side was parked. */
  wakes: number;
  /** MPMC: slots skipped because their producer did not commit within the unblock timeout. */
  skipped: number;
  /** Broadcast: messages "drop" consumers lost by being lapped (kept after they close). */
  lost: number;
  /** MPMC: commits or releases that came after the unblock timeout gave their slot away. */
  lateCommits: number;
  /** Roles taken back from threads or processes that died. */
  reapedRoles: number;
  /** MPMC: peeks never released (a consumer died mid-read), given back after the unblock timeout. */
  reclaimedPeeks: number;
  /** Producers attached now. */
  producers: number;
  /** Consumers attached now. */
  consumers: number;
  /** Every role attached now. */
  roles: RingRoleStats[];
  /** Bytes of the ring's whole region (header, roles and slots). */
  bytesReserved: number;
}

/** The checked creation options. */
export interface RingSettings {
  kind: RingKind;
  layout: StructLayout<never> | undefined;
  slotBytes: number;
  slotAlign: number;
  capacity: number;
  maxRoles: number;
  policy: SlowConsumerPolicy;
  unblockTimeoutMs: number;
  path: string | undefined;
  placement: ResolvedPlacement;
}

function slotOf(
  where: string,
  slot: unknown,
): { layout: StructLayout<never> | undefined; bytes: number; align: number } {
  if (StructLayout.isLayout(slot)) {
    const layout = slot as StructLayout<never>;
    if (layout.size > LIMITS.ringSlotBytesMax) {
      throw new HotpathError("INVALID_ARGUMENT", `${where}: the slot layout (${layout.size} bytes) is too large.`);
    }
    return { layout, bytes: layout.size, align: layout.align };
  }
  if (typeof slot !== "number") {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: slot must be a struct(...) layout or a byte size; got ${describe(slot)}.`,
    );
  }
  return { layout: undefined, bytes: integerIn(where, "slot", slot, 1, LIMITS.ringSlotBytesMax), align: 8 };
}

/** A policy option: "block", "drop" or undefined (the fallback). */
export function policyOf(
  where: string,
  name: string,
  value: unknown,
  fallback: SlowConsumerPolicy,
): SlowConsumerPolicy {
  if (value === undefined) return fallback;
  if (value !== "block" && value !== "drop") {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: ${name} must be "block" or "drop"; got ${describe(value)}.`);
  }
  return value;
}

/** Checks the options of a new ring of `kind`. */
export function ringSettings(where: string, kind: RingKind, options: unknown): RingSettings {
  const keys = [
    "slot",
    "capacity",
    "name",
    "path",
    "maxRoles",
    "onSlowConsumer",
    "unblockTimeoutMs",
    ...MEMORY_OPTION_KEYS,
  ] as const;
  const given = readOptions(where, options, keys);
  const slot = slotOf(where, given.slot);
  const capacity = integerIn(where, "capacity", given.capacity, 2, LIMITS.ringCapacityMax);
  if ((capacity & (capacity - 1)) !== 0) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: capacity must be a power of two; got ${capacity}.`);
  }
  if (kind === "spsc" && given.maxRoles !== undefined && given.maxRoles !== 2) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: an SPSC ring has exactly 2 roles; omit maxRoles.`);
  }
  const maxRoles = kind === "spsc"
    ? 2
    : given.maxRoles === undefined
    ? 16
    : integerIn(where, "maxRoles", given.maxRoles, 2, LIMITS.ringRolesMax);
  if (kind !== "broadcast" && given.onSlowConsumer !== undefined) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: onSlowConsumer is for broadcast rings only.`);
  }
  if (kind !== "mpmc" && given.unblockTimeoutMs !== undefined) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: unblockTimeoutMs is for MPMC rings only.`);
  }
  const unblockTimeoutMs = given.unblockTimeoutMs === undefined
    ? 5000
    : integerIn(where, "unblockTimeoutMs", given.unblockTimeoutMs, 1, LIMITS.ringUnblockTimeoutMsMax);
  return {
    kind,
    layout: slot.layout,
    slotBytes: slot.bytes,
    slotAlign: slot.align,
    capacity,
    maxRoles,
    policy: policyOf(where, "onSlowConsumer", given.onSlowConsumer, "block"),
    unblockTimeoutMs,
    path: regionPath(where, given.name, given.path),
    placement: resolvePlacement(where, given),
  };
}

/** Checks the options of `producer()` / `consumer()`. */
export function sideSettings(
  where: string,
  options: unknown,
  fallback: SlowConsumerPolicy,
): { wait: WaitStrategy; onSlow: SlowConsumerPolicy; onSlowGiven: boolean } {
  const given = readOptions(where, options, ["wait", "onSlow"]);
  const wait = given.wait === undefined ? "backoff" : given.wait;
  if (!WAIT_STRATEGIES.includes(wait as WaitStrategy)) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: wait must be one of ${WAIT_STRATEGIES.map((w) => `"${w}"`).join(", ")}; got ${describe(wait)}.`,
    );
  }
  return {
    wait: wait as WaitStrategy,
    onSlow: policyOf(where, "onSlow", given.onSlow, fallback),
    onSlowGiven: given.onSlow !== undefined,
  };
}

/** Checks a descriptor from `ring.share()` (it may come from anywhere). */
export function checkRingDescriptor(where: string, descriptor: unknown): RingDescriptor {
  const given = readOptions(where, descriptor, ["kind", "version", "pid", "id", "path"]);
  if (given.kind !== "hotpath.Ring" || given.version !== 1) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: the descriptor must come from ring.share() (kind "hotpath.Ring", version 1); ` +
        `got kind ${describe(given.kind)}, version ${describe(given.version)}.`,
    );
  }
  return {
    kind: "hotpath.Ring",
    version: 1,
    pid: integerIn(where, "descriptor.pid", given.pid, 1, 2 ** 31 - 1),
    id: integerIn(where, "descriptor.id", given.id, 1, 2 ** 31 - 1),
    path: given.path === null ? null : regionPath(where, undefined, given.path) ?? null,
  };
}

/** What both sides of a ring offer: slot addressing, typed cursors, close. */
export interface RingSlots<S extends Schema> {
  /** Slots in the ring (a power of two). */
  readonly capacity: number;
  /** `capacity - 1`: the slot after slot s is `(s + 1) & mask`. */
  readonly mask: number;
  /** Payload bytes of one slot. */
  readonly slotSize: number;
  /** Bytes from one slot's payload to the next in `bytes`: batch slot i is at `offsetOf(first) + i * slotStride`. */
  readonly slotStride: number;
  /** The bytes this side reads or writes slots through (a "drop" consumer: its own copy). */
  readonly bytes: Uint8Array;
  /** Byte offset in `bytes` of slot `slot`'s payload (OUT_OF_RANGE for anything but 0 .. mask). */
  offsetOf(slot: number): number;
  /** Struct rings: this side's one cursor, moved to slot `slot`. */
  at(slot: number): StructCursor<S>;
  /** Gives the role back; later calls throw CLOSED. The ring stays open. */
  close(): void;
  /** Same as `close()`. */
  [Symbol.dispose](): void;
}

/**
 * The producer side of a ring: claim slots, write them, commit. Nothing on this path allocates
 * or makes a system call, except a wake-up when a consumer is parked.
 */
export interface RingProducer<S extends Schema = Schema> extends RingSlots<S> {
  /** First slot of the last `tryClaimBatch`. */
  readonly claimed: number;
  /** Claims the next slot: its index, or -1 when the ring is full. */
  tryClaim(): number;
  /**
   * Claims up to `count` slots; returns how many (0: full). Slot i is `claimed + i`: a batch
   * never wraps (it stops at the last slot; the next batch starts at slot 0).
   */
  tryClaimBatch(count: number): number;
  /**
   * Publishes every slot claimed since the last commit. MPMC: false if consumers skipped a slot
   * because this commit came after the unblock timeout (the message is lost, counted).
   */
  commit(): boolean;
  /** Waits by the wait strategy for a free slot and claims it; -1 after `timeoutMs`. */
  claim(timeoutMs?: number): number;
}

/** The consumer side of a ring: peek slots, read them, release. */
export interface RingConsumer<S extends Schema = Schema> extends RingSlots<S> {
  /** First slot of the last `peekBatch`. */
  readonly peeked: number;
  /** The next message's slot, or -1 when there is none. */
  tryPeek(): number;
  /**
   * Peeks up to `count` messages; returns how many (0: none). Slot i is `peeked + i`: a batch
   * never wraps (it stops at the last slot; the next batch starts at slot 0).
   */
  peekBatch(count: number): number;
  /**
   * Gives back every slot peeked since the last release. MPMC: false if a producer took a slot
   * back first because the peek outlasted the unblock timeout (what was read may have changed).
   */
  release(): boolean;
  /** Calls `fn(slot)` for up to `max` messages in order, releases them, returns how many. */
  drain(max: number, fn: (slot: number) => void): number;
  /** Blocks this thread (by the wait strategy) until a message is there: how many, 0 after `timeoutMs`. */
  poll(timeoutMs?: number): number;
  /**
   * `poll` without blocking the thread. Deno parks on one of its FFI worker threads (no CPU
   * while idle); Bun has no nonblocking FFI calls, so it polls on timers, 1 ms apart once idle
   * (a Worker that calls `poll()` parks for real on both).
   */
  pollAsync(timeoutMs?: number): Promise<number>;
}
