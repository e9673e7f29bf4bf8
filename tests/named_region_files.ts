/**
 * Forging named region files for the hostile-file tests of Ring.open
 * (tests/ring_adversarial_test.ts) and SharedPool.open (tests/shared_region_hostile_test.ts):
 * private directories, files of any mode, patched and resized copies of a valid region, and the
 * header variants that must read as CORRUPTED.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new directory of mode 0700 under /dev/shm if node:fs may reach it, else under the temporary directory. */
export function privateDirectory(prefix: string): string {
  try {
    return mkdtempSync(`/dev/shm/${prefix}`);
  } catch {
    return mkdtempSync(join(tmpdir(), prefix));
  }
}

/** Runs `body` with a private directory, removed afterwards whatever happens. */
export function inDirectory(prefix: string, body: (directory: string) => void): void {
  const directory = privateDirectory(prefix);
  try {
    body(directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

let forged = 0;

/** Writes `bytes` to a new file of `mode` in `directory`; returns its path. */
export function forge(directory: string, bytes: Uint8Array, mode = 0o600): string {
  const path = join(directory, `forged-${forged++}`);
  writeFileSync(path, bytes, { mode });
  chmodSync(path, mode); // writeFileSync's mode passes through the umask
  return path;
}

/** A copy of `bytes` changed by `change` (through a DataView over the copy). */
export function patched(bytes: Uint8Array, change: (view: DataView, copy: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  change(new DataView(copy.buffer), copy);
  return copy;
}

/** Bytes of `bytes` resized to `length` (zero-filled past the end). */
export function resized(bytes: Uint8Array, length: number): Uint8Array {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(0, Math.min(length, bytes.length)));
  return copy;
}

export type Variant = readonly [label: string, bytes: Uint8Array];

/** Asserts that each variant, written to a fresh 0600 file, opens (`openOutcome`) with one of `expected`. */
export function expectOpen(
  directory: string,
  variants: readonly Variant[],
  expected: string | readonly string[],
  openOutcome: (path: string) => string,
): void {
  const accepted = typeof expected === "string" ? [expected] : expected;
  const misses: string[] = [];
  for (const [label, bytes] of variants) {
    const path = forge(directory, bytes);
    const got = openOutcome(path);
    if (!accepted.includes(got)) misses.push(`${label}: ${got}`);
    rmSync(path, { force: true });
  }
  assert.deepEqual(misses, [], `expected ${accepted.join(" or ")}`);
}

/** Hostile values for a u32 field that holds `value`. */
export function hostileWords(value: number): number[] {
  const candidates = [0, 1, value + 1, value - 1, value * 2, value >>> 1, 0x7fffffff, 0x80000000, 0xffffffff];
  return [...new Set(candidates.map((candidate) => candidate >>> 0))].filter((candidate) => candidate !== value);
}

/**
 * Variants of a valid region file whose header is not ready or disagrees with its geometry: the
 * ready word 0 and off by one, each of `fields` (u32) set to hostile values, region_bytes wrong,
 * and region_bytes matching a file grown by a page. Each must be refused as CORRUPTED.
 */
export function corruptedVariants(
  template: Uint8Array,
  header: { ready: number; regionBytes: number } & Record<string, number>,
  readyValue: number,
  fields: readonly string[],
  pageBytes: number,
): Variant[] {
  const view = new DataView(template.buffer);
  const variants: Variant[] = [
    ["ready 0 (the creator is still formatting)", patched(template, (v) => v.setUint32(header.ready, 0, true))],
    ["ready off by one", patched(template, (v) => v.setUint32(header.ready, readyValue - 1, true))],
  ];
  for (const field of fields) {
    const offset = header[field];
    for (const value of hostileWords(view.getUint32(offset, true))) {
      variants.push([`${field} ${value}`, patched(template, (v) => v.setUint32(offset, value, true))]);
    }
  }
  const regionBytes = view.getBigUint64(header.regionBytes, true);
  for (const value of [0n, regionBytes - 4096n, regionBytes + 4096n, 1n << 32n, (1n << 64n) - 1n]) {
    variants.push([`regionBytes ${value}`, patched(template, (v) => v.setBigUint64(header.regionBytes, value, true))]);
  }
  // A region_bytes that matches a resized file: still refused, the other fields and the hash disagree.
  const grown = resized(template, template.length + pageBytes);
  new DataView(grown.buffer).setBigUint64(header.regionBytes, BigInt(grown.length), true);
  variants.push(["regionBytes and the file grown by a page together", grown]);
  return variants;
}
