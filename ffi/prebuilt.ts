/**
 * Prebuilt libraries: which one this host needs, and, for a package that is not on the file
 * system (imported from JSR or any https URL), fetching it from the package itself, checking
 * its SHA-256 against ffi/prebuilt.generated.ts and caching it so that later runs work offline.
 *
 * The cache is `$HOTPATH_CACHE_DIR`, else Deno's cache directory (`$DENO_DIR`,
 * `$XDG_CACHE_HOME/deno`, `~/Library/Caches/deno` on macOS, `~/.cache/deno`), under
 * `hotpath/<sha256>/`: a file there is what its name promises, whatever hotpath version asks.
 *
 * @module
 */
import process from "node:process";
import { adapter } from "./runtime.ts";
import { PREBUILT, type PrebuiltLibrary } from "./prebuilt.generated.ts";

/** This host's platform as the prebuilt libraries name it; `HOTPATH_PLATFORM` overrides it. */
export function hostPlatform(): string {
  const override = adapter.env("HOTPATH_PLATFORM");
  if (override) return override;
  const musl = process.platform === "linux" &&
    (adapter.fileExists("/lib/ld-musl-x86_64.so.1") || adapter.fileExists("/lib/ld-musl-aarch64.so.1"));
  return `${process.platform}-${process.arch}${musl ? "-musl" : ""}`;
}

/** The prebuilt library for this host, or undefined. */
export function prebuiltForHost(): PrebuiltLibrary | undefined {
  return Object.hasOwn(PREBUILT, hostPlatform()) ? PREBUILT[hostPlatform()] : undefined;
}

/** Why no prebuilt library fits this host, for LIBRARY_NOT_FOUND. */
export function noPrebuiltReason(): string {
  return `no prebuilt library for platform ${hostPlatform()} (there are: ${Object.keys(PREBUILT).join(", ")})`;
}

function cacheRoot(): string | undefined {
  const explicit = adapter.env("HOTPATH_CACHE_DIR") ?? adapter.env("DENO_DIR");
  if (explicit) return explicit;
  const xdg = adapter.env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/deno`;
  const home = adapter.env("HOME");
  if (!home) return undefined;
  return process.platform === "darwin" ? `${home}/Library/Caches/deno` : `${home}/.cache/deno`;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The body, or its first `limit` + 1 bytes when it is longer: a hostile server cannot fill memory. */
async function readAtMost(response: Response, limit: number): Promise<Uint8Array> {
  const body = new Uint8Array(limit + 1);
  let length = 0;
  const reader = response.body?.getReader();
  while (reader !== undefined && length <= limit) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, body.length - length);
    body.set(value.subarray(0, take), length);
    length += take;
  }
  await reader?.cancel().catch(() => {});
  return body.subarray(0, length);
}

/** Where a fetched library ends up, and what was tried on the way. */
export interface RemoteLibrary {
  path?: string;
  tried: string[];
}

/**
 * The path of this host's prebuilt library in the cache: checked there first, fetched from the
 * package (`packageUrl` is the package's root) when missing or corrupt. Never throws.
 */
export async function remoteLibrary(packageUrl: URL): Promise<RemoteLibrary> {
  const tried: string[] = [];
  const entry = prebuiltForHost();
  if (entry === undefined) return { tried: [noPrebuiltReason()] };
  const root = cacheRoot();
  if (root === undefined) {
    return {
      tried: [
        "no cache directory (set HOTPATH_CACHE_DIR or HOME; Deno reads them only with " +
        "--allow-env=HOTPATH_LIB,HOTPATH_CACHE_DIR,HOTPATH_PLATFORM,DENO_DIR,XDG_CACHE_HOME,HOME)",
      ],
    };
  }
  const name = entry.file.slice(entry.file.lastIndexOf("/") + 1);
  const path = `${root}/hotpath/${entry.sha256}/${name}`;
  const cached = adapter.readBytes(path);
  if (cached !== undefined) {
    if (await sha256(cached) === entry.sha256) return { path, tried };
    tried.push(`the cached ${path} failed its SHA-256 check and was fetched again`);
  }
  const url = new URL(`prebuilt/${entry.file}`, packageUrl);
  try {
    const response = await fetch(url);
    if (!response.ok) return { tried: [...tried, `fetching ${url} answered ${response.status}`] };
    const bytes = await readAtMost(response, entry.bytes);
    if (bytes.length !== entry.bytes) {
      const size = bytes.length > entry.bytes ? `more than ${entry.bytes}` : String(bytes.length);
      return { tried: [...tried, `${url} is ${size} bytes, not the expected ${entry.bytes}: refused`] };
    }
    const digest = await sha256(bytes);
    if (digest !== entry.sha256) {
      return { tried: [...tried, `${url} has SHA-256 ${digest}, not the expected ${entry.sha256}: refused`] };
    }
    const written = adapter.writeFileAtomic(path, bytes);
    if (written !== undefined) return { tried: [...tried, `could not write ${path}: ${written}`] };
    return { path, tried };
  } catch (error) {
    return { tried: [...tried, `fetching ${url} failed: ${error instanceof Error ? error.message : String(error)}`] };
  }
}
