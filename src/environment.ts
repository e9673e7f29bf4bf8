/**
 * Reading environment variables the same way on Deno and Bun, without a permission error:
 * Deno without `--allow-env` reads every variable as unset.
 *
 * @module
 */

/** An environment variable, or undefined when it is unset or cannot be read. */
export function environment(name: string): string | undefined {
  try {
    const deno = (globalThis as { Deno?: { env: { get(name: string): string | undefined } } }).Deno;
    return deno !== undefined
      ? deno.env.get(name)
      : (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
  } catch {
    // Deno without --allow-env: the variable cannot be read, so it is not set for us.
    return undefined;
  }
}
