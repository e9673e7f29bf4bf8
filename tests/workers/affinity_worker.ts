/**
 * A Worker of tests/workers/affinity_test.ts: on { cpu, reads } it pins itself to `cpu`,
 * reads `numa.currentCpu()` `reads` times, and replies { type: "pinned", mask, seen } (its mask
 * after the pin and every distinct CPU it saw). With `pinThread: true` it pins through
 * `numa.pinThread` and creates a Pool without a placement, and the reply adds that Pool's
 * placement report. Errors reply { type: "error" }.
 *
 * @module
 */
import { affinity, numa, Pool } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event: MessageEvent) => {
  const { cpu, reads, pinThread } = event.data as { cpu: number; reads: number; pinThread?: boolean };
  try {
    const pinned = pinThread ? numa.pinThread(cpu) : (affinity.pin(cpu), undefined);
    const seen = new Set<number>();
    for (let read = 0; read < reads; read++) seen.add(numa.currentCpu());
    let placement;
    if (pinned !== undefined) {
      using pool = new Pool({ blockSize: 64, capacity: 10_000 });
      const report = numa.placementOf(pool);
      placement = { pinned, requested: report.requested, nodes: report.nodes, default: numa.defaultPlacement() };
    }
    const node = numa.currentNode();
    scope.postMessage({ type: "pinned", mask: affinity.get(), seen: [...seen], node, placement });
  } catch (error) {
    scope.postMessage({ type: "error", message: String((error as Error)?.stack ?? error) });
  }
};
