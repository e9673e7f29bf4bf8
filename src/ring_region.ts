/**
 * The native side of a Ring as TypeScript sees it: creating, opening and attaching its region,
 * this object's attachment number (its roles go with its buffer), and reading the geometry
 * and counters the library validated. Every failure becomes a HotpathError.
 *
 * @module
 */
import type { Native } from "../ffi/library.ts";
import { RING_CONFIG, RING_GEOMETRY, RING_ROLE_INFO, RING_STATS, STATUS } from "../ffi/abi.generated.ts";
import { HotpathError, statusError } from "./errors.ts";
import { f64Record } from "./header_words.ts";
import { KIND_CODES, type RingSettings } from "./ring_options.ts";
import { writePlacement } from "./placement.ts";
import { claimRequest, creationError, rememberRequest } from "./placement_report.ts";

/** The geometry of an attached ring, as the library validated it (never re-read from the region). */
export interface RingGeometry {
  kind: number;
  slotBytes: number;
  slotAlign: number;
  capacity: number;
  rolesMax: number;
  policy: number;
  unblockTimeoutMs: number;
  slotStride: number;
  payloadOffset: number;
  rolesOffset: number;
  slotsOffset: number;
  regionBytes: number;
}

/** One Ring object's hold on a region: id, attachment number, buffer and geometry. */
export interface RingHold {
  id: number;
  attachment: number;
  buffer: ArrayBuffer;
  geometry: RingGeometry;
}

const encoder = new TextEncoder();

/** Creates a ring region (anonymous, or the new file `path`); returns its id. */
export function createRing(native: Native, settings: RingSettings, subject: string): number {
  const bytes = new Uint8Array(RING_CONFIG.size);
  const words = new Uint32Array(bytes.buffer);
  words[RING_CONFIG.configBytes >>> 2] = RING_CONFIG.size;
  words[RING_CONFIG.kind >>> 2] = KIND_CODES[settings.kind];
  words[RING_CONFIG.slotBytes >>> 2] = settings.slotBytes;
  words[RING_CONFIG.slotAlign >>> 2] = settings.slotAlign;
  words[RING_CONFIG.capacity >>> 2] = settings.capacity;
  words[RING_CONFIG.rolesMax >>> 2] = settings.maxRoles;
  words[RING_CONFIG.policy >>> 2] = settings.policy === "drop" ? 1 : 0;
  words[RING_CONFIG.unblockTimeoutMs >>> 2] = settings.unblockTimeoutMs;
  writePlacement(words, RING_CONFIG.placement, settings.placement);
  const path = settings.path === undefined ? null : encoder.encode(settings.path);
  const id = native.symbols.hp_ring_create(bytes, bytes.length, path, path?.length ?? 0);
  if (id < 0) {
    const named = settings.path === undefined ? subject : `${subject} ${settings.path}`;
    throw creationError(native, id, named, "NO_SPACE", settings.placement);
  }
  rememberRequest(id, settings.placement);
  return id;
}

/** Opens the named ring at `path` (a new mapping in this process); returns its id. */
export function openRing(native: Native, path: string, subject: string): number {
  const encoded = encoder.encode(path);
  const id = native.symbols.hp_ring_open(encoded, encoded.length);
  if (id < 0) throw statusError(id, `${subject} ${path}`, "NO_SPACE");
  return id;
}

/** Adds this realm to ring `id` of this process; false if it is no longer open here. */
export function attachRing(native: Native, id: number): boolean {
  return native.symbols.hp_ring_attach(id) === STATUS.ok;
}

/** True when `path` names the file of ring `id` (a descriptor's path is believed only then). */
export function ringPathMatches(native: Native, id: number, path: string): boolean {
  const encoded = encoder.encode(path);
  return native.symbols.hp_ring_path_matches(id, encoded, encoded.length) === 1;
}

/** Takes an attachment number and builds this object's buffer over region `id` (attached). */
export function holdRing(native: Native, id: number, subject: string): RingHold {
  const attachment = native.symbols.hp_ring_attachment(id);
  const buffer = attachment > 0 ? native.regionBuffer(id, attachment) : undefined;
  if (buffer === undefined) {
    native.symbols.hp_region_close(id);
    throw new HotpathError("CLOSED", `${subject}: the ring closed while it was being attached.`);
  }
  claimRequest(id, buffer);
  return { id, attachment, buffer, geometry: readGeometry(native, id, subject) };
}

function readGeometry(native: Native, id: number, subject: string): RingGeometry {
  const out = new Float64Array(RING_GEOMETRY.size / 8);
  const status = native.symbols.hp_ring_geometry(id, out, out.byteLength);
  if (status < 0) throw statusError(status, subject, "NO_SPACE");
  return f64Record(RING_GEOMETRY, out) as unknown as RingGeometry;
}

/** The ring's counters, keyed as in RING_STATS. */
export type RingCounters = ReturnType<typeof f64Record<typeof RING_STATS>>;

export function readRingCounters(native: Native, id: number, subject: string): RingCounters {
  const out = new Float64Array(RING_STATS.size / 8);
  const status = native.symbols.hp_ring_stats(id, out, out.byteLength);
  if (status < 0) throw statusError(status, subject, "NO_SPACE");
  return f64Record(RING_STATS, out);
}

/** Role slot `index` as the library reads it, or undefined when it is free. */
export function readRole(
  native: Native,
  id: number,
  index: number,
): ReturnType<typeof f64Record<typeof RING_ROLE_INFO>> | undefined {
  const out = new Float64Array(RING_ROLE_INFO.size / 8);
  if (native.symbols.hp_ring_role_info(id, index, out, out.byteLength) < 0) return undefined;
  if (out[RING_ROLE_INFO.state / 8] !== 1) return undefined;
  return f64Record(RING_ROLE_INFO, out);
}
