/**
 * The typed-array views that struct cursors read through, the value checks their setters
 * share, and the cursor for array fields.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { describe } from "./validate.ts";
import { typedArrayFacts } from "./typed_arrays.ts";

/** Every typed view over one memory region, built once and shared by its cursors. */
export interface Memory {
  readonly byteLength: number;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly u64: BigUint64Array;
  readonly i64: BigInt64Array;
}

// Cursors read multi-byte fields through typed arrays, which use the platform's byte order;
// C layouts on x86_64 and aarch64 are little-endian, and so must this be.
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
  throw new HotpathError("UNSUPPORTED_RUNTIME", "hotpath structs need a little-endian platform.");
}

/** Every Memory built by `memoryOf`: ArrayCursor accepts no other. */
const memories = new WeakSet<object>();

/** True when `memory` was built by `memoryOf`. */
export function isMemory(memory: unknown): memory is Memory {
  return typeof memory === "object" && memory !== null && memories.has(memory);
}

/**
 * Builds fresh views over the real memory of `bytes` (read through the intrinsic getters, so
 * a subclass cannot lie about it); it must start at a multiple of 8 (pool and arena memory does).
 */
export function memoryOf(bytes: Uint8Array, align: number): Memory {
  const facts = typedArrayFacts(bytes, "Uint8Array");
  if (facts === undefined || facts.detached) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `struct cursor: memory must be a Uint8Array over memory that was not transferred; got ${describe(bytes)}.`,
    );
  }
  const { buffer, byteOffset, length: byteLength } = facts;
  if (byteOffset % 8 !== 0 || byteOffset % align !== 0) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `struct cursor: memory must start at a multiple of 8 bytes in its buffer; it starts at ${byteOffset}.`,
    );
  }
  const count = (size: number) => Math.floor(byteLength / size);
  const memory = {
    byteLength,
    u8: new Uint8Array(buffer, byteOffset, byteLength),
    i8: new Int8Array(buffer, byteOffset, byteLength),
    u16: new Uint16Array(buffer, byteOffset, count(2)),
    i16: new Int16Array(buffer, byteOffset, count(2)),
    u32: new Uint32Array(buffer, byteOffset, count(4)),
    i32: new Int32Array(buffer, byteOffset, count(4)),
    f32: new Float32Array(buffer, byteOffset, count(4)),
    f64: new Float64Array(buffer, byteOffset, count(8)),
    u64: new BigUint64Array(buffer, byteOffset, count(8)),
    i64: new BigInt64Array(buffer, byteOffset, count(8)),
  };
  memories.add(memory);
  return memory;
}

/** The errors generated cursors throw; kept here so the generated code stays small. */
export const cursorErrors = {
  offset(offset: unknown, size: number, align: number, byteLength: number): HotpathError {
    if (byteLength === 0) return cursorErrors.detached();
    return new HotpathError(
      "INVALID_ARGUMENT",
      `struct cursor: offset ${describe(offset)} does not hold a record of ${size} bytes aligned to ${align} ` +
        `in ${byteLength} bytes of memory.`,
    );
  },
  value(field: string, type: string, value: unknown): HotpathError {
    return new HotpathError(
      "INVALID_ARGUMENT",
      `struct cursor: ${describe(value)} (${typeof value}) does not fit field "${field}" of type ${type}.`,
    );
  },
  detached(): HotpathError {
    return new HotpathError(
      "INVALID_ARGUMENT",
      "struct cursor: its memory is gone: the ArrayBuffer was transferred (or its pool closed). Take a new cursor.",
    );
  },
  unsafe(field: string, value: bigint): HotpathError {
    return new HotpathError(
      "OUT_OF_RANGE",
      `struct cursor: field "${field}" holds ${value}, beyond 2^53: read it as a bigint (without AsNumber).`,
    );
  },
};

/** Any typed array, read and written by index. */
type Indexed = { [index: number]: unknown; readonly length: number };

/** Element types of array fields: a scalar type or a nested struct. */
export type ArrayElement = string | { readonly size: number; readonly align: number };

/** Whether `value` fits a scalar field of `type` (the check every setter makes). */
export function fits(type: string, value: unknown): boolean {
  switch (type) {
    case "u8":
      return typeof value === "number" && (value & 0xFF) === value;
    case "i8":
      return typeof value === "number" && ((value << 24) >> 24) === value;
    case "u16":
      return typeof value === "number" && (value & 0xFFFF) === value;
    case "i16":
      return typeof value === "number" && ((value << 16) >> 16) === value;
    case "u32":
      return typeof value === "number" && (value >>> 0) === value;
    case "i32":
      return typeof value === "number" && (value | 0) === value;
    case "f32":
      return typeof value === "number" && !(Number.isFinite(value) && !Number.isFinite(Math.fround(value)));
    case "f64":
      return typeof value === "number";
    case "bool":
      return typeof value === "boolean";
    case "u64":
      return typeof value === "bigint" && BigInt.asUintN(64, value) === value;
    case "i64":
      return typeof value === "bigint" && BigInt.asIntN(64, value) === value;
    default:
      return false;
  }
}

/** log2 of each scalar's size: a byte offset shifted right by it indexes that scalar's typed array. */
export const SHIFT: Readonly<Record<string, number>> = {
  u8: 0,
  i8: 0,
  bool: 0,
  u16: 1,
  i16: 1,
  u32: 2,
  i32: 2,
  f32: 2,
  u64: 3,
  i64: 3,
  f64: 3,
};

/**
 * A fixed-length array field, moved with its record: `get(i)`, `set(i, value)` and, for u8
 * arrays, `getString()`/`setString()` (ASCII, zero-padded). Struct elements: `get(i)` returns
 * the element's cursor.
 */
export class ArrayCursor<T> {
  /** Number of elements. */
  readonly length: number;
  #memory: Memory;
  #type: string;
  #view: Indexed;
  #shift: number;
  #elementSize: number;
  #elementAlign: number;
  #element: { at(offset: number): unknown } | undefined;
  #base = 0;

  /** Built by generated cursors; `memory` must come from a layout's `cursor()`. */
  constructor(
    memory: Memory,
    type: string,
    length: number,
    elementSize: number,
    element?: { at(offset: number): unknown },
    elementAlign: number = elementSize,
  ) {
    if (!isMemory(memory) || !Object.hasOwn(SHIFT, type) || !Number.isSafeInteger(length) || length < 1) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        "ArrayCursor: array cursors come with struct cursors (layout.cursor(bytes)); they cannot be built alone.",
      );
    }
    this.#memory = memory;
    this.#type = type;
    this.length = length;
    this.#elementSize = elementSize;
    this.#elementAlign = elementAlign;
    this.#element = element;
    this.#shift = SHIFT[type] ?? 0;
    const views: Record<string, Indexed> = { ...memory, bool: memory.u8 } as unknown as Record<string, Indexed>;
    this.#view = views[type] ?? memory.u8;
  }

  /** Moves to the array at byte `offset` (its record's cursor calls this). */
  at(offset: number): this {
    const memoryLength = this.#memory.u8.length;
    if (
      typeof offset !== "number" || (offset >>> 0) !== offset || offset % this.#elementAlign !== 0 ||
      offset + this.length * this.#elementSize > memoryLength
    ) {
      throw cursorErrors.offset(offset, this.length * this.#elementSize, this.#elementAlign, memoryLength);
    }
    this.#base = offset;
    return this;
  }

  /** Element `index`. */
  get(index: number): T {
    this.#check(index);
    if (this.#element !== undefined) return this.#element.at(this.#base + index * this.#elementSize) as T;
    const value = this.#view[(this.#base >>> this.#shift) + index];
    if (value === undefined) throw cursorErrors.detached();
    return (this.#type === "bool" ? value !== 0 : value) as T;
  }

  /** Sets element `index` (not for struct elements: write through `get(index)`). */
  set(index: number, value: T): void {
    this.#check(index);
    if (this.#element !== undefined || !fits(this.#type, value)) {
      throw cursorErrors.value(`[${index}]`, this.#type, value);
    }
    const at = (this.#base >>> this.#shift) + index;
    if (at >= this.#view.length) throw cursorErrors.detached();
    this.#view[at] = this.#type === "bool" ? (value ? 1 : 0) : value;
  }

  /** The bytes up to the first zero as ASCII (u8 arrays). Allocates the string. */
  getString(): string {
    this.#requireBytes();
    const bytes = this.#memory.u8;
    if (this.#base + this.length > bytes.length) throw cursorErrors.detached();
    let text = "";
    for (let index = 0; index < this.length; index++) {
      const byte = bytes[this.#base + index];
      if (byte === 0) break;
      text += String.fromCharCode(byte);
    }
    return text;
  }

  /** Writes ASCII `text` and zero-fills the rest (u8 arrays); throws if it is longer or not ASCII. */
  setString(text: string): void {
    this.#requireBytes();
    // deno-lint-ignore no-control-regex
    if (typeof text !== "string" || text.length > this.length || !/^[\x00-\x7F]*$/.test(text)) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `struct cursor: ${describe(text)} is not ASCII of at most ${this.length} characters.`,
      );
    }
    const bytes = this.#memory.u8;
    if (this.#base + this.length > bytes.length) throw cursorErrors.detached();
    for (let index = 0; index < this.length; index++) {
      bytes[this.#base + index] = index < text.length ? text.charCodeAt(index) : 0;
    }
  }

  #check(index: number): void {
    if (typeof index !== "number" || (index >>> 0) !== index || index >= this.length) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `struct cursor: index ${describe(index)} is outside the array (0 to ${this.length - 1}).`,
      );
    }
  }

  #requireBytes(): void {
    if (this.#type !== "u8") {
      throw new HotpathError("INVALID_ARGUMENT", `struct cursor: strings need a u8 array; this one is ${this.#type}.`);
    }
  }
}
