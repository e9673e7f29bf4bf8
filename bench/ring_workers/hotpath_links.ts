/**
 * `Ring.spsc`'s link for the round-trip and one-way benchmarks (see links.ts): two rings, one
 * each way, one message per tryClaim/commit and tryPeek/release, waited on by a busy spin.
 *
 * @module
 */
import { Ring, type RingDescriptor } from "../../mod.ts";
import type { Link } from "./links.ts";
import { Tick } from "./kinds.ts";

/** `out` to send on (this side is its producer), `into` to receive from (its consumer). */
export function spscLink(out: RingDescriptor, into: RingDescriptor): Link {
  const outRing = Ring.attach(out, { slot: Tick });
  const inRing = Ring.attach(into, { slot: Tick });
  const producer = outRing.producer({ wait: "spin" });
  const consumer = inRing.consumer({ wait: "spin" });
  return {
    send(seq: number): void {
      let slot = producer.tryClaim();
      while (slot < 0) slot = producer.tryClaim();
      const tick = producer.at(slot);
      tick.seq = seq;
      tick.value = seq * 0.5;
      producer.commit();
    },
    receive(): number {
      let slot = consumer.tryPeek();
      while (slot < 0) slot = consumer.tryPeek();
      const seq = consumer.at(slot).seq;
      consumer.release();
      return seq;
    },
    close() {
      outRing.close();
      inRing.close();
    },
  };
}
