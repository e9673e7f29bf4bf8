/**
 * Hostile values shared by the adversarial tests (tests/adversarial_test.ts for Pool, Arena and
 * friends, tests/shared_pool_adversarial_test.ts for SharedPool): values that are not integers,
 * objects that lie, and getters that change between reads.
 *
 * @module
 */

import assert from "node:assert/strict";
import { HotpathError } from "../mod.ts";

/** One attack: a label and the call that makes it. */
export type Row = readonly [label: string, action: () => unknown];

/** Rows that call `call(value)` for every [label, value]. */
export function rows(
  values: readonly (readonly [string, unknown])[],
  call: (value: never) => unknown,
  prefix = "",
): Row[] {
  return values.map(([label, value]) => [`${prefix}${label}`, () => call(value as never)] as const);
}

/** An object that coerces to `value` (valueOf and toString) but is not a number. */
export function lying(value: number): object {
  return { valueOf: () => value, toString: () => String(value) };
}

/** Values that are not integers of any kind. */
export const NOT_INTEGERS: readonly (readonly [string, unknown])[] = [
  ["bigint 1n", 1n],
  ["Symbol()", Symbol("adversarial")],
  ['string "1"', "1"],
  ["object {}", {}],
  ["null-prototype object", Object.create(null)],
  ["array [1]", [1]],
  ["true", true],
  ["null", null],
  ["NaN", Number.NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["1.5", 1.5],
  ["lying valueOf 1", lying(1)],
];

/** NOT_INTEGERS and undefined. */
export const NOT_INTEGERS_OR_UNDEFINED = [...NOT_INTEGERS, ["undefined", undefined]] as const;

/** A getter that returns each of `values` in turn, then the last one forever. */
export function shifting(values: readonly unknown[]): () => unknown {
  let reads = 0;
  return () => values[Math.min(reads++, values.length - 1)];
}

/** `base` with `key` turned into a `shifting` getter. */
export function withShifting(
  base: Record<string, unknown>,
  key: string,
  values: readonly unknown[],
): Record<string, unknown> {
  const options = { ...base };
  Object.defineProperty(options, key, { get: shifting(values), enumerable: true, configurable: true });
  return options;
}

/** A printable form of any value, even one whose toString throws. */
export function show(value: unknown): string {
  try {
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    if (Object.is(value, -0)) return "-0";
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
    const name = typeof value === "object" && value !== null ? value.constructor?.name : undefined;
    if (name === "SharedPool" || name === "Pool" || name === "Arena") return `a ${name}`;
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A thrown value that is not a HotpathError, described. */
export function foreign(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : `threw ${show(error)}`;
}

/**
 * What an action did: a HotpathError code, "returned <value>", or the foreign error it threw.
 * `returned` sees what came back (to close a pool a row was not supposed to make).
 */
export function outcome(action: () => unknown, returned?: (value: unknown) => void): string {
  try {
    const value = action();
    returned?.(value);
    return `returned ${show(value)}`;
  } catch (error) {
    return error instanceof HotpathError ? error.code : foreign(error);
  }
}

/** Asserts that every row gives one of `expected` (codes or "returned ..."); lists every miss. */
export function expectAll(
  table: readonly Row[],
  expected: string | readonly string[],
  returned?: (value: unknown) => void,
): void {
  const accepted = typeof expected === "string" ? [expected] : expected;
  const misses = table
    .map(([label, action]) => [label, outcome(action, returned)])
    .filter(([, got]) => !accepted.includes(got))
    .map(([label, got]) => `${label}: ${got}`);
  assert.deepEqual(misses, [], `expected ${accepted.join(" or ")}`);
}
