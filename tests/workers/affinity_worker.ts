/**
 * A Worker of tests/workers/affinity_test.ts: on { type: "pin", cpu, reads } it pins itself to
 * `cpu`, reads `numa.currentCpu()` `reads` times, and replies { type: "pinned", mask, seen }
 * (its mask after the pin and every distinct CPU it saw); errors reply { type: "error" }.
 *
 * @module
 */
import { affinity, numa } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event: MessageEvent) => {
  const { cpu, reads } = event.data as { cpu: number; reads: number };
  try {
    affinity.pin(cpu);
    const seen = new Set<number>();
    for (let read = 0; read < reads; read++) seen.add(numa.currentCpu());
    scope.postMessage({ type: "pinned", mask: affinity.get(), seen: [...seen], node: numa.currentNode() });
  } catch (error) {
    scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
  }
};
