/**
 * A Worker of tests/workers/shared_pool_race_test.ts: attacks SharedPool's cross-Worker free
 * protocol (owner bytes, per-cache bitmaps, home stacks). Commands:
 * - `double`: rounds of deliberate double frees. Each round has one owner (by turn): it
 *   allocates a few blocks, frees some, picks one as the target and publishes it; after a
 *   barrier the others free the target again and again while the owner frees the rest (its
 *   flushes), having freed the target before ("late", "close": then it closes its cache too),
 *   or freeing it at the same moment ("together"), or not at all ("foreign": two others free
 *   an allocated block at once). When the others wait at the second barrier, the owner tallies
 *   the frees of the target that returned (exactly one must, but in release mode's documented
 *   window), runs check() (nothing moves then: a block in two places shows at once) and asks
 *   whether the target still reads allocated (a lost block).
 *   Nobody allocates during the race, so no free of the target lands on a block given out again.
 * - `cross`: no user double frees. Each Worker allocates, frees, sends blocks to the next
 *   Worker through a ring in a SharedArrayBuffer (which frees them: a free across Workers) and
 *   every so often sends a burst and closes its pool at once, then attaches again.
 *
 * Every handle a Worker holds is claimed in a shared holder table with a CAS: a successful
 * alloc must find its slot empty (else a block was given out twice).
 *
 * @module
 */
import { HotpathError, SharedPool, type SharedPoolDescriptor } from "../../mod.ts";
import { random32 } from "../random.ts";

/** The Worker's global scope, typed without the DOM library. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

// Control words (Int32Array of at least 16): `cross` uses word DONE + i for "Worker i sends no more".
const ARRIVED = 0;
const GENERATION = 1;
const TARGET = 2;
const VARIANT = 3;
const STOP = 4;
const RACING = 5;
/** Frees of the round's target that returned, by round parity (words 6 and 7). */
const SUCCESSES = 6;
/** Set by a Worker that stopped on an error: the others leave their waits. */
const BROKEN = 8;
const SINK = 9;
const DONE = 10;
/** Iterations a barrier spins before it sleeps. */
const BARRIER_SPIN = 20_000;

/** How the owner takes part in a round of `double`. */
export const VARIANTS = ["late", "together", "foreign", "close"] as const;
const LATE = 0;
const TOGETHER = 1;
const FOREIGN = 2;
const CLOSE = 3;

/** Most frees of the target one Worker tries in one round (it stops when the owner is done). */
const MAX_TRIES = 256;

interface Common {
  descriptor: SharedPoolDescriptor;
  /** Int32Array: 0 free, worker id (index + 1) held, -1 in a ring. */
  holders: SharedArrayBuffer;
  control: SharedArrayBuffer;
  index: number;
  workers: number;
  durationMs: number;
  seed: number;
}

export interface DoubleMessage extends Common {
  command: "double";
  /** Indexes into VARIANTS the owners draw from. */
  variants: number[];
  /** Most iterations of the random pauses. */
  spin: number;
  /** The pool's cache capacity. */
  cache: number;
  /** Most "close" rounds one Worker owns (each keeps a cache slot: closed, never collected). */
  maxCloses: number;
}

export interface CrossMessage extends Common {
  command: "cross";
  /** Int32Array of rings, one into each Worker: head, tail, then `ringSize` slots. */
  rings: SharedArrayBuffer;
  ringSize: number;
  /** Operations between two closes, at most. */
  closeEvery: number;
}

/** One variant's outcomes, as seen by one Worker. */
export interface VariantCounts {
  /** Rounds this Worker owned. */
  rounds: number;
  /** Frees of a target this Worker tried (the owner's own free in "together" included). */
  attempts: number;
  /** ...that threw DOUBLE_FREE. */
  doubleFree: number;
  /** ...that returned. */
  freed: number;
  /** Owned rounds where exactly one free of the target returned. */
  exact: number;
  /** Owned rounds where more than one returned, and yet the pool stayed whole. */
  windowed: number;
  /** Owned rounds after which check() threw (a block in two places, say). */
  corrupted: number;
  /** Owned rounds where no free of the target returned. */
  none: number;
  /** Owned rounds after which the target still read allocated (nobody holds it). */
  leaked: number;
}

export interface Report {
  variants: VariantCounts[];
  /** Holder-table CAS failures: a block given to two Workers, or changed under its holder. */
  violations: number;
  /** Frees of blocks the Worker held that threw (a legitimate free refused). */
  legitRefused: number;
  /** Errors other than DOUBLE_FREE from a free of a target, and any other error. */
  unexpected: number;
  exhausted: number;
  allocs: number;
  frees: number;
  sent: number;
  received: number;
  closes: number;
  gcs: number;
  notes: string[];
}

function newReport(): Report {
  const variants = VARIANTS.map(() => ({
    rounds: 0,
    attempts: 0,
    doubleFree: 0,
    freed: 0,
    exact: 0,
    windowed: 0,
    corrupted: 0,
    none: 0,
    leaked: 0,
  }));
  return {
    variants,
    violations: 0,
    legitRefused: 0,
    unexpected: 0,
    exhausted: 0,
    allocs: 0,
    frees: 0,
    sent: 0,
    received: 0,
    closes: 0,
    gcs: 0,
    notes: [],
  };
}

function codeOf(error: unknown): string {
  if (error instanceof HotpathError) return error.code;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function note(report: Report, text: string): void {
  if (report.notes.length < 12) report.notes.push(text);
}

function collectGarbage(): boolean {
  const global = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (global.Bun !== undefined) global.Bun.gc(true);
  else if (typeof global.gc === "function") global.gc();
  else return false;
  return true;
}

/**
 * Attaches; when every cache slot is taken, collects garbage and lets the event loop turn: a
 * closed cache's slot is freed once its buffer is collected, by a finalizer that runs then.
 */
async function attach(descriptor: SharedPoolDescriptor, report: Report): Promise<SharedPool> {
  for (let attempt = 0;; attempt++) {
    try {
      return SharedPool.attach(descriptor);
    } catch (error) {
      if (codeOf(error) !== "LIMIT_REACHED" || attempt >= 50 || !collectGarbage()) throw error;
      report.gcs++;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

/** The Worker side of one test: a pool, the holder table and the counts. */
class Player {
  pool: SharedPool;
  readonly holders: Int32Array;
  readonly control: Int32Array;
  readonly id: number;
  readonly next: () => number;
  readonly report = newReport();

  constructor(readonly message: Common, pool: SharedPool) {
    this.pool = pool;
    this.holders = new Int32Array(message.holders);
    this.control = new Int32Array(message.control);
    this.id = message.index + 1;
    this.next = random32(message.seed);
  }

  /** Allocates and claims a block; -1 when the pool is exhausted. */
  alloc(): number {
    const handle = this.pool.tryAlloc();
    if (handle < 0) {
      this.report.exhausted++;
      return -1;
    }
    this.report.allocs++;
    this.claim(handle, 0, this.id);
    return handle;
  }

  claim(handle: number, from: number, to: number): void {
    const seen = Atomics.compareExchange(this.holders, handle, from, to);
    if (seen !== from) {
      this.report.violations++;
      note(this.report, `holder of ${handle}: ${seen}, expected ${from} (Worker ${this.id} sets ${to})`);
    }
  }

  /** Frees a block this Worker holds: its holder slot first, then the free, which must not throw. */
  release(handle: number): void {
    this.claim(handle, this.id, 0);
    try {
      this.pool.free(handle);
      this.report.frees++;
    } catch (error) {
      this.report.legitRefused++;
      note(this.report, `free of held ${handle} by Worker ${this.id}: ${codeOf(error)}`);
    }
  }

  /**
   * Replaces the pool by a new attachment (a new cache). With `collect`, first collects the
   * closed one, so that its slot is claimed again soon (what waits on its home stack with it).
   */
  async reopen(collect: boolean): Promise<void> {
    this.pool.close();
    this.report.closes++;
    // Unreachable from here on: its slot comes back when its buffer is collected.
    this.pool = undefined as unknown as SharedPool;
    if (collect && collectGarbage()) {
      this.report.gcs++;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.pool = await attach(this.message.descriptor, this.report);
  }

  pause(limit: number): void {
    const iterations = limit > 0 ? this.next() % limit : 0;
    for (let i = 0; i < iterations; i++) Atomics.load(this.control, SINK);
  }

  /** Waits until `parties` Workers have arrived: spins a while, then sleeps. */
  barrier(parties: number): void {
    const control = this.control;
    const generation = Atomics.load(control, GENERATION);
    if (Atomics.add(control, ARRIVED, 1) === parties - 1) {
      Atomics.store(control, ARRIVED, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return;
    }
    Atomics.notify(control, ARRIVED);
    for (let i = 0; i < BARRIER_SPIN; i++) if (Atomics.load(control, GENERATION) !== generation) return;
    while (Atomics.load(control, GENERATION) === generation) {
      this.checkBroken();
      Atomics.wait(control, GENERATION, generation, 20);
    }
  }

  /** Waits until `others` Workers wait at the barrier (this one arrives last, after). */
  awaitArrivals(others: number): void {
    const control = this.control;
    for (let i = 0; i < BARRIER_SPIN && Atomics.load(control, ARRIVED) < others; i++);
    for (let seen = Atomics.load(control, ARRIVED); seen < others; seen = Atomics.load(control, ARRIVED)) {
      this.checkBroken();
      Atomics.wait(control, ARRIVED, seen, 20);
    }
  }

  checkBroken(): void {
    if (Atomics.load(this.control, BROKEN) !== 0) throw new Error("another Worker stopped on an error");
  }
}

/** A round's owner and the other Workers of `double`. */
class DoublePlayer extends Player {
  /** Blocks held across rounds, freed now and then: the other Workers' own flushes. */
  readonly noise: number[] = [];
  round = 0;
  declare readonly message: DoubleMessage;

  /** One free of the round's target; true when it returned. */
  freeTarget(target: number, variant: number): boolean {
    const counts = this.report.variants[variant];
    counts.attempts++;
    try {
      this.pool.free(target);
    } catch (error) {
      const code = codeOf(error);
      if (code === "DOUBLE_FREE") counts.doubleFree++;
      else {
        this.report.unexpected++;
        note(this.report, `free of target ${target} (${VARIANTS[variant]}): ${code}`);
      }
      return false;
    }
    counts.freed++;
    Atomics.add(this.control, SUCCESSES + (this.round & 1), 1);
    return true;
  }

  /** The owner's allocations before the race; returns the blocks, target first (empty: none). */
  prepare(variant: number): number[] {
    const count = 1 + this.next() % (2 * this.message.cache + 2);
    const blocks: number[] = [];
    for (let i = 0; i < count; i++) {
      const handle = this.alloc();
      if (handle < 0) break;
      blocks.push(handle);
    }
    if (blocks.length === 0) return blocks;
    const pick = this.next() % blocks.length;
    [blocks[0], blocks[pick]] = [blocks[pick], blocks[0]];
    // Some frees before the target's, so that it goes anywhere in the magazine: a refill leaves
    // it at most half full, and a flush moves only the top half.
    for (let early = this.next() % blocks.length; early > 0; early--) this.release(blocks.pop()!);
    // Nobody holds the target from now on: every free of it is a racing or a bogus one.
    this.claim(blocks[0], this.id, 0);
    if (variant === LATE || variant === CLOSE) {
      // Its real free, before the race: every free the others try is a double free.
      if (!this.freeTarget(blocks[0], variant)) note(this.report, `first free of target ${blocks[0]} threw`);
    }
    return blocks;
  }

  /**
   * The owner's part of the race: its own free of the target ("together"), then of the others
   * (flushes); in "close" rounds, of its noise too (allocated from the cache it closes: freed
   * after, they would wait on its home stack), and then the close, which drains the cache.
   */
  async ownerRace(blocks: number[], variant: number): Promise<void> {
    this.pause(this.message.spin);
    if (variant === TOGETHER) this.freeTarget(blocks[0], variant);
    for (let i = 1; i < blocks.length; i++) {
      this.pause(this.message.spin >> 2);
      this.release(blocks[i]);
    }
    if (variant === CLOSE) {
      for (const handle of this.noise.splice(0)) this.release(handle);
      await this.reopen(false);
    }
    Atomics.store(this.control, RACING, 0);
  }

  /** A non-owner's part: frees of the target while the owner is racing, and of its own noise. */
  otherRace(target: number, variant: number): void {
    this.pause(this.message.spin);
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      this.freeTarget(target, variant);
      if (this.noise.length > 0 && this.next() % 4 === 0) {
        const index = this.next() % this.noise.length;
        const handle = this.noise[index];
        this.noise[index] = this.noise[this.noise.length - 1];
        this.noise.pop();
        this.release(handle);
      }
      if (Atomics.load(this.control, RACING) === 0) break;
      this.pause(this.message.spin >> 2);
    }
  }

  /**
   * After the race, while the others wait (nothing moves: check() may run): how many frees of
   * the target returned, is the pool whole, is the target still allocated?
   */
  tally(target: number, variant: number): void {
    const counts = this.report.variants[variant];
    if (variant === FOREIGN) this.freeTarget(target, variant); // bogus: one of the others freed it
    const successes = Atomics.load(this.control, SUCCESSES + (this.round & 1));
    const round = `round ${this.round} (${VARIANTS[variant]})`;
    let whole = true;
    try {
      this.pool.check();
    } catch (error) {
      whole = false;
      counts.corrupted++;
      note(this.report, `${round}: check() ${codeOf(error)} after ${successes} frees of ${target} returned`);
    }
    if (successes === 1) counts.exact++;
    else if (successes === 0) counts.none++;
    else if (whole) counts.windowed++;
    if (successes !== 1 && whole) note(this.report, `${round}: ${successes} frees of ${target} returned`);
    if (this.pool.isAllocated(target)) {
      counts.leaked++;
      note(this.report, `${round}: target ${target} still allocated`);
      try {
        this.pool.free(target); // gives it back, so that the pool stays whole for the next rounds
      } catch (error) {
        note(this.report, `giving back ${target}: ${codeOf(error)}`);
      }
    }
  }

  addNoise(): void {
    const want = this.next() % 6;
    for (let i = 0; i < want && this.noise.length < 16; i++) {
      const handle = this.alloc();
      if (handle < 0) break;
      this.noise.push(handle);
    }
  }

  async play(deadline: number): Promise<void> {
    const { workers, index, variants } = this.message;
    const control = this.control;
    for (;; this.round++) {
      const owner = this.round % workers === index;
      let blocks: number[] = [];
      let variant = 0;
      if (!owner) this.addNoise();
      else if (Date.now() > deadline) Atomics.store(control, STOP, 1);
      else {
        variant = variants[this.next() % variants.length];
        if (variant === CLOSE && this.report.closes >= this.message.maxCloses) variant = LATE;
        Atomics.store(control, SUCCESSES + (this.round & 1), 0);
        blocks = this.prepare(variant);
        this.report.variants[variant].rounds++;
        Atomics.store(control, TARGET, blocks.length > 0 ? blocks[0] : -1);
        Atomics.store(control, VARIANT, variant);
        Atomics.store(control, RACING, 1);
      }
      this.barrier(workers);
      if (Atomics.load(control, STOP) === 1) break;
      const target = Atomics.load(control, TARGET);
      variant = Atomics.load(control, VARIANT);
      if (target < 0) Atomics.store(control, RACING, 0);
      else if (owner) await this.ownerRace(blocks, variant);
      else this.otherRace(target, variant);
      // The owner tallies while the others wait: nobody allocates (the target) before it has.
      if (owner) this.awaitArrivals(workers - 1);
      if (owner && target >= 0) this.tally(target, variant);
      this.barrier(workers);
    }
    for (const handle of this.noise) this.release(handle);
    this.pool.close();
  }
}

/** A Worker of `cross`: allocates, frees, sends blocks on, frees what it receives, closes. */
class CrossPlayer extends Player {
  readonly held: number[] = [];
  declare readonly message: CrossMessage;
  readonly rings: Int32Array;

  constructor(message: CrossMessage, pool: SharedPool) {
    super(message, pool);
    this.rings = new Int32Array(message.rings);
  }

  /** Pushes a held block into the next Worker's ring; false when it is full. */
  send(handle: number): boolean {
    const size = this.message.ringSize;
    const base = ((this.message.index + 1) % this.message.workers) * (size + 2);
    const head = Atomics.load(this.rings, base);
    const tail = Atomics.load(this.rings, base + 1);
    if (tail - head >= size) return false;
    this.claim(handle, this.id, -1);
    Atomics.store(this.rings, base + 2 + (tail % size), handle);
    Atomics.store(this.rings, base + 1, tail + 1);
    this.report.sent++;
    return true;
  }

  /** Frees up to `most` blocks from this Worker's ring (allocated by another Worker); returns how many. */
  receive(most: number): number {
    const size = this.message.ringSize;
    const base = this.message.index * (size + 2);
    let got = 0;
    for (; got < most; got++) {
      const head = Atomics.load(this.rings, base);
      if (head === Atomics.load(this.rings, base + 1)) break;
      const handle = Atomics.load(this.rings, base + 2 + (head % size));
      Atomics.store(this.rings, base, head + 1);
      this.claim(handle, -1, this.id);
      this.release(handle);
      this.report.received++;
    }
    return got;
  }

  take(): number {
    const index = this.next() % this.held.length;
    const handle = this.held[index];
    this.held[index] = this.held[this.held.length - 1];
    this.held.pop();
    return handle;
  }

  /** Sends what the ring takes, then closes the pool at once (the next Worker is freeing them). */
  async burstAndClose(): Promise<void> {
    while (this.held.length > 0) {
      const handle = this.take();
      if (!this.send(handle)) {
        this.held.push(handle);
        break;
      }
    }
    await this.reopen(true);
  }

  async play(deadline: number): Promise<void> {
    const { closeEvery, workers, index } = this.message;
    let untilClose = 1 + this.next() % closeEvery;
    while (Date.now() < deadline) {
      const roll = this.next() % 100;
      if (roll < 40) {
        if (this.held.length < 32) {
          const handle = this.alloc();
          if (handle >= 0) this.held.push(handle);
        }
      } else if (roll < 65) {
        if (this.held.length > 0) this.release(this.take());
      } else if (roll < 85) {
        if (this.held.length > 0) {
          const handle = this.take();
          if (!this.send(handle)) this.held.push(handle);
        }
      } else this.receive(8);
      if (--untilClose === 0) {
        await this.burstAndClose();
        untilClose = 1 + this.next() % closeEvery;
      }
    }
    Atomics.store(this.control, DONE + index, 1);
    const previous = (index + workers - 1) % workers;
    while (Atomics.load(this.control, DONE + previous) === 0) {
      this.checkBroken();
      this.receive(64);
    }
    this.receive(this.message.ringSize);
    for (const handle of this.held) this.release(handle);
    this.pool.close();
  }
}

async function run(message: DoubleMessage | CrossMessage): Promise<Report> {
  const deadline = Date.now() + message.durationMs;
  const report = newReport();
  let player: DoublePlayer | CrossPlayer | undefined;
  try {
    const pool = await attach(message.descriptor, report);
    player = message.command === "double" ? new DoublePlayer(message, pool) : new CrossPlayer(message, pool);
    Object.assign(player.report, report);
    await player.play(deadline);
    return player.report;
  } catch (error) {
    if (player !== undefined) Object.assign(report, player.report);
    const control = new Int32Array(message.control);
    Atomics.store(control, BROKEN, 1);
    Atomics.notify(control, GENERATION);
    Atomics.notify(control, ARRIVED);
    report.unexpected++;
    note(report, `Worker ${message.index + 1} stopped: ${codeOf(error)} ${(error as Error)?.stack ?? ""}`);
    return report;
  }
}

scope.onmessage = async (event: MessageEvent<DoubleMessage | CrossMessage>) => {
  scope.postMessage(await run(event.data));
};
