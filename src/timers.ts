/**
 * Timers that never keep a process alive on their own (Monitor, CounterPublisher).
 *
 * @module
 */

/** Lets the process exit while the timer runs (Deno and Bun differ). */
export function unrefTimer(timer: ReturnType<typeof setInterval>): void {
  const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
  if (typeof timer === "number" && deno?.unrefTimer !== undefined) deno.unrefTimer(timer);
  else (timer as { unref?(): void }).unref?.();
}
