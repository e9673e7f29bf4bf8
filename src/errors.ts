/**
 * `HotpathError` and the translation of the library's status codes into it.
 *
 * @module
 */
import { HotpathError, type HotpathErrorCode } from "../ffi/errors.ts";

export { HotpathError, type HotpathErrorCode };

/** Turns a negative status from libhotpath into a HotpathError about `subject`. */
export function statusError(status: number, subject: string, exhausted: HotpathErrorCode): HotpathError {
  switch (status) {
    case -1:
      return new HotpathError("INVALID_ARGUMENT", `${subject}: the library rejected an argument as out of its limits.`);
    case -2:
      return new HotpathError("CLOSED", `${subject} is closed (the library no longer knows its id).`);
    case -3:
      return new HotpathError(exhausted, `${subject} has no room left.`);
    case -4:
      return new HotpathError("INVALID_HANDLE", `${subject}: a handle is out of range.`);
    case -5:
      return new HotpathError("DOUBLE_FREE", `${subject}: a handle was freed twice or never allocated.`);
    case -6:
      return new HotpathError(
        "OUT_OF_MEMORY",
        `${subject}: the kernel refused the memory mapping. Ask for less, or raise the memory limit.`,
      );
    case -7:
      return new HotpathError(
        "LIMIT_REACHED",
        `${subject}: every region slot is taken (16384 pools and arenas). Close regions you no longer use.`,
      );
    case -8:
      return new HotpathError(
        "CORRUPTED",
        `${subject}: its metadata fails a consistency check. Something wrote over a freed block or the header.`,
      );
    default:
      return new HotpathError("CORRUPTED", `${subject}: the library returned the unknown status ${status}.`);
  }
}

/** The error every method of a closed pool or arena throws. */
export function closedError(subject: string): HotpathError {
  return new HotpathError("CLOSED", `${subject} is closed; create a new one.`);
}
