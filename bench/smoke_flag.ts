/**
 * The `--smoke` flag of a benchmark run directly (`deno run ... bench/x.ts --smoke`, or
 * `bun bench/x.ts --smoke`): a short run that checks the benchmark works, not its figures.
 *
 * @module
 */
import process from "node:process";

/** True when the command line asks for a smoke run. */
export function smokeRequested(): boolean {
  const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
  return deno !== undefined ? deno.args.includes("--smoke") : process.argv.includes("--smoke");
}
