/**
 * `hotpath top` as a terminal table: a header of processes, then one line per object with
 * fixed-width columns; alerts in colour when the output is a terminal.
 *
 * @module
 */
import type { TopRow, TopView } from "./top_rows.ts";

interface Column {
  title: string;
  width: number;
  value: (row: TopRow) => string;
  left?: boolean;
}

/** 1234 → "1234", 12345 → "12.3k", 1.2e6 → "1.2M"; "-" for not applicable. */
export function compact(value: number): string {
  if (!Number.isFinite(value)) return "-";
  const size = Math.abs(value);
  if (size < 10_000) return Number.isInteger(value) ? String(value) : value.toFixed(1);
  for (const [limit, suffix] of [[1e6, "k"], [1e9, "M"], [1e12, "G"]] as const) {
    if (size < limit * 10) return `${(value / (limit / 1000)).toFixed(1)}${suffix}`;
  }
  return value.toExponential(1);
}

const COLUMNS: Column[] = [
  { title: "PID", width: 7, value: (row) => String(row.pid) },
  { title: "KIND", width: 13, value: (row) => row.kind, left: true },
  { title: "NAME", width: 20, value: (row) => row.name || "-", left: true },
  { title: "NODE", width: 4, value: (row) => (row.node < 0 ? "-" : String(row.node)) },
  { title: "CAPACITY", width: 8, value: (row) => compact(row.capacity) },
  { title: "IN USE", width: 7, value: (row) => compact(row.inUse) },
  { title: "%", width: 5, value: (row) => (Number.isFinite(row.percent) ? row.percent.toFixed(1) : "-") },
  { title: "HIGH", width: 7, value: (row) => compact(row.highWater) },
  { title: "ALLOC/S", width: 8, value: (row) => compact(Math.round(row.allocationsPerSecond)) },
  { title: "FREE/S", width: 8, value: (row) => compact(Math.round(row.freesPerSecond)) },
  { title: "FAILED", width: 6, value: (row) => compact(row.failedAllocations) },
  { title: "GROWS", width: 5, value: (row) => compact(row.growths) },
  {
    title: "FRAG",
    width: 5,
    value: (row) => (Number.isFinite(row.fragmentation) ? row.fragmentation.toFixed(2) : "-"),
  },
  { title: "DEPTH", width: 6, value: (row) => compact(row.ringDepth) },
  { title: "LAG", width: 6, value: (row) => compact(row.ringLag) },
  { title: "ALERT", width: 8, value: (row) => row.alert || "-", left: true },
  { title: "AGE", width: 7, value: (row) => `${compact(Math.round(row.ageMs))}ms${row.stale ? "!" : ""}` },
];

/**
 * `text` with control characters (C0, DEL, C1) and bidirectional overrides written as `\xNN` /
 * `\u{NNNN}`: names and command lines come from other processes and must not drive the terminal.
 */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, (character) => {
    const code = character.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** At most `width` characters (code points: never half a surrogate pair), "…" marking a cut. */
function cut(text: string, width: number): string {
  const characters = [...printable(text)];
  return characters.length > width ? `${characters.slice(0, width - 1).join("")}…` : characters.join("");
}

function cell(text: string, column: Column): string {
  const shown = cut(text, column.width);
  const padding = " ".repeat(Math.max(0, column.width - [...shown].length));
  return column.left ? shown + padding : padding + shown;
}

const RED = "\x1b[31;1m";
const YELLOW = "\x1b[33;1m";
const RESET = "\x1b[0m";

/** The whole screen: header lines, column titles, rows (at most `maxRows`, then a count of the rest). */
export function renderTable(view: TopView, options: { color: boolean; refreshMs: number; maxRows?: number }): string {
  const lines: string[] = [];
  const alive = view.processes.length;
  lines.push(
    `hotpath top - ${alive} process${alive === 1 ? "" : "es"}, ${view.rows.length} objects - ` +
      `every ${options.refreshMs / 1000} s - ${view.at.slice(11, 19)} UTC`,
  );
  for (const process of view.processes) {
    const full = process.overflow > 0 ? ` (${process.overflow} objects not shown: directory full)` : "";
    lines.push(`  ${process.pid} ${process.state} ${cut(process.command, 90)}${full}`);
  }
  if (view.dead.length > 0) {
    lines.push(`  dead, skipped: ${view.dead.join(" ")} (remove their files with --prune)`);
  }
  lines.push("", COLUMNS.map((column) => cell(column.title, column)).join(" "));
  const shown = view.rows.slice(0, options.maxRows ?? view.rows.length);
  for (const row of shown) {
    const line = COLUMNS.map((column) => cell(column.value(row), column)).join(" ");
    const colour = row.alert === "critical" ? RED : row.alert === "warn" ? YELLOW : "";
    lines.push(options.color && colour !== "" ? `${colour}${line}${RESET}` : line);
  }
  if (shown.length < view.rows.length) lines.push(`  … ${view.rows.length - shown.length} more objects`);
  if (view.rows.length === 0) {
    lines.push("  (no published objects: start the program with publishCounters() or HOTPATH_PUBLISH=1)");
  }
  return `${lines.join("\n")}\n`;
}
