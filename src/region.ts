/**
 * The lifetime of a native region seen from JavaScript. One ArrayBuffer is built over the
 * whole mapping, once. `close()` gives the pages back at once but keeps the addresses mapped;
 * the mapping is released only after that ArrayBuffer, and so every view over it, has been
 * garbage collected (shared/PITFALLS.md 1): a view kept after close reads zeros, never crashes.
 *
 * @module
 */
import { loadLibrary, type Native } from "../ffi/library.ts";
import { statusError } from "./errors.ts";

const releaser = new FinalizationRegistry<number>((id) => {
  loadLibrary().symbols.hp_region_release(id);
});

/** A mapped region: its id, one ArrayBuffer over all of it, and its native address. */
export interface MappedRegion {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly address: number;
}

/** Wraps the region of a freshly created id; throws on a negative id (a creation failure). */
export function mapRegion(
  native: Native,
  id: number,
  subject: string,
  exhaustedCode: "POOL_EXHAUSTED" | "ARENA_FULL",
): MappedRegion {
  if (id < 0) throw statusError(id, subject, exhaustedCode);
  const pointer = native.symbols.hp_region_base(id);
  const byteLength = native.symbols.hp_region_bytes(id);
  const buffer = native.arrayBuffer(pointer, byteLength);
  releaser.register(buffer, id);
  return { id, buffer, address: native.address(pointer) };
}

/** Returns the region's pages to the kernel; the mapping waits for the garbage collector. */
export function closeRegion(native: Native, id: number): void {
  native.symbols.hp_region_close(id);
}

/** Regions currently mapped by this process, live or closed and awaiting collection. */
export function regionsMapped(): number {
  return loadLibrary().symbols.hp_regions_mapped();
}
