/**
 * A Worker of tests/clock_test.ts: on { reads: n } it reads the TSC clock n times, checks it
 * never went backwards, and replies { first, last, backwards }.
 *
 * @module
 */
import { tscNowNs } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event: MessageEvent) => {
  const { reads } = event.data as { reads: number };
  const first = tscNowNs();
  let previous = first;
  let backwards = 0;
  for (let index = 0; index < reads; index++) {
    const now = tscNowNs();
    if (now < previous) backwards++;
    previous = now;
  }
  scope.postMessage({ first, last: previous, backwards });
};
