/**
 * Publishing this process's counters for readers in other processes (`hotpath top`,
 * `readCounters`). `publishCounters()` attaches this thread to the process's counter directory
 * (created by the first thread to attach) and, every `interval` ms, copies the counters of every
 * open Pool, Arena, SizeClassPool, SharedPool, NumaPool and Ring of this thread into it.
 *
 * The hot path does nothing for this: counters that live in JavaScript fields (a Pool's
 * allocation count) reach the directory on the timer only. So a reader sees counters at most
 * `interval` ms old plus one publication pass (microseconds per object) while this thread's
 * event loop runs. A thread busy in a loop that never yields publishes nothing until it does:
 * readers see the age grow and mark the entry stale (older than twice its interval); such a
 * loop can call `publish()` itself at its own cadence.
 *
 * `HOTPATH_PUBLISH=1` (or a number of ms) in the environment starts publishing on the main
 * thread when hotpath is imported.
 *
 * @module
 */
import process from "node:process";
import { openNative } from "../ffi/library.ts";
import { LIMITS, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError, statusError } from "./errors.ts";
import { trackedObjects } from "./metrics.ts";
import { COUNTER_FIELDS, COUNTER_KINDS, counterKind, type CounterRecord, currentCounters } from "./counters.ts";
import { pathBytes, statsPath, statsRoot, utf8Cut } from "./stats_files.ts";
import { integerIn, readOptions } from "./validate.ts";
import { unrefTimer } from "./timers.ts";

/** Options of `publishCounters`. */
export interface PublishOptions {
  /** Milliseconds between publications: the staleness a reader can see. Default 250 (10 .. 3600000). */
  interval?: number;
  /** Where the directory file goes. Default: $HOTPATH_STATS_DIR, else /dev/shm. */
  directory?: string;
}

/** What a publisher has done. */
export interface PublisherStats {
  /** Publication passes made. */
  publications: number;
  /** Objects published by the last pass. */
  objects: number;
  /** Directory entries this thread holds. */
  entries: number;
  /** Objects the last pass could not publish: the directory was full. */
  unpublished: number;
  /** stats() calls that threw (the object is skipped). */
  errors: number;
}

/** The entries held for one object. */
interface Held {
  readonly object: WeakRef<object>;
  readonly indices: number[];
  seen: number;
}

const DEFAULT_INTERVAL_MS = 250;
let active: CounterPublisher | undefined;

/**
 * Publishes this thread's counters to the process's counter directory until `close()`.
 * One publisher per thread: a second call while one is open throws INVALID_ARGUMENT.
 *
 * @example
 * ```ts
 * import { Pool, publishCounters } from "@hotpath/core";
 * using publisher = publishCounters({ interval: 500 });
 * using orders = new Pool({ blockSize: 64, capacity: 1024, name: "orders" });
 * // `hotpath top <pid>` in another terminal now shows "orders".
 * ```
 */
export function publishCounters(options: PublishOptions = {}): CounterPublisher {
  return new CounterPublisher(options);
}

/** Copies this thread's counters into the process's counter directory (see publishCounters). */
export class CounterPublisher {
  /** The directory file readers open. */
  readonly path: string;
  /** Milliseconds between publications. */
  readonly interval: number;
  #held = new WeakMap<object, Held>();
  #all = new Set<Held>();
  #vector = new Float64Array(LIMITS.statsCountersMax);
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #pass = 0;
  #last = { objects: 0, unpublished: 0 };
  #errors = 0;
  #onExit = () => this.close();

  /** Same as `publishCounters(options)`. */
  constructor(options: PublishOptions = {}) {
    const where = "publishCounters";
    if (active !== undefined) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `${where}: this thread already publishes to ${active.path}; close that publisher first.`,
      );
    }
    const given = readOptions(where, options, ["interval", "directory"]);
    this.interval = given.interval === undefined
      ? DEFAULT_INTERVAL_MS
      : integerIn(where, "interval", given.interval, 10, LIMITS.statsIntervalMsMax);
    this.path = statsPath(statsRoot(where, given.directory), process.pid);
    const path = pathBytes(this.path);
    const command = utf8Cut(commandLine(), LIMITS.statsCommandBytesMax);
    const status = openNative().symbols.hp_stats_attach(path, path.length, command, command.length);
    if (status < 0) throw attachError(status, this.path);
    active = this;
    try {
      this.publish();
    } catch (error) {
      this.close(); // gives back what it claimed and detaches
      throw error;
    }
    this.#timer = setInterval(() => this.#publishSafely(), this.interval);
    unrefTimer(this.#timer);
    process.once?.("exit", this.#onExit);
  }

  /** Publishes every object's counters now; returns how many objects were published. */
  publish(): number {
    if (this.#closed) throw new HotpathError("CLOSED", "CounterPublisher is closed.");
    const pass = ++this.#pass;
    let objects = 0;
    let unpublished = 0;
    const live = trackedObjects().filter((object) => counterKind(object) !== undefined);
    for (const object of live) this.#holdFor(object, pass);
    this.#releaseUnseen(pass); // first, so that their entries can go to new objects in this pass
    for (const object of live) {
      const kind = counterKind(object)!;
      let records: CounterRecord[];
      try {
        // Inside the try: a stats() that returns garbage or has a throwing getter is an error too.
        records = currentCounters(object, kind);
      } catch {
        this.#errors++;
        continue;
      }
      // A stats() that closed this publisher: its entries are given back, claim none now.
      if (this.#closed) throw new HotpathError("CLOSED", "CounterPublisher was closed during publish().");
      const held = this.#held.get(object)!;
      if (!this.#claim(held, kind, records)) {
        unpublished++;
        continue;
      }
      records.forEach((record, index) => {
        COUNTER_FIELDS.forEach((field, word) => (this.#vector[word] = record[field]));
        this.#write(held.indices[index]);
      });
      objects++;
    }
    this.#last = { objects, unpublished };
    return objects;
  }

  /** What this publisher has done. */
  stats(): PublisherStats {
    let entries = 0;
    for (const held of this.#all) entries += held.indices.length;
    return { publications: this.#pass, entries, errors: this.#errors, ...this.#last };
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops publishing and gives the entries back; the last thread to close removes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    process.off?.("exit", this.#onExit);
    const symbols = openNative().symbols;
    for (const held of this.#all) for (const index of held.indices) symbols.hp_stats_release(index);
    this.#all.clear();
    symbols.hp_stats_detach();
    if (active === this) active = undefined;
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #holdFor(object: object, pass: number): Held {
    let held = this.#held.get(object);
    if (held === undefined) {
      held = { object: new WeakRef(object), indices: [], seen: pass };
      this.#held.set(object, held);
      this.#all.add(held);
    }
    held.seen = pass;
    return held;
  }

  /** Claims entries until the object has one per record; false when the directory is full. */
  #claim(held: Held, kind: string, records: { name: string; node: number }[]): boolean {
    const symbols = openNative().symbols;
    while (held.indices.length < records.length) {
      const record = records[held.indices.length];
      const name = utf8Cut(record.name, LIMITS.statsNameBytesMax);
      const index = symbols.hp_stats_claim(COUNTER_KINDS.indexOf(kind as never) + 1, record.node, name, name.length);
      if (index === STATUS.limitReached) return false;
      if (index < 0) throw statusError(index, "CounterPublisher", "POOL_EXHAUSTED");
      held.indices.push(index);
    }
    while (held.indices.length > records.length) symbols.hp_stats_release(held.indices.pop()!);
    return true;
  }

  #write(index: number): void {
    const vector = this.#vector;
    const status = openNative().symbols.hp_stats_publish(index, vector, vector.byteLength, this.interval);
    if (status < 0) throw statusError(status, "CounterPublisher", "POOL_EXHAUSTED");
  }

  /** Gives back the entries of objects closed or collected since the previous pass. */
  #releaseUnseen(pass: number): void {
    const symbols = openNative().symbols;
    for (const held of this.#all) {
      if (held.seen === pass) continue;
      for (const index of held.indices) symbols.hp_stats_release(index);
      this.#all.delete(held);
      const object = held.object.deref();
      if (object !== undefined) this.#held.delete(object);
    }
  }

  #publishSafely(): void {
    try {
      if (!this.#closed) this.publish();
    } catch {
      this.#errors++;
    }
  }
}

function attachError(status: number, path: string): HotpathError {
  if (status === STATUS.invalidArgument) {
    return new HotpathError(
      "INVALID_ARGUMENT",
      `publishCounters: this process already publishes its counters elsewhere than ${path}; ` +
        "every thread of a process must use the same directory.",
    );
  }
  return statusError(status, `publishCounters (${path})`, "POOL_EXHAUSTED");
}

/** The runtime and script, for readers to tell processes apart. */
function commandLine(): string {
  const argv = process.argv ?? [];
  const runtime = String(argv[0] ?? "").split("/").pop() ?? "";
  return [runtime, ...argv.slice(1)].join(" ");
}

/** Starts publishing when HOTPATH_PUBLISH asks for it (1 or a number of ms). */
export function publishFromEnvironment(): void {
  let setting: string | undefined;
  try {
    setting = process.env.HOTPATH_PUBLISH;
  } catch {
    return;
  }
  if (setting === undefined || setting === "" || setting === "0" || active !== undefined) return;
  const interval = setting === "1" ? undefined : Number(setting);
  publishCounters(interval === undefined ? {} : { interval });
}
