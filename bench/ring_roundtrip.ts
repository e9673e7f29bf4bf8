/**
 * Round-trip latency between two Workers of this process: one Worker sends a message and waits
 * for its echo from the other (bench/ring_workers/roundtrip_worker.ts). Rings go one each way
 * and are waited on by a busy spin on both sides: the hand-written SAB ring (bench/ring_sab.ts)
 * and hotpath's `Ring.spsc`; postMessage waits in the event loop, the only way it can. One
 * Int32 word each way (no ring at all) gives the floor: what two cache-line transfers cost here.
 *
 * Method: each transport has a pair of Workers of its own, started one after another. A round
 * runs every transport in an order that rotates; warm-up rounds are discarded. Within a run,
 * each block of round trips is timed with hotpath's clock (two reads per block, so the
 * clock's cost is spread thin); the run's figure is the median over blocks of the mean round
 * trip, which keeps a block in which the other process took a core from moving it.
 *
 * @module
 */
import { affinity, Ring } from "../mod.ts";
import { sabRingBuffer } from "./ring_sab.ts";
import { closeWorkers, reply, startWorker } from "./ring_threads.ts";
import { RING_CAPACITY, Tick, type TickSchema } from "./ring_workers/kinds.ts";
import type { RoundTripKind, RoundTripSetup } from "./ring_workers/roundtrip_worker.ts";
import { CONTROL_BYTES } from "./ring_workers/scope.ts";

export type { RoundTripKind };

export const ROUND_TRIP_LABELS: Record<RoundTripKind, string> = {
  postMessage: "postMessage ping-pong (event loop)",
  word: "one Int32 word each way, spin (the floor)",
  sab: "hand-written SAB SPSC rings, spin",
  spsc: "hotpath Ring.spsc, two rings, spin",
  spscPinned: "the same, each Worker pinned to a CPU",
};

/** How much to measure: round trips per run and per timed block, for each kind. */
export interface RoundTripOptions {
  rounds: number;
  warmUpRounds: number;
  kinds: RoundTripKind[];
  trips: Record<RoundTripKind, number>;
  block: Record<RoundTripKind, number>;
}

interface Pair {
  kind: RoundTripKind;
  ping: Worker;
  pong: Worker;
  control: SharedArrayBuffer;
}

/** The two Workers of `kind`: pong first, then ping, each with its ends of the link. */
async function startPair(kind: RoundTripKind, all: Worker[], rings: Ring<TickSchema>[]): Promise<Pair> {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const base = { kind, control };
  const start = (setup: RoundTripSetup, transfer: Transferable[] = []) =>
    startWorker("roundtrip_worker.ts", { type: "init", setup }, all, transfer);
  if (kind === "postMessage") {
    const channel = new MessageChannel();
    const pong = await start({ ...base, role: "pong", port: channel.port2 }, [channel.port2]);
    const ping = await start({ ...base, role: "ping", port: channel.port1 }, [channel.port1]);
    return { kind, ping, pong, control };
  }
  let there: RoundTripSetup["out"];
  let back: RoundTripSetup["out"];
  if (kind === "word") {
    there = new SharedArrayBuffer(4);
    back = new SharedArrayBuffer(4);
  } else if (kind === "sab") {
    there = sabRingBuffer(RING_CAPACITY);
    back = sabRingBuffer(RING_CAPACITY);
  } else {
    // spscPinned: ping on the first CPU this process may use, pong on the last (affinity.pin in
    // each Worker at init), so the two never share a core.
    const twoRings = [
      Ring.spsc({ slot: Tick, capacity: RING_CAPACITY }),
      Ring.spsc({ slot: Tick, capacity: RING_CAPACITY }),
    ];
    rings.push(...twoRings);
    [there, back] = twoRings.map((ring) => ring.share());
  }
  const cpus = kind === "spscPinned" ? affinity.allowed() : undefined;
  const pong = await start({ ...base, role: "pong", out: back, into: there, cpu: cpus?.[cpus.length - 1] });
  const ping = await start({ ...base, role: "ping", out: there, into: back, cpu: cpus?.[0] });
  return { kind, ping, pong, control };
}

async function runOnce(pair: Pair, trips: number, block: number): Promise<number> {
  new Int32Array(pair.control).fill(0);
  const replies = [reply<{ nsPerTrip: number }>(pair.ping), reply(pair.pong)];
  for (const worker of [pair.pong, pair.ping]) worker.postMessage({ type: "run", trips, block, participants: 2 });
  const [ping] = await Promise.all(replies);
  return (ping as { nsPerTrip: number }).nsPerTrip;
}

/** Median ns per round trip of each kind, one value per measured round. */
export async function ringRoundTrips(options: RoundTripOptions): Promise<Record<RoundTripKind, number[]>> {
  const results = {} as Record<RoundTripKind, number[]>;
  const all: Worker[] = [];
  const rings: Ring<TickSchema>[] = [];
  try {
    const pairs: Pair[] = [];
    for (const kind of options.kinds) {
      pairs.push(await startPair(kind, all, rings));
      results[kind] = [];
    }
    for (let round = 0; round < options.warmUpRounds + options.rounds; round++) {
      for (let at = 0; at < pairs.length; at++) {
        const pair = pairs[(at + round) % pairs.length];
        const nsPerTrip = await runOnce(pair, options.trips[pair.kind], options.block[pair.kind]);
        if (round >= options.warmUpRounds) results[pair.kind].push(nsPerTrip);
      }
    }
    await closeWorkers(all);
    return results;
  } finally {
    for (const worker of all) worker.terminate();
    for (const ring of rings) ring.close();
  }
}
