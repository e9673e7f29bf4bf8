/**
 * `HotpathError` and the translation of the library's status codes into it.
 *
 * @module
 */
import { HotpathError, type HotpathErrorCode } from "../ffi/errors.ts";
import { LIMITS, STATUS } from "../ffi/abi.generated.ts";

export { HotpathError, type HotpathErrorCode };

/** Turns a negative status from libhotpath into a HotpathError about `subject`. */
export function statusError(status: number, subject: string, exhausted: HotpathErrorCode): HotpathError {
  switch (status) {
    case STATUS.invalidArgument:
      return new HotpathError("INVALID_ARGUMENT", `${subject}: the library rejected an argument as out of its limits.`);
    case STATUS.invalidId:
      return new HotpathError("CLOSED", `${subject} is closed (the library no longer knows its id).`);
    case STATUS.exhausted:
      return new HotpathError(exhausted, `${subject} has no room left.`);
    case STATUS.invalidHandle:
      return new HotpathError("INVALID_HANDLE", `${subject}: a handle is out of range.`);
    case STATUS.doubleFree:
      return new HotpathError("DOUBLE_FREE", `${subject}: a handle was freed twice or never allocated.`);
    case STATUS.outOfMemory:
      return new HotpathError(
        "OUT_OF_MEMORY",
        `${subject}: the kernel refused the memory mapping. Ask for less, or raise the memory limit.`,
      );
    case STATUS.limitReached:
      return new HotpathError(
        "LIMIT_REACHED",
        `${subject}: every region slot is taken (${LIMITS.slotsMax} pools and arenas). ` +
          "Close regions you no longer use.",
      );
    case STATUS.corrupted:
      return new HotpathError(
        "CORRUPTED",
        `${subject}: its metadata fails a consistency check. Something wrote over a freed block or the header.`,
      );
    case STATUS.incompatible:
      return new HotpathError(
        "INCOMPATIBLE",
        `${subject}: the region is not a hotpath region of this kind, ABI version (${LIMITS.abiVersion}) and ` +
          `layout version (${LIMITS.sharedLayoutVersion}). Open it with the hotpath version that created it.`,
      );
    case STATUS.alreadyExists:
      return new HotpathError("ALREADY_EXISTS", `${subject}: the name exists already. Open it, or unlink it first.`);
    case STATUS.notFound:
      return new HotpathError("NOT_FOUND", `${subject}: no region of that name exists.`);
    case STATUS.permissionDenied:
      return new HotpathError(
        "PERMISSION_DENIED",
        `${subject}: the file belongs to another user, or others may read or write it (hotpath regions are ` +
          "mode 0600, owned by the user who opens them).",
      );
    case STATUS.noSpace:
      return new HotpathError("NO_SPACE", `${subject}: the file system of the region has too little free space.`);
    case STATUS.unsupported:
      return new HotpathError("UNSUPPORTED", `${subject}: named shared regions are supported on Linux only.`);
    case STATUS.busy:
      return new HotpathError(
        "BUSY",
        `${subject}: another Worker or process has the pool open, and this needs it alone. Close the others first.`,
      );
    case STATUS.invalidPath:
      return new HotpathError("INVALID_ARGUMENT", `${subject}: the path is not a usable absolute file name.`);
    default:
      return new HotpathError("CORRUPTED", `${subject}: the library returned the unknown status ${status}.`);
  }
}

/** The error every method of a closed pool or arena throws. */
export function closedError(subject: string): HotpathError {
  return new HotpathError("CLOSED", `${subject} is closed; create a new one.`);
}

/** The error of a pool or arena whose memory was transferred away; it closes itself. */
export function detachedError(subject: string): HotpathError {
  return new HotpathError(
    "DETACHED",
    `${subject}: its memory's ArrayBuffer was transferred (transfer(), structuredClone or postMessage with a ` +
      "transfer list), so it can no longer reach its blocks. It is closed now; create a new one.",
  );
}
