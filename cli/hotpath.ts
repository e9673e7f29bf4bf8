/**
 * The `hotpath` command. `hotpath top` is a live view, in the terminal, of the counters that
 * running processes publish (`publishCounters()` or HOTPATH_PUBLISH=1): every process of this
 * user, or the pids given, refreshed every half second.
 *
 * Runs under Deno (`deno run --allow-ffi --allow-read --allow-env cli/hotpath.ts top`) and Bun
 * (`bun cli/hotpath.ts top`); `npx hotpath top` picks one (cli/hotpath.mjs).
 *
 * @module
 */
import process from "node:process";
import { HotpathError, listCounters, type ProcessCounters, readCounters, removeDeadCounters } from "../mod.ts";
import { SORTS, topView } from "./top_rows.ts";
import { renderTable } from "./top_table.ts";

const USAGE = `usage: hotpath top [pid ...] [--once] [--json] [--sort=${Object.keys(SORTS).join("|")}]
                   [--interval=ms] [--directory=path] [--prune]

  pid ...        only these processes (default: every process of this user that publishes)
  --once         print one view and exit (rates over one interval)
  --json         print one view as JSON and exit
  --sort=column  order of the rows (default: percent, the fullest first)
  --interval=ms  refresh period, 100 to 60000 (default 500)
  --directory=p  where counter directories are (default: $HOTPATH_STATS_DIR or /dev/shm)
  --prune        remove the files of dead processes, then go on
`;

/** The checked command line of `hotpath top`. */
export interface TopArguments {
  pids: number[];
  once: boolean;
  json: boolean;
  sort: string;
  interval: number;
  directory: string | undefined;
  prune: boolean;
}

/** Parses `hotpath top`'s arguments; throws a usage message on anything else. */
export function parseTopArguments(args: string[]): TopArguments {
  const parsed: TopArguments = {
    pids: [],
    once: false,
    json: false,
    sort: "percent",
    interval: 500,
    directory: undefined,
    prune: false,
  };
  for (const arg of args) {
    const [flag, value] = arg.startsWith("--") ? [arg.split("=")[0], arg.slice(arg.indexOf("=") + 1)] : [arg, ""];
    if (flag === "--once" || flag === "--json" || flag === "--prune") {
      if (arg.includes("=")) throw new Error(`${flag} takes no value`);
      parsed[flag.slice(2) as "once" | "json" | "prune"] = true;
    } else if (flag === "--sort" && arg.includes("=") && Object.hasOwn(SORTS, value)) parsed.sort = value;
    else if (flag === "--interval" && /^[0-9]{3,5}$/.test(value) && +value >= 100 && +value <= 60_000) {
      parsed.interval = +value;
    } else if (flag === "--directory" && value.startsWith("/")) parsed.directory = value;
    else if (/^[1-9][0-9]{0,6}$/.test(arg)) parsed.pids.push(Number(arg));
    else throw new Error(`unknown or malformed argument: ${arg}`);
  }
  return parsed;
}

/** One read of the chosen processes: running ones, and the pids found dead. */
function readAll(options: TopArguments): { processes: ProcessCounters[]; dead: number[] } {
  const directory = options.directory === undefined ? {} : { directory: options.directory };
  if (options.pids.length === 0) return listCounters(directory);
  const processes: ProcessCounters[] = [];
  const dead: number[] = [];
  for (const pid of options.pids) {
    try {
      const counters = readCounters(pid, directory);
      if (counters.state === "dead") dead.push(pid);
      else processes.push(counters);
    } catch (error) {
      if (!(error instanceof HotpathError && error.code === "NOT_FOUND")) throw error;
      dead.push(pid); // nothing published (any more): shown as gone
    }
  }
  return { processes, dead };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `hotpath top`: returns the exit code. */
export async function top(args: string[]): Promise<number> {
  const options = parseTopArguments(args);
  if (options.prune) {
    const removed = removeDeadCounters(options.directory === undefined ? {} : { directory: options.directory });
    process.stderr.write(`hotpath top: removed the files of ${removed.length} dead process(es)\n`);
  }
  let previous = readAll(options);
  let previousAt = performance.now();
  for (;;) {
    await sleep(options.interval);
    const current = readAll(options);
    const now = performance.now();
    const view = topView(current, previous, (now - previousAt) / 1000, options.sort);
    previous = current;
    previousAt = now;
    if (options.json) {
      process.stdout.write(`${JSON.stringify(view, (_key, value) => (Number.isNaN(value) ? null : value), 2)}\n`);
      return 0;
    }
    const terminal = process.stdout.isTTY === true && !options.once;
    const rows = terminal ? Math.max(1, (process.stdout.rows ?? 40) - view.processes.length - 6) : undefined;
    const screen = renderTable(view, { color: terminal, refreshMs: options.interval, maxRows: rows });
    process.stdout.write(terminal ? `\x1b[H\x1b[2J${screen}` : screen);
    if (options.once) return 0;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "top") {
    try {
      return await top(rest);
    } catch (error) {
      const usage = !(error instanceof HotpathError);
      process.stderr.write(`hotpath top: ${error instanceof Error ? error.message : String(error)}\n`);
      if (usage) process.stderr.write(USAGE);
      return usage ? 2 : 1;
    }
  }
  const help = command === undefined || command === "help" || command === "--help";
  (help ? process.stdout : process.stderr).write(USAGE);
  return help ? 0 : 2;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
