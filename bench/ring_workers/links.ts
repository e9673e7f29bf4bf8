/**
 * A link: one direction out and one direction in, as the round-trip benchmark uses them (ping
 * sends and waits for the echo, pong echoes). Both directions are rings, waited on by a busy
 * spin. Each message is a sequence number and a value (`seq * 0.5`); only the number is read
 * back. This file has the hand-written SAB ring's link (bench/ring_sab.ts);
 * hotpath_links.ts has `Ring.spsc`'s.
 *
 * @module
 */
import { SabConsumer, SabProducer } from "../ring_sab.ts";

/** A two-way link between two Workers. */
export interface Link {
  /** Sends message `seq`, spinning while the outgoing ring is full. */
  send(seq: number): void;
  /** Spins until a message arrives; returns its sequence number. */
  receive(): number;
  close(): void;
}

/** The hand-written SAB ring: `out` to send on, `into` to receive from. */
export function sabLink(out: SharedArrayBuffer, into: SharedArrayBuffer): Link {
  const producer = new SabProducer(out);
  const consumer = new SabConsumer(into);
  const { mask } = producer;
  const outPayload = producer.payload;
  const inPayload = consumer.payload;
  return {
    send(seq: number): void {
      while (producer.available(1) === 0) {
        // spin: full
      }
      const at = (producer.head & mask) << 1;
      outPayload[at] = seq;
      outPayload[at + 1] = seq * 0.5;
      producer.publish(1);
    },
    receive(): number {
      while (consumer.available(1) === 0) {
        // spin: empty
      }
      const seq = inPayload[(consumer.tail & mask) << 1];
      consumer.release(1);
      return seq;
    },
    close() {},
  };
}

/**
 * The floor of any ring: one Int32 word each way (its own SharedArrayBuffer), no slots. Send
 * stores seq + 1 in `out`; receive spins until `into` changes and returns the value minus 1.
 * Only for ping-pong, where each side waits for the echo before it sends again.
 */
export function wordLink(out: SharedArrayBuffer, into: SharedArrayBuffer): Link {
  const outWord = new Int32Array(out);
  const inWord = new Int32Array(into);
  let seen = Atomics.load(inWord, 0);
  return {
    send(seq: number): void {
      Atomics.store(outWord, 0, seq + 1);
    },
    receive(): number {
      let value = Atomics.load(inWord, 0);
      while (value === seen) value = Atomics.load(inWord, 0);
      seen = value;
      return value - 1;
    },
    close() {},
  };
}
