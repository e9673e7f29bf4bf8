/**
 * CPU affinity of the calling thread. Each Worker is an OS thread of its own, so a Worker that
 * calls `affinity.pin(3)` pins itself and nothing else: the main thread and other Workers keep
 * their masks. A trading system pins each hot thread (feed handler, strategy, gateway) to a
 * core of its own so that the scheduler never moves it away from its caches.
 *
 * Linux only (sched_setaffinity on the calling thread); elsewhere every call throws
 * `UNSUPPORTED`. CPUs are numbered as the kernel numbers them, 0 to 1023.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { LIMITS, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { describe, integerIn } from "./validate.ts";

/** CPUs a mask can name (0 .. CPUS_MAX - 1). */
export const CPUS_MAX: number = LIMITS.affinityCpusMax;
const MASK_WORDS = LIMITS.affinityMaskWords;

/** The calling thread's CPU affinity. */
export interface Affinity {
  /** The CPUs the calling thread may run on, ascending. */
  get(): number[];
  /**
   * Lets the calling thread run only on `cpus` (at least one; repeats are ignored). Throws
   * INVALID_ARGUMENT naming the first CPU the kernel does not allow (offline, or outside this
   * process's cpuset: see `allowed()`), and then changes nothing.
   */
  set(cpus: readonly number[]): void;
  /** `set([cpu])`: the calling thread runs on `cpu` only. */
  pin(cpu: number): void;
  /** The CPUs the kernel lets the calling thread use (online and inside its cpuset), ascending. */
  allowed(): number[];
}

function unsupported(where: string): HotpathError {
  return new HotpathError(
    "UNSUPPORTED",
    `${where}: CPU affinity is supported on Linux only (sched_setaffinity), or the kernel has more than ` +
      `${CPUS_MAX} CPUs.`,
  );
}

function cpusOf(words: Uint32Array): number[] {
  const cpus: number[] = [];
  for (let word = 0; word < MASK_WORDS; word++) {
    for (let bit = 0; bit < 32; bit++) if ((words[word] >>> bit) & 1) cpus.push(word * 32 + bit);
  }
  return cpus;
}

function readMask(where: string, read: (native: Native, out: Uint32Array) => number): number[] {
  const words = new Uint32Array(MASK_WORDS);
  const count = read(openNative(), words);
  if (count < 0) throw unsupported(where);
  const cpus = cpusOf(words);
  if (cpus.length !== count) throw new HotpathError("CORRUPTED", `${where}: the mask read back disagrees.`);
  return cpus;
}

/** The CPU list of `set`: an array of integers 0 .. CPUS_MAX - 1, at least one. */
function maskOf(where: string, cpus: unknown): Uint32Array {
  if (!Array.isArray(cpus)) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: cpus must be an array of CPU numbers; got ${describe(cpus)}.`,
    );
  }
  if (cpus.length === 0) throw new HotpathError("INVALID_ARGUMENT", `${where}: cpus is empty; name at least one CPU.`);
  if (cpus.length > CPUS_MAX * 4) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: cpus has ${cpus.length} entries, more than a mask can mean.`);
  }
  const words = new Uint32Array(MASK_WORDS);
  // A plain index loop over a snapshot of the length: a lying array subclass cannot change it.
  const length = cpus.length;
  for (let index = 0; index < length; index++) {
    const cpu = integerIn(where, `cpus[${index}]`, cpus[index], 0, CPUS_MAX - 1);
    words[cpu >>> 5] |= 1 << (cpu & 31);
  }
  return words;
}

/** The one CPU this thread was pinned to by `set`/`pin`, or -1 (see `pinnedCpu`). */
let pinned = -1;

/**
 * The CPU this thread pinned itself to through `affinity` (a one-CPU mask), or -1: where it
 * runs without asking the kernel, since sched_setaffinity moves the calling thread before it
 * returns. A mask changed behind hotpath's back (taskset, another library) is not seen.
 */
export function pinnedCpu(): number {
  return pinned;
}

function set(cpus: readonly number[], where = "affinity.set"): void {
  const words = maskOf(where, cpus);
  const allowed = affinity.allowed();
  const refused = cpusOf(words).find((cpu) => !allowed.includes(cpu));
  if (refused !== undefined) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: CPU ${refused} is not one this thread may use (allowed: ${ranges(allowed)}; offline CPUs and ` +
        "CPUs outside the process's cpuset are not).",
    );
  }
  const status = openNative().symbols.hp_affinity_set(words, words.byteLength);
  if (status === STATUS.ok) {
    const chosen = cpusOf(words);
    pinned = chosen.length === 1 ? chosen[0] : -1;
    return;
  }
  if (status === STATUS.invalidArgument) {
    // The allowed set changed between the check and the call (a cpuset edit, a CPU unplugged).
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: the kernel refused [${ranges(cpusOf(words))}]; nothing changed.`,
    );
  }
  if (status === STATUS.permissionDenied) {
    throw new HotpathError("PERMISSION_DENIED", `${where}: the kernel does not let this thread change its affinity.`);
  }
  throw unsupported(where);
}

/** `0-3,6` for [0, 1, 2, 3, 6]: how Linux writes CPU lists. */
export function ranges(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let index = 0; index < cpus.length;) {
    let end = index;
    while (end + 1 < cpus.length && cpus[end + 1] === cpus[end] + 1) end++;
    parts.push(end === index ? `${cpus[index]}` : `${cpus[index]}-${cpus[end]}`);
    index = end + 1;
  }
  return parts.join(",");
}

/**
 * The calling thread's CPU affinity.
 *
 * @example
 * ```ts
 * import { affinity, numa } from "@hotpath/core";
 * const before = affinity.get();
 * const cpus = affinity.allowed();
 * affinity.pin(cpus[cpus.length - 1]); // this thread (this Worker) runs there only
 * console.log(affinity.get(), numa.currentCpu());
 * affinity.set(before);
 * ```
 */
export const affinity: Affinity = Object.freeze({
  get(): number[] {
    return readMask("affinity.get", (native, out) => native.symbols.hp_affinity_get(out, out.byteLength));
  },
  set(cpus: readonly number[]): void {
    set(cpus);
  },
  pin(cpu: number): void {
    set([integerIn("affinity.pin", "cpu", cpu, 0, CPUS_MAX - 1)], "affinity.pin");
  },
  allowed(): number[] {
    return readMask("affinity.allowed", (native, out) => native.symbols.hp_affinity_allowed(out, out.byteLength));
  },
});
