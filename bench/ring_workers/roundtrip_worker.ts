/**
 * A Worker of bench/ring_latency.ts's round trips: "ping" sends a message and waits for its
 * echo, "pong" echoes. Requests, each answered by one reply:
 * - { type: "init", setup }: builds its link (links.ts, hotpath_links.ts) or takes its port;
 * - { type: "run", trips, block, participants }: meets the other Worker at the start barrier,
 *   then ping times each block of `block` round trips with hotpath's clock and replies
 *   { type: "done", nsPerTrip } (the median over blocks of the mean round trip); pong echoes
 *   `trips` messages and replies { type: "done" };
 * - { type: "close" }.
 *
 * Rings are waited on by a busy spin; postMessage can only wait in the event loop.
 *
 * @module
 */
import { affinity, clockNs, type RingDescriptor } from "../../mod.ts";
import { median } from "../ring_threads.ts";
import { type Link, sabLink, wordLink } from "./links.ts";
import { spscLink } from "./hotpath_links.ts";
import { barrier, serve } from "./scope.ts";

export type RoundTripKind = "postMessage" | "word" | "sab" | "spsc" | "spscPinned";

/** What a round-trip Worker is given at `init`. */
export interface RoundTripSetup {
  kind: RoundTripKind;
  role: "ping" | "pong";
  control: SharedArrayBuffer;
  /** Rings: the one this side sends on and the one it receives from. */
  out?: SharedArrayBuffer | RingDescriptor;
  into?: SharedArrayBuffer | RingDescriptor;
  port?: MessagePort;
  /** The CPU this Worker pins itself to at init (spscPinned). */
  cpu?: number;
}

const clock = clockNs();

function pingLink(link: Link, trips: number, block: number): number {
  const samples: number[] = [];
  let seq = 0;
  for (let at = 0; at + block <= trips; at += block) {
    const start = clock();
    for (let index = 0; index < block; index++) {
      link.send(seq);
      const echo = link.receive();
      if (echo !== seq) throw new Error(`round trip: sent ${seq}, got back ${echo}`);
      seq++;
    }
    samples.push((clock() - start) / block);
  }
  return median(samples);
}

function pongLink(link: Link, trips: number): void {
  for (let trip = 0; trip < trips; trip++) link.send(link.receive());
}

function pingPort(port: MessagePort, trips: number, block: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const samples: number[] = [];
    let seq = 0;
    let start = clock();
    port.onmessage = (event: MessageEvent) => {
      const echo = (event.data as [number, number])[0];
      if (echo !== seq) return reject(new Error(`postMessage round trip: sent ${seq}, got back ${echo}`));
      seq++;
      if (seq % block === 0) {
        samples.push((clock() - start) / block);
        start = clock();
      }
      if (seq === trips) resolve(median(samples));
      else port.postMessage([seq, seq * 0.5]);
    };
    port.postMessage([seq, seq * 0.5]);
  });
}

function pongPort(port: MessagePort, trips: number): Promise<void> {
  return new Promise((resolve) => {
    let echoed = 0;
    port.onmessage = (event: MessageEvent) => {
      port.postMessage(event.data);
      if (++echoed === trips) resolve();
    };
  });
}

let setup: RoundTripSetup | undefined;
let link: Link | undefined;

serve(async (message) => {
  if (message.type === "init") {
    setup = (message as unknown as { setup: RoundTripSetup }).setup;
    if (setup.kind === "word") link = wordLink(setup.out as SharedArrayBuffer, setup.into as SharedArrayBuffer);
    if (setup.kind === "sab") link = sabLink(setup.out as SharedArrayBuffer, setup.into as SharedArrayBuffer);
    if (setup.kind === "spsc" || setup.kind === "spscPinned") {
      link = spscLink(setup.out as RingDescriptor, setup.into as RingDescriptor);
    }
    if (setup.cpu !== undefined) affinity.pin(setup.cpu);
    return { type: "ready" };
  }
  if (message.type === "run") {
    const { trips, block, participants } = message as unknown as { trips: number; block: number; participants: number };
    const { role, port } = setup!;
    barrier(new Int32Array(setup!.control), participants);
    if (role === "ping") {
      const nsPerTrip = link ? pingLink(link, trips, block) : await pingPort(port!, trips, block);
      return { type: "done", nsPerTrip };
    }
    if (link) pongLink(link, trips);
    else await pongPort(port!, trips);
    return { type: "done" };
  }
  link?.close();
  setup?.port?.close();
  return { type: "closed" };
});
