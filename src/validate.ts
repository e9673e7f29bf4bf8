/**
 * Argument checks shared by every API: each failure is an INVALID_ARGUMENT that names the
 * argument, the accepted range and the value received.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { LIMITS } from "../ffi/abi.generated.ts";

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
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

/** Returns `value` if it is an integer in [min, max]; throws INVALID_ARGUMENT otherwise. */
export function integerIn(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw integerError(where, name, value, min, max);
  }
  return value;
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

/** Throws INVALID_ARGUMENT unless `options` is a plain object. */
export function optionsObject(where: string, options: unknown): Record<string, unknown> {
  if (typeof options !== "object" || options === null) {
    throw new HotpathError("INVALID_ARGUMENT", `${where}: options must be an object; got ${describe(options)}.`);
  }
  return options as Record<string, unknown>;
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
