/**
 * Generates one cursor class per struct layout. Each accessor reads one typed array at a
 * constant offset from the cursor's base, which both engines inline; a closure-based
 * accessor would share one call site between all fields. Field names are checked identifiers
 * (src/struct.ts) and everything else in the source is a number, so the generated code
 * contains nothing from outside.
 *
 * @module
 */
import { ArrayCursor, cursorErrors, type Memory, SHIFT } from "./struct_memory.ts";
import type { FieldInfo, ScalarType } from "./struct.ts";

interface LayoutLike {
  readonly size: number;
  readonly align: number;
  readonly fields: readonly FieldInfo[];
}

type CursorClass = new (memory: Memory) => unknown;

const VIEW: Record<ScalarType, string> = {
  u8: "u8",
  i8: "i8",
  bool: "u8",
  u16: "u16",
  i16: "i16",
  u32: "u32",
  i32: "i32",
  f32: "f32",
  u64: "u64",
  i64: "i64",
  f64: "f64",
};

/** Returns the cursor class for `layout`, generating the classes of nested layouts too. */
export function generateCursorClass(layout: LayoutLike): CursorClass {
  const nested: CursorClass[] = [];
  const members: string[] = [];
  const setup: string[] = [];
  const views = new Set<string>(["u8"]);
  for (const field of layout.fields) {
    const at = `(this.$base + ${field.offset})`;
    if (field.kind === "struct") {
      nested.push(generateCursorClass(field.layout!));
      setup.push(`this.$n_${field.name} = new nested[${nested.length - 1}](memory);`);
      members.push(`get ${field.name}() { return this.$n_${field.name}.at${at}; }`);
    } else if (field.kind === "array") {
      let element = "undefined";
      if (field.element === "struct") {
        nested.push(generateCursorClass(field.layout!));
        element = `new nested[${nested.length - 1}](memory)`;
      }
      const elementSize = field.size / field.length!;
      setup.push(
        `this.$a_${field.name} = new ArrayCursor(memory, "${field.element}", ${field.length}, ${elementSize}, ` +
          `${element}, ${field.align});`,
      );
      members.push(`get ${field.name}() { return this.$a_${field.name}.at${at}; }`);
    } else {
      views.add(VIEW[field.kind]);
      members.push(...scalarAccessors(field, at));
      if (field.kind === "u64" || field.kind === "i64") views.add(field.kind === "u64" ? "u32" : "i32").add("u32");
    }
  }
  const viewSetup = [...views].map((view) => `this.$${view} = memory.${view};`);
  // Internal state is plain `$` properties (field names cannot start with "$"), created in the
  // constructor, the mutable base first: JSC compiles access to class fields, #private or
  // public, 1.5-2x slower (measured), and a Pool sets `$base` directly after checking a handle.
  // at() checks against the live length of the memory: 0 once its buffer was transferred.
  const source = `return class Cursor {
    ${members.join("\n    ")}
    constructor(memory) {
      this.$base = 0;
      ${viewSetup.join("\n      ")}
      ${setup.join("\n      ")}
    }
    at(offset) {
      if (typeof offset !== "number" || (offset >>> 0) !== offset || offset % ${layout.align} !== 0 ||
          offset + ${layout.size} > this.$u8.length) {
        throw errors.offset(offset, ${layout.size}, ${layout.align}, this.$u8.length);
      }
      this.$base = offset;
      return this;
    }
    get offset() { return this.$base; }
  };`;
  const factory = new Function("nested", "ArrayCursor", "errors", source);
  return factory(nested, ArrayCursor, cursorErrors) as CursorClass;
}

/**
 * The condition under which `value` does not fit: each also rejects non-numbers (bigints and
 * Symbols fail the typeof test before any bit operation could throw), NaN and fractions. An f32
 * refuses finite values that would round to Infinity; Infinity and NaN themselves fit.
 */
const MISFIT: Record<ScalarType, string> = {
  u8: 'typeof value !== "number" || (value & 0xFF) !== value',
  i8: 'typeof value !== "number" || ((value << 24) >> 24) !== value',
  u16: 'typeof value !== "number" || (value & 0xFFFF) !== value',
  i16: 'typeof value !== "number" || ((value << 16) >> 16) !== value',
  u32: 'typeof value !== "number" || (value >>> 0) !== value',
  i32: 'typeof value !== "number" || (value | 0) !== value',
  f32: 'typeof value !== "number" || (Number.isFinite(value) && !Number.isFinite(Math.fround(value)))',
  f64: 'typeof value !== "number"',
  bool: 'typeof value !== "boolean"',
  u64: 'typeof value !== "bigint" || BigInt.asUintN(64, value) !== value',
  i64: 'typeof value !== "bigint" || BigInt.asIntN(64, value) !== value',
};

/**
 * Getter and setter of a scalar field. A read of `undefined` or an index past the view means
 * the memory's buffer was detached after `at()`: both throw instead of answering wrongly.
 */
function scalarAccessors(field: FieldInfo, at: string): string[] {
  const type = field.kind as ScalarType;
  const index = `${at} >>> ${SHIFT[type]}`;
  const view = `this.$${VIEW[type]}`;
  const check = `if (${MISFIT[type]}) throw errors.value("${field.name}", "${type}", value);`;
  const read = `const value = ${view}[${index}]; if (value === undefined) throw errors.detached();`;
  const write = (stored: string) =>
    `const index = ${index}; if (index >= ${view}.length) throw errors.detached(); ${view}[index] = ${stored};`;
  if (type === "bool") {
    return [
      `get ${field.name}() { ${read} return value !== 0; }`,
      `set ${field.name}(value) { ${check} ${write("value ? 1 : 0")} }`,
    ];
  }
  const accessors = [
    `get ${field.name}() { ${read} return value; }`,
    `set ${field.name}(value) { ${check} ${write("value")} }`,
  ];
  if (type === "u64" || type === "i64") accessors.push(...numberPath(field, at, type));
  return accessors;
}

/** `<name>AsNumber` for 64-bit integers: exact for safe integers, an error beyond them. */
function numberPath(field: FieldInfo, at: string, type: "u64" | "i64"): string[] {
  const low = `this.$u32[${at} >>> 2]`;
  const highView = type === "u64" ? "this.$u32" : "this.$i32";
  const high = `${highView}[(${at} >>> 2) + 1]`;
  const highMax = 0x1F_FFFF;
  const highMin = type === "u64" ? 0 : -0x20_0000;
  const negativeCheck = type === "u64" ? "|| value < 0" : "";
  return [
    `get ${field.name}AsNumber() {
      const high = ${high};
      if (high === undefined) throw errors.detached();
      if (high > ${highMax} || high < ${highMin}) throw errors.unsafe("${field.name}", this.$${type}[${at} >>> 3]);
      return high * 4294967296 + ${low};
    }`,
    `set ${field.name}AsNumber(value) {
      if (!Number.isSafeInteger(value) ${negativeCheck}) {
        throw errors.value("${field.name}AsNumber", "${type} (safe integer)", value);
      }
      if ((${at} >>> 2) + 1 >= this.$u32.length) throw errors.detached();
      const high = Math.floor(value / 4294967296);
      ${low} = value - high * 4294967296;
      ${high} = high;
    }`,
  ];
}
