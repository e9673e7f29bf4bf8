/**
 * Argument checks shared by every API: each failure is an INVALID_ARGUMENT that names the
 * argument, the accepted range and the value received. Messages describe any value, even
 * one whose conversion to a string throws (a Symbol, a null-prototype object, a bigint).
 * -0 is accepted as 0 and returned as +0, so it never reaches FFI (Deno's u32 refuses it).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { LIMITS } from "../ffi/abi.generated.ts";

/** A printable form of any value; never throws. */
export function describe(value: unknown): string {
  try {
    if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
    if (typeof value === "bigint") return `${value}n (a bigint)`;
    if (typeof value === "symbol") return value.toString();
    if (typeof value === "function") return "a function";
    if (typeof value === "object" && value !== null) {
      return Array.isArray(value) ? `an array of ${value.length}` : Object.prototype.toString.call(value);
    }
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The INVALID_ARGUMENT error for a value that is not an integer in [min, max]. */
export function integerError(where: string, name: string, value: unknown, min: number, max: number): HotpathError {
  return new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: ${name} must be an integer from ${min} to ${max}; got ${describe(value)}.`,
  );
}

/** The INVALID_ARGUMENT error for a value that is not a power of two up to 4096. */
export function alignmentError(where: string, name: string, value: unknown): HotpathError {
  return new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: ${name} must be a power of two from 1 to ${LIMITS.alignmentMax}; got ${describe(value)}.`,
  );
}

/** Returns `value` (-0 as 0) if it is an integer in [min, max]; throws INVALID_ARGUMENT otherwise. */
export function integerIn(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw integerError(where, name, value, min, max);
  }
  return value + 0;
}

/** Returns `value` if it is a power of two up to 4096; throws INVALID_ARGUMENT otherwise. */
export function alignment(where: string, name: string, value: unknown): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > LIMITS.alignmentMax ||
    (value & (value - 1)) !== 0
  ) {
    throw alignmentError(where, name, value);
  }
  return value;
}

/** Throws INVALID_ARGUMENT unless `options` is an object (not null, not a function). */
export function optionsObject(where: string, options: unknown): Record<string, unknown> {
  if (typeof options !== "object" || options === null) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: options must be an object; got ${describe(options)}.`);
  }
  return options as Record<string, unknown>;
}

/**
 * Reads `keys` of an options object exactly once each, into a plain object: a getter that
 * answers differently on every read cannot make the value checked differ from the value used.
 */
export function readOptions<K extends string>(
  where: string,
  options: unknown,
  keys: readonly K[],
): Record<K, unknown> {
  const given = optionsObject(where, options);
  const read = Object.create(null) as Record<K, unknown>;
  for (const key of keys) read[key] = given[key];
  return read;
}

/** Returns the `name` option: a string of at most 100 characters, "" when absent. */
export function label(where: string, value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "string" || value.length > 100) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `${where}: name must be a string of at most 100 characters; got ${describe(value)}.`,
    );
  }
  return value;
}
