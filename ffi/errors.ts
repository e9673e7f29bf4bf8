/**
 * The one error type of hotpath. It lives in the lowest layer so that the FFI loader and the
 * public API throw the same class; `mod.ts` re-exports it.
 *
 * @module
 */

/** Every stable error code a hotpath call can fail with. */
export type HotpathErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_HANDLE"
  | "DOUBLE_FREE"
  | "USE_AFTER_FREE"
  | "OVERFLOW"
  | "POOL_EXHAUSTED"
  | "ARENA_FULL"
  | "CLOSED"
  | "DETACHED"
  | "OUT_OF_MEMORY"
  | "LIMIT_REACHED"
  | "CORRUPTED"
  | "INCOMPATIBLE"
  | "ALREADY_EXISTS"
  | "NOT_FOUND"
  | "PERMISSION_DENIED"
  | "NO_SPACE"
  | "UNSUPPORTED"
  | "BUSY"
  | "INVALID_STATE"
  | "OUT_OF_RANGE"
  | "TOO_LARGE"
  | "LIBRARY_NOT_FOUND"
  | "ABI_MISMATCH"
  | "LAYOUT_MISMATCH"
  | "UNSUPPORTED_RUNTIME"
  | "MEMLOCK_LIMIT";

/**
 * A failure of a hotpath call: `code` is stable and meant for programs, `message` says what
 * happened, with the values involved, and what to do.
 *
 * @example
 * ```ts
 * import { HotpathError, Pool } from "@hotpath/core";
 * const pool = new Pool({ blockSize: 64, capacity: 1 });
 * pool.alloc();
 * try {
 *   pool.alloc();
 * } catch (error) {
 *   if (error instanceof HotpathError && error.code === "POOL_EXHAUSTED") pool.close();
 * }
 * ```
 */
export class HotpathError extends Error {
  /** The stable code, for example `"POOL_EXHAUSTED"`. */
  readonly code: HotpathErrorCode;

  /** Creates an error with a stable `code` and a message in sentence case. */
  constructor(code: HotpathErrorCode, message: string) {
    super(message);
    this.name = "HotpathError";
    this.code = code;
  }
}
