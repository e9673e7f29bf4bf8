/**
 * A native region seen from JavaScript: its id, one ArrayBuffer over the whole mapping and
 * its address. The buffer comes from the library's Node-API side and holds the mapping: the
 * library unmaps it only once the engine has freed that buffer's backing store (after any
 * transfer) and the region is closed, or once every holder is gone. So no view over a region
 * can outlive its mapping (shared/PITFALLS.md 1, 17), and a pool that was never closed, or
 * whose Worker ended, is released all the same. `close()` returns the pages at once: views
 * kept after it read zeros.
 *
 * @module
 */
import { type Native, openNative } from "../ffi/library.ts";
import { ARENA_CONFIG, LIMITS, POOL_CONFIG } from "../ffi/abi.generated.ts";
import { HotpathError } from "./errors.ts";
import { type ResolvedPlacement, writePlacement } from "./placement.ts";
import { claimRequest, creationError, rememberRequest } from "./placement_report.ts";

/** A mapped region: its id, one ArrayBuffer over all of it, and its native address. */
export interface MappedRegion {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly address: number;
}

/** The options of a pool region, as zig/src/abi/config.zig's PoolConfig. */
export interface PoolConfig {
  blockSize: number;
  capacity: number;
  capacityMax: number;
  growChunk: number;
  alignment: number;
  placement: ResolvedPlacement;
}

/** The options of an arena region, as zig/src/abi/config.zig's ArenaConfig. */
export interface ArenaConfig {
  capacity: number;
  alignment: number;
  placement: ResolvedPlacement;
}

function configBytes(offsets: Record<string, number>, config: PoolConfig | ArenaConfig): Uint8Array {
  const bytes = new Uint8Array(LIMITS.configBytes);
  const words = new Uint32Array(bytes.buffer);
  words[offsets.configBytes >>> 2] = LIMITS.configBytes;
  const { placement, ...numbers } = config;
  for (const [name, value] of Object.entries(numbers)) words[offsets[name] >>> 2] = value;
  writePlacement(words, offsets.placement, placement);
  return bytes;
}

/** A PoolConfig as the bytes hp_pool_create reads. */
export function poolConfigBytes(config: PoolConfig): Uint8Array {
  return configBytes(POOL_CONFIG, config);
}

/** Creates a pool region; throws what the library refused (checked options make that rare). */
export function createPoolRegion(native: Native, config: PoolConfig, subject: string): MappedRegion {
  const bytes = poolConfigBytes(config);
  const id = native.symbols.hp_pool_create(bytes, bytes.length);
  return mapRegion(native, id, subject, "POOL_EXHAUSTED", config.placement);
}

/** Creates an arena region. */
export function createArenaRegion(native: Native, config: ArenaConfig, subject: string): MappedRegion {
  const bytes = configBytes(ARENA_CONFIG, config);
  const id = native.symbols.hp_arena_create(bytes, bytes.length);
  return mapRegion(native, id, subject, "ARENA_FULL", config.placement);
}

function mapRegion(
  native: Native,
  id: number,
  subject: string,
  exhaustedCode: "POOL_EXHAUSTED" | "ARENA_FULL",
  placement: ResolvedPlacement,
): MappedRegion {
  if (id < 0) throw creationError(native, id, subject, exhaustedCode, placement);
  const buffer = native.regionBuffer(id);
  if (buffer === undefined) {
    native.symbols.hp_region_close(id);
    throw new HotpathError("CORRUPTED", `${subject}: the library gave no memory for region ${id} it just created.`);
  }
  rememberRequest(id, placement);
  claimRequest(id, buffer);
  return { id, buffer, address: native.symbols.hp_region_address(id) };
}

/** Returns the region's pages to the kernel; the mapping goes with the last view of it. */
export function closeRegion(native: Native, id: number): void {
  native.symbols.hp_region_close(id);
}

/** Regions currently mapped by this process, live or closed and awaiting collection. */
export function regionsMapped(): number {
  return openNative().symbols.hp_regions_mapped();
}
