/**
 * The real facts of a typed array, read through the intrinsic getters captured when this
 * module loads: a subclass that overrides `length`, `byteOffset`, `byteLength` or `buffer`,
 * or an object made with `Object.create(Uint32Array.prototype)`, cannot lie to hotpath
 * (shared/PITFALLS.md 17). A detached or out-of-bounds view has length 0 here.
 *
 * @module
 */

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const apply = Reflect.apply;
/** The argument list of every getter call: one frozen array, so a check allocates nothing. */
const NONE: [] = Object.freeze([]) as [];

function intrinsicGetter(owner: object, key: PropertyKey): (this: unknown) => unknown {
  const getter = Object.getOwnPropertyDescriptor(owner, key)?.get;
  if (getter === undefined) throw new Error(`hotpath: this runtime has no intrinsic ${String(key)} getter`);
  return getter;
}

/** %TypedArray%.prototype[Symbol.toStringTag]: the type name, or undefined for anything else (never throws). */
const tagGetter = intrinsicGetter(typedArrayPrototype, Symbol.toStringTag);
const lengthGetter = intrinsicGetter(typedArrayPrototype, "length");
const byteOffsetGetter = intrinsicGetter(typedArrayPrototype, "byteOffset");
const bufferGetter = intrinsicGetter(typedArrayPrototype, "buffer");
const detachedGetter = intrinsicGetter(ArrayBuffer.prototype, "detached");

/** What hotpath reads of a typed array. */
export interface TypedArrayFacts {
  /** Elements in view now (0 when detached or out of bounds). */
  readonly length: number;
  readonly byteOffset: number;
  readonly buffer: ArrayBufferLike;
  /** True when the buffer is a detached ArrayBuffer. */
  readonly detached: boolean;
}

/** The facts of `value` if it really is a typed array of type `name`; undefined otherwise. */
export function typedArrayFacts(
  value: unknown,
  name: "Uint8Array" | "Uint32Array" | "Int32Array" | "Float64Array",
): TypedArrayFacts | undefined {
  if (apply(tagGetter, value, NONE) !== name) return undefined;
  const buffer = apply(bufferGetter, value, NONE) as ArrayBufferLike;
  return {
    length: apply(lengthGetter, value, NONE) as number,
    byteOffset: apply(byteOffsetGetter, value, NONE) as number,
    buffer,
    detached: isDetached(buffer),
  };
}

/**
 * True when `buffer` is a detached ArrayBuffer (its memory was transferred away); false for a
 * SharedArrayBuffer, which cannot be detached and whose `detached` getter throws. Only that
 * rare case pays for an exception: probing with the shared getter first made every check of an
 * ordinary buffer throw, 7-15 µs each on V8 (measured).
 */
export function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    return apply(detachedGetter, buffer, NONE) === true;
  } catch {
    return false;
  }
}

/** True when `buffer`, an ArrayBuffer hotpath made itself, was transferred away. */
export function isOwnBufferDetached(buffer: ArrayBuffer): boolean {
  return apply(detachedGetter, buffer, NONE) === true;
}
