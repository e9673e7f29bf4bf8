/**
 * Lets one test file run under both `deno test` and `bun test`. Assertions come from
 * `node:assert/strict`, which both runtimes ship.
 *
 * @module
 */

import assert from "node:assert/strict";
import { HotpathError } from "../mod.ts";

/** A test body. */
export type TestBody = () => void | Promise<void>;

interface DenoTesting {
  test(definition: { name: string; fn: TestBody; sanitizeOps: boolean; sanitizeResources: boolean }): void;
}

interface BunTesting {
  test(name: string, body: TestBody, timeoutMs?: number): void;
}

const deno = (globalThis as { Deno?: DenoTesting }).Deno;
const bunTestSpecifier = "bun:test";
const bun = deno === undefined ? (await import(bunTestSpecifier)) as BunTesting : undefined;

/** The runtime these tests run on. */
export const runtime: "deno" | "bun" = deno === undefined ? "bun" : "deno";

/** Registers a test, named "<symbol> <behaviour>". */
export function test(name: string, body: TestBody): void {
  if (deno !== undefined) {
    // The library stays loaded for the life of the process on purpose: not a leak.
    deno.test({ name, fn: body, sanitizeOps: false, sanitizeResources: false });
  } else {
    bun!.test(name, body, 120_000);
  }
}

/**
 * Runs a full garbage collection if the runtime exposes one (Deno needs
 * `--v8-flags=--expose-gc`); returns false if it cannot.
 */
export function collectGarbage(): boolean {
  const global = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (global.Bun !== undefined) {
    global.Bun.gc(true);
    return true;
  }
  if (typeof global.gc === "function") {
    global.gc();
    return true;
  }
  return false;
}

/** Resolves after the event loop has turned once, so finalization callbacks can run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Asserts that `action` throws a HotpathError with `code` (and, if given, `messagePart` in its message). */
export function assertCode(action: () => unknown, code: string, messagePart?: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof HotpathError, `expected a HotpathError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (messagePart !== undefined) assert.ok(error.message.includes(messagePart), error.message);
    return true;
  });
}
