/**
 * `struct`: C-compatible record layouts and zero-allocation cursors over native memory.
 *
 * A schema lists fields in order; the layout follows C rules (natural alignment, padding,
 * size rounded up to the struct's alignment), so a Zig `extern struct` or a C struct with
 * the same fields reads the same bytes. A cursor is one reusable object per memory region:
 * `cursor.at(offset)` moves it, and its getters and setters read and write typed arrays at
 * constant offsets, allocating nothing (except BigInts for 64-bit integer fields).
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { describe } from "./validate.ts";
import { type ArrayCursor, type ArrayElement, type Memory, memoryOf } from "./struct_memory.ts";
import { generateCursorClass } from "./struct_codegen.ts";

/** Scalar field types and their C equivalents (bool is one byte, 0 or 1). */
export type ScalarType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "f32" | "f64" | "bool";

/** A field: a scalar, a nested struct, or a fixed-length array of either. */
export type FieldType =
  | ScalarType
  // deno-lint-ignore no-explicit-any
  | StructLayout<any>
  // deno-lint-ignore no-explicit-any
  | readonly [ScalarType | StructLayout<any>, number];

/** Field names mapped to field types, in layout order. */
export type Schema = Record<string, FieldType>;

/** Scalar types read and written as numbers. */
export type NumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
/** Scalar types read and written as bigints (and as numbers through `<name>AsNumber`). */
export type BigType = "u64" | "i64";

/** What reading a field gives. */
export type FieldValue<T> = T extends NumberType ? number
  : T extends BigType ? bigint
  : T extends "bool" ? boolean
  : T extends StructLayout<infer Inner> ? StructCursor<Inner>
  : T extends readonly [infer Element, number] ? ArrayCursor<ElementValue<Element>>
  : never;

/** What reading one element of an array field gives. */
export type ElementValue<E> = E extends NumberType ? number
  : E extends BigType ? bigint
  : E extends "bool" ? boolean
  : E extends StructLayout<infer Inner> ? StructCursor<Inner>
  : never;

/** The nested-struct and array fields of a cursor: cursors themselves, not assignable. */
export type ReadonlyFields<S extends Schema> = {
  [K in keyof S as S[K] extends StructLayout<Schema> | readonly [unknown, number] ? K : never]: FieldValue<S[K]>;
};
/** The scalar fields of a cursor, read and written in place. */
export type WritableFields<S extends Schema> = {
  -readonly [K in keyof S as S[K] extends StructLayout<Schema> | readonly [unknown, number] ? never : K]: FieldValue<
    S[K]
  >;
};
/** `<name>AsNumber` for every 64-bit integer field: safe integers as numbers. */
export type NumberPaths<S extends Schema> = {
  -readonly [K in keyof S as S[K] extends BigType ? `${K & string}AsNumber` : never]: number;
};

/**
 * Typed access to one record. Scalar fields read and write in place; 64-bit integer fields
 * read and write as bigint, and as number through `<name>AsNumber` (safe integers only).
 * Nested structs and arrays are cursors themselves, moved with their parent.
 */
export type StructCursor<S extends Schema> =
  & Readonly<ReadonlyFields<S>>
  & WritableFields<S>
  & NumberPaths<S>
  & {
    /** Moves the cursor to the record at byte `offset` of its memory; returns the cursor. */
    at(offset: number): StructCursor<S>;
    /** Byte offset of the current record. */
    readonly offset: number;
  };

/** One field of a layout: where it is and what it holds. */
export interface FieldInfo {
  /** The field's name in the schema. */
  readonly name: string;
  /** Byte offset from the start of the record. */
  readonly offset: number;
  /** Bytes the field takes (all elements for arrays). */
  readonly size: number;
  /** The field's alignment: its scalar size, or its struct's alignment. */
  readonly align: number;
  /** A scalar type name, "struct", or "array". */
  readonly kind: ScalarType | "struct" | "array";
  /** For arrays: the number of elements. */
  readonly length?: number;
  /** For arrays: the element type. */
  readonly element?: ScalarType | "struct";
  /** For structs and arrays of structs: the nested layout. */
  // deno-lint-ignore no-explicit-any
  readonly layout?: StructLayout<any>;
}

/** Sizes of scalar types; their alignment is their size. */
export const SCALAR_SIZES: Readonly<Record<ScalarType, number>> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

const RESERVED = new Set(["at", "offset", "constructor", "prototype", "__proto__", "toString", "valueOf"]);
const ARRAY_LENGTH_MAX = 1 << 20;
/** A JavaScript identifier that does not start with "$" (cursors keep their own state in `$` names). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** A computed layout: size, alignment, fields, and cursors over memory. */
export class StructLayout<S extends Schema> {
  /** Bytes of one record, a multiple of `align`. */
  declare readonly size: number;
  /** Alignment of the record: the largest field alignment. */
  declare readonly align: number;
  /** Every field in layout order. */
  readonly fields: readonly FieldInfo[];
  #byName: Map<string, FieldInfo>;
  #cursorClass: (new (memory: Memory) => unknown) | undefined;

  /** Use `struct(schema)`. */
  constructor(schema: S) {
    if (typeof schema !== "object" || schema === null || Object.keys(schema).length === 0) {
      throw new HotpathError("INVALID_ARGUMENT", "struct: the schema must be an object with at least one field.");
    }
    const fields: FieldInfo[] = [];
    let offset = 0;
    let align = 1;
    for (const [name, type] of Object.entries(schema)) {
      const field = describeField(name, type, offset);
      checkName(name, schema);
      fields.push(field);
      offset = field.offset + field.size;
      align = Math.max(align, field.align);
    }
    // Fixed for good: a subclass cannot make a pool's records overlap by redefining them.
    const fixed = { writable: false, configurable: false, enumerable: true };
    Object.defineProperty(this, "size", { ...fixed, value: Math.ceil(offset / align) * align });
    Object.defineProperty(this, "align", { ...fixed, value: align });
    this.fields = Object.freeze(fields.map((field) => Object.freeze(field)));
    this.#byName = new Map(fields.map((field) => [field.name, field]));
  }

  /**
   * True for a layout made by `struct(...)` (or `new StructLayout`): a brand check that a Proxy
   * or an object that merely inherits from StructLayout does not pass.
   */
  static isLayout(value: unknown): value is StructLayout<Schema> {
    return typeof value === "object" && value !== null && #byName in value;
  }

  /** Byte offset of field `name`. */
  offsetOf(name: keyof S & string): number {
    const field = this.#byName.get(name);
    if (field === undefined) throw new HotpathError("INVALID_ARGUMENT", `struct: no field named ${describe(name)}.`);
    return field.offset;
  }

  /**
   * A reusable cursor over `bytes` (for example `pool.bytes` or `arena.bytes`), positioned with
   * `at(offset)`. `bytes` must start at a multiple of the layout's alignment.
   */
  cursor(bytes: Uint8Array): StructCursor<S> {
    const memory = memoryOf(bytes, this.align);
    this.#cursorClass ??= generateCursorClass(this) as new (memory: Memory) => unknown;
    return new this.#cursorClass(memory) as StructCursor<S>;
  }
}

/**
 * Computes the C layout of a record.
 *
 * @example
 * ```ts
 * import { struct } from "@hotpath/core";
 * const Order = struct({ id: "u64", price: "f64", qty: "u32", side: "u8", symbol: ["u8", 8] });
 * console.log(Order.size, Order.align, Order.offsetOf("qty")); // 32 8 16
 * ```
 */
export function struct<const S extends Schema>(schema: S): StructLayout<S> {
  return new StructLayout(schema);
}

function describeField(name: string, type: FieldType, offset: number): FieldInfo {
  if (typeof type === "string") {
    // Own properties only: "toString" or "constructor" are not field types.
    if (!Object.hasOwn(SCALAR_SIZES, type)) throw badType(name, type);
    const size = SCALAR_SIZES[type];
    return { name, offset: alignUp(offset, size), size, align: size, kind: type };
  }
  if (StructLayout.isLayout(type)) {
    return {
      name,
      offset: alignUp(offset, type.align),
      size: type.size,
      align: type.align,
      kind: "struct",
      layout: type,
    };
  }
  if (Array.isArray(type) && type.length === 2) {
    const [element, length] = type as readonly [ArrayElement, number];
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1 || length > ARRAY_LENGTH_MAX) {
      throw new HotpathError(
        "INVALID_ARGUMENT",
        `struct: field "${name}" has array length ${
          describe(length)
        }; it must be an integer from 1 to ${ARRAY_LENGTH_MAX}.`,
      );
    }
    const inner = describeField(name, element as FieldType, 0);
    if (inner.kind === "array") throw badType(name, type);
    return {
      name,
      offset: alignUp(offset, inner.align),
      size: inner.size * length,
      align: inner.align,
      kind: "array",
      length,
      element: inner.kind === "struct" ? "struct" : inner.kind,
      layout: inner.layout,
    };
  }
  throw badType(name, type);
}

function checkName(name: string, schema: Schema): void {
  if (!IDENTIFIER.test(name) || RESERVED.has(name)) {
    throw new HotpathError(
      "INVALID_ARGUMENT",
      `struct: "${name}" cannot be a field name: use a JavaScript identifier that does not start with "$", ` +
        `other than ${[...RESERVED].join(", ")}.`,
    );
  }
  const base = name.endsWith("AsNumber") ? name.slice(0, -"AsNumber".length) : undefined;
  if (base !== undefined && (schema[base] === "u64" || schema[base] === "i64")) {
    throw new HotpathError("INVALID_ARGUMENT", `struct: "${name}" collides with the number path of field "${base}".`);
  }
}

function badType(name: string, type: unknown): HotpathError {
  return new HotpathError(
    "INVALID_ARGUMENT",
    `struct: field "${name}" has type ${describe(type)}; use one of ` +
      `${Object.keys(SCALAR_SIZES).join(", ")}, a struct, or [type, length].`,
  );
}

function alignUp(offset: number, align: number): number {
  return Math.ceil(offset / align) * align;
}
