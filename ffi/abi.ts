/**
 * Checks, when the library loads, that it was built from the same Zig sources as
 * ffi/abi.generated.ts: same ABI version, same fingerprint, and the same value for every
 * named entry. A mismatch is an error at startup, never silent corruption.
 *
 * @module
 */
import { HotpathError } from "./errors.ts";
import { ABI_FINGERPRINT, ABI_TABLE, LIMITS } from "./abi.generated.ts";

/** What the check reads from the library. */
export interface AbiSource {
  hp_abi_version(): number;
  hp_abi_fingerprint(): number;
  hp_layout_count(): number;
  hp_layout_value(index: number): number;
}

/** Throws ABI_MISMATCH or LAYOUT_MISMATCH unless the library at `path` matches the mirror. */
export function verifyAbi(path: string, library: AbiSource): void {
  const version = library.hp_abi_version();
  if (version !== LIMITS.abiVersion) {
    throw new HotpathError(
      "ABI_MISMATCH",
      `${path} has ABI version ${version}, this module needs ${LIMITS.abiVersion}. Rebuild it: node scripts/setup.mjs.`,
    );
  }
  const problems: string[] = [];
  const count = library.hp_layout_count();
  if (count !== ABI_TABLE.length) problems.push(`the library has ${count} entries, TypeScript ${ABI_TABLE.length}`);
  ABI_TABLE.forEach(([name, value], index) => {
    const native = library.hp_layout_value(index);
    if (native !== value) problems.push(`${name}: library ${native}, TypeScript ${value}`);
  });
  const fingerprint = library.hp_abi_fingerprint();
  if (problems.length === 0 && fingerprint !== ABI_FINGERPRINT) {
    problems.push(`an entry was renamed (fingerprint ${fingerprint}, TypeScript ${ABI_FINGERPRINT})`);
  }
  if (problems.length > 0) {
    throw new HotpathError(
      "LAYOUT_MISMATCH",
      `The library at ${path} was built from other sources than ffi/abi.generated.ts (${problems.join("; ")}). ` +
        "Rebuild it from this checkout: node scripts/setup.mjs.",
    );
  }
}
