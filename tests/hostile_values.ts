/**
 * Hostile values shared by the adversarial tests (tests/adversarial_test.ts for Pool, Arena and
 * friends, tests/shared_pool_adversarial_test.ts for SharedPool): values that are not integers,
 * objects that lie, and getters that change between reads.
 *
 * @module
 */

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
