/**
 * What the ring and SharedPool ABI fuzz children (ring_abi_fuzz_child.ts,
 * shared_abi_fuzz_child.ts) share: per-export counts, the record of contract violations,
 * scratch memory for buffer arguments, how a call is printed in a trace, and the run loop.
 *
 * @module
 */
import process from "node:process";
import { PLACEMENT } from "../../ffi/abi.generated.ts";
import { write } from "./child_outcome.ts";

/** Counts of one export's calls. */
export interface FunctionStats {
  calls: number;
  nonNegative: number;
  /** Negative results by value (statuses). */
  negative: Record<string, number>;
  /** The runtime refused the arguments (a JS exception before the native call). */
  thrown: number;
}

/** Contract breaches: all counted, the first 40 kept for the report. */
/**
 * zig/src/abi/config.zig `Placement.valid`, restated: the placement words at `offset` of a
 * creation config are within their values and agree with each other.
 */
export function placementValid(words: DataView, offset: number): boolean {
  const word = (field: number) => words.getUint32(offset + field, true);
  const policy = word(PLACEMENT.policy);
  const low = word(PLACEMENT.nodesLow);
  const high = word(PLACEMENT.nodesHigh);
  const nodes = bitCount(low) + bitCount(high);
  if (word(PLACEMENT.hugePages) > 2 || word(PLACEMENT.lock) > 1) return false;
  if (policy === 0) return nodes === 0;
  if (policy === 1) return nodes === 1;
  return (policy === 2 || policy === 3) && nodes > 0;
}

function bitCount(word: number): number {
  let count = 0;
  for (let bits = word >>> 0; bits !== 0; bits &= bits - 1) count++;
  return count;
}

export class Violations {
  readonly list: string[] = [];
  count = 0;

  add(text: string): void {
    this.count++;
    if (this.list.length < 40) this.list.push(text);
  }
}

/**
 * Scratch memory: every buffer argument is a view into it, so a length the caller lies about
 * reads memory the fuzz owns (see tests/processes/abi_fuzz_child.ts, SCRATCH_BYTES).
 */
export class Scratch {
  readonly #buffer: ArrayBuffer;
  #cursor = 0;

  constructor(bytes: number) {
    this.#buffer = new ArrayBuffer(bytes);
  }

  /** A fresh Uint8Array of `length` bytes at byte offset ≡ `misalign` (mod 8). */
  view(length: number, misalign = 0): Uint8Array {
    if (this.#cursor + length + 16 > this.#buffer.byteLength) this.#cursor = 0;
    const start = ((this.#cursor + 7) & ~7) + misalign;
    this.#cursor = start + length;
    return new Uint8Array(this.#buffer, start, length);
  }
}

/** An argument as a trace line shows it. */
export function describeArgument(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array || value instanceof Float64Array) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, Math.min(value.byteLength, 48));
    const text = new TextDecoder().decode(bytes).replace(/[^\x20-\x7e]/g, ".");
    return `${value.constructor.name}(${value.byteLength} bytes at +${value.byteOffset % 8}, "${text}")`;
  }
  if (typeof value === "number" && value > 0xffff) return `0x${value.toString(16)}`;
  return Object.is(value, -0) ? "-0" : String(value);
}

/** One planned call: the export, its arguments, and what its result teaches or breaches. */
export interface Call {
  name: string;
  args: unknown[];
  after(result: number): void;
}

export interface RunOptions {
  seed: number;
  callsTarget: number;
  /** From this call number on, every call is written to stderr before it is made. */
  traceFrom: number;
  progressEvery: number;
  rssAbortBytes: number;
  calls: Record<string, (...args: unknown[]) => unknown>;
  perFunction: Record<string, FunctionStats>;
  nextCall(): Call;
  /** Regions alive now, for the progress line. */
  live(): number;
}

/**
 * Makes `callsTarget` calls, counting each result (a void export counts as 0; a Promise is
 * awaited), and stops the process (exit 3) past `rssAbortBytes`. Returns the calls made and
 * the peak RSS seen.
 */
export async function runCalls(options: RunOptions): Promise<{ count: number; peakRss: number }> {
  let peakRss = 0;
  let count = 0;
  while (count < options.callsTarget) {
    const call = options.nextCall();
    if (count >= options.traceFrom) {
      write(2, `call #${count} ${call.name}(${call.args.map(describeArgument).join(", ")})\n`);
    }
    count++;
    const stats = options.perFunction[call.name];
    stats.calls++;
    let result: number;
    try {
      const value = options.calls[call.name](...call.args);
      const settled = value instanceof Promise ? await value : value;
      result = settled === undefined ? 0 : Number(settled);
    } catch (error) {
      stats.thrown++;
      if (stats.thrown <= 3) write(2, `${call.name} threw: ${String(error)}\n`);
      continue;
    }
    if (count > options.traceFrom) write(2, `  -> ${result}\n`);
    if (result >= 0) stats.nonNegative++;
    else stats.negative[String(result)] = (stats.negative[String(result)] ?? 0) + 1;
    call.after(result);
    if (count % options.progressEvery === 0) {
      const rss = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss);
      write(2, `progress calls=${count} live=${options.live()} rss=${Math.round(rss / 2 ** 20)}MiB\n`);
      if (rss > options.rssAbortBytes) {
        write(2, `RSS over the fuzz's bound: stopping (seed=${options.seed})\n`);
        process.exit(3);
      }
    }
  }
  return { count, peakRss: Math.max(peakRss, process.memoryUsage().rss) };
}
