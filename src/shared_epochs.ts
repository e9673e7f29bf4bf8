/**
 * One attachment's side of SharedPool's epoch reclamation (zig/src/memory/shared_epochs.zig):
 * the epoch word its readers publish, and the ring of blocks it retired. SharedPool checks
 * handles and owner bytes; this owns the words in the region and when to collect.
 *
 * @module
 */
import { SHARED_CACHE_HEADER, SHARED_POOL_HEADER } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";

/** What `enter()` returns: `using guard = pool.enter();` leaves the epoch at the end of the scope. */
export interface EpochGuard {
  /** Leaves the epoch (as `pool.exit()`). */
  [Symbol.dispose](): void;
}

/** The owner byte of a retired block: still readable by readers inside an epoch, not free. */
export const OWNER_RETIRED = 255;

const GLOBAL_EPOCH = SHARED_POOL_HEADER.epoch / 4;
const LOCAL_EPOCH = SHARED_CACHE_HEADER.epoch / 4;
const RETIRED = SHARED_CACHE_HEADER.retired / 4;

/** The views an epoch member works on, all over one attachment's region buffer. */
export interface EpochViews {
  /** The attachment's cache slot (its epoch word and ring count live in the slot's header). */
  cache: Uint32Array;
  /** The region's header (the global epoch). */
  header: Uint32Array;
  /** The retire ring: (handle, epoch) pairs. */
  ring: Uint32Array;
}

/** Enter/exit nesting and the retire ring of one attachment. */
export class EpochMember {
  #views: EpochViews;
  /** Frees what is safe (one native call); returns the entries left. */
  #collectNative: () => number;
  #depth = 0;
  /** The ring count at which an append collects first: collecting frees in batches. */
  #collectAt: number;
  /** The one guard `enter()` returns. */
  readonly guard: EpochGuard;

  constructor(views: EpochViews, collectNative: () => number, exit: () => void) {
    this.#views = views;
    this.#collectNative = collectNative;
    this.#collectAt = this.#capacity() >>> 1;
    this.guard = { [Symbol.dispose]: exit };
  }

  /** True between an outermost `enter()` and its `exit()`. */
  get inside(): boolean {
    return this.#depth > 0;
  }

  /** Enters (nesting); the outermost enter publishes the global epoch as this reader's. */
  enter(): EpochGuard {
    // Sequentially consistent: the epoch is published before any read of the shared structure.
    if (this.#depth === 0) {
      Atomics.store(this.#views.cache, LOCAL_EPOCH, Atomics.load(this.#views.header, GLOBAL_EPOCH));
    }
    this.#depth++;
    return this.guard;
  }

  /** Leaves the epoch entered last (INVALID_ARGUMENT without a matching `enter()`). */
  exit(): void {
    if (this.#depth === 0) throw new HotpathError("INVALID_ARGUMENT", "SharedPool.exit: no enter() to match.");
    this.#depth--;
    if (this.#depth === 0) Atomics.store(this.#views.cache, LOCAL_EPOCH, 0);
  }

  /** Forgets the nesting at close (the library clears the epoch word with the cache). */
  leave(): void {
    this.#depth = 0;
  }

  /**
   * Appends `handle` to the ring under the current global epoch, collecting first when the ring
   * has reached its threshold; false when it stays full (a reader holds every entry back).
   */
  append(handle: number): boolean {
    const { cache, ring, header } = this.#views;
    let count = cache[RETIRED];
    if (!(count < this.#collectAt)) {
      count = this.collect();
      if (count >= this.#capacity()) return false;
    }
    ring[2 * count] = handle;
    ring[2 * count + 1] = Atomics.load(header, GLOBAL_EPOCH);
    cache[RETIRED] = count + 1;
    return true;
  }

  /** Takes back the entry the last `append` made (its block turned out not to be retirable). */
  unappend(): void {
    this.#views.cache[RETIRED] -= 1;
  }

  /** Frees what no reader can still see; returns the entries left, and sets when to collect next. */
  collect(): number {
    const remaining = this.#collectNative();
    const capacity = this.#capacity();
    this.#collectAt = Math.min(capacity, remaining + Math.max(1, capacity >>> 2));
    return remaining;
  }

  #capacity(): number {
    return this.#views.ring.length >>> 1;
  }
}
