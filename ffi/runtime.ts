/**
 * Detects the runtime once and provides its adapter.
 *
 * @module
 */
import type { RuntimeAdapter } from "./adapter.ts";
import { denoAdapter } from "./deno.ts";
import { loadBunAdapter } from "./bun.ts";
import { HotpathError } from "./errors.ts";

/** "deno", "bun", or undefined for a runtime hotpath does not support. */
export function detectRuntime(): "deno" | "bun" | undefined {
  const global = globalThis as { Deno?: { dlopen?: unknown }; Bun?: unknown };
  if (global.Bun !== undefined) return "bun";
  if (typeof global.Deno?.dlopen === "function") return "deno";
  return undefined;
}

async function loadAdapter(): Promise<RuntimeAdapter> {
  const runtime = detectRuntime();
  if (runtime === "deno") return denoAdapter;
  if (runtime === "bun") return await loadBunAdapter();
  throw new HotpathError(
    "UNSUPPORTED_RUNTIME",
    "hotpath runs on Deno 2.x and Bun 1.x only: neither Deno.dlopen nor Bun was found.",
  );
}

/** The adapter of the runtime this module runs on, detected once at load. */
export const adapter: RuntimeAdapter = await loadAdapter();
