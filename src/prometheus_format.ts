/**
 * The syntax of the Prometheus text exposition format 0.0.4: HELP and TYPE lines, sample lines,
 * escaping and numbers. Knows nothing of hotpath's objects (see prometheus_families.ts).
 *
 * @module
 */

/** The Content-Type of the format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The metric types hotpath emits. */
export type MetricType = "counter" | "gauge" | "summary";

/** Label names and values, in the order they are written. */
export type Labels = readonly (readonly [name: string, value: string])[];

/** A label value with backslash, double quote and line feed escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (character) => character === "\n" ? "\\n" : `\\${character}`);
}

/** HELP text with backslash and line feed escaped (a double quote stays as it is there). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (character) => character === "\n" ? "\\n" : "\\\\");
}

/** A sample value as Go's ParseFloat reads it: NaN, +Inf, -Inf, and -0 as 0. */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** The HELP and TYPE lines that open a family. */
export function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** One sample line: `name{label="value",...} value`. */
export function sampleLine(name: string, labels: Labels, value: number): string {
  const pairs = labels.map(([label, text]) => `${label}="${escapeLabelValue(text)}"`).join(",");
  return `${name}${pairs === "" ? "" : `{${pairs}}`} ${formatValue(value)}\n`;
}
