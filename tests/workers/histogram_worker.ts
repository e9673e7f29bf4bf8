/**
 * A Worker of tests/histogram_test.ts: on { values: n } it records 0, 1000, 2000, ... into a
 * Histogram of its own and replies with its snapshot (the counters, copied).
 *
 * @module
 */
import { Histogram } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event: MessageEvent) => {
  const { values } = event.data as { values: number };
  using histogram = new Histogram();
  for (let index = 0; index < values; index++) histogram.record(index * 1000);
  scope.postMessage(histogram.snapshot());
};
