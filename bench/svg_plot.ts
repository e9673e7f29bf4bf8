/**
 * A line plot as an SVG document, with no dependencies: a frame, ticks and grid lines on both
 * axes, one labelled polyline per series and a legend (in the corner where it hides the least).
 * Axes are linear, log (base 10) or "nines" (a percentile p drawn at -log10(1 - p/100), so 0,
 * 90, 99, 99.9 and 99.99 are evenly spaced: the way latency tails are read). Every label is
 * XML-escaped; the size is fixed and the output is a pure function of the input (coordinates
 * rounded to 0.1 px), so a plot committed to the repository changes only when its figures do.
 *
 * @example
 * ```ts
 * import { linePlot } from "./svg_plot.ts";
 * const svg = linePlot({
 *   title: "Latency",
 *   x: { label: "percentile", scale: "nines" },
 *   y: { label: "ns", scale: "log" },
 *   series: [{ label: "pool", points: [[0, 50], [90, 80], [99, 300], [99.9, 1200]] }],
 * });
 * console.log(svg.startsWith("<svg"));
 * ```
 *
 * @module
 */

/** How an axis maps values to positions. */
export type Scale = "linear" | "log" | "nines";

/** One axis. */
export interface AxisOptions {
  /** Shown along the axis. */
  label: string;
  scale: Scale;
  /**
   * Tick label of a value. Default: on a nines axis the percentile as is ("99.99"), otherwise
   * three or four significant digits with "k"/"M" for thousands and millions.
   */
  format?: (value: number) => string;
}

/** One line: its legend label and its points, x strictly increasing. */
export interface Series {
  label: string;
  points: readonly (readonly [x: number, y: number])[];
  /** Index into the palette. Default: the series' position. */
  color?: number;
  /** Dashed stroke (for instance a second runtime). Default false. */
  dashed?: boolean;
}

/** What to draw. */
export interface PlotOptions {
  title: string;
  /** A second, smaller line under the title. Default: none. */
  subtitle?: string;
  x: AxisOptions;
  y: AxisOptions;
  series: readonly Series[];
  /**
   * A comment before the root element, such as what wrote the file (the report's
   * "deno-fmt-ignore-file: ..." keeps `deno fmt` from reflowing its plots). Must not contain
   * "--" or end with "-". Default: none.
   */
  comment?: string;
  /** Pixels. Default 760. */
  width?: number;
  /** Pixels. Default 460. */
  height?: number;
}

/** Okabe-Ito colours, distinguishable with the common colour-vision deficiencies. */
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const MARGIN = { left: 84, right: 36, top: 64, bottom: 56 };
const LEGEND_ROW = 18;
/** Average width of a character at font-size 12, to size the legend box without measuring text. */
const CHAR_WIDTH = 6.6;

/** `text` with the five XML special characters replaced by entities. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&${ENTITIES[char]};`);
}

const ENTITIES: Record<string, string> = { "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" };

/** A coordinate with one decimal, never "-0.0". */
function px(value: number): string {
  return (Math.round(value * 10) / 10 + 0).toFixed(1);
}

/** Where a value lies on an axis before scaling to pixels; throws on a value the scale cannot show. */
function transform(axis: AxisOptions, value: number, where: string): number {
  if (!Number.isFinite(value)) throw new Error(`linePlot: ${where} is ${value}; values must be finite numbers.`);
  if (axis.scale === "log") {
    if (value <= 0) {
      throw new Error(
        `linePlot: the log axis "${axis.label}" cannot show ${value} (${where}); values must be above 0.`,
      );
    }
    return Math.log10(value);
  }
  if (axis.scale === "nines") {
    if (value < 0 || value >= 100) {
      throw new Error(
        `linePlot: the nines axis "${axis.label}" cannot show ${value} (${where}); percentiles must be from 0 to ` +
          `below 100.`,
      );
    }
    return -Math.log10(1 - value / 100);
  }
  return value;
}

/** An axis's range in transformed units and its ticks, as [transformed position, value]. */
interface Domain {
  low: number;
  high: number;
  ticks: [number, number][];
}

function domainOf(scale: Scale, low: number, high: number): Domain {
  if (scale === "linear") {
    if (low === high) [low, high] = [low - 1, high + 1];
    const rough = (high - low) / 5;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough)!;
    const first = Math.floor(low / step);
    const last = Math.ceil(high / step);
    const ticks: [number, number][] = [];
    for (let index = first; index <= last; index++) ticks.push([index * step, index * step]);
    return { low: first * step, high: last * step, ticks };
  }
  const first = Math.floor(low);
  const last = Math.max(Math.ceil(high), first + 1);
  // A nines axis ends where the data does: its last nine is often only part filled.
  const end = scale === "nines" && high > first ? high : last;
  const ticks: [number, number][] = [];
  // (1e-9: 99.99 maps to 3.9999999999999996, and its tick belongs on the axis.)
  for (let power = first; power <= Math.floor(end + 1e-9); power++) {
    const value = scale === "log" ? 10 ** power : Number((100 * (1 - 10 ** -power)).toFixed(power));
    ticks.push([power, value]);
    // Within two decades a log axis also marks 2x and 5x, so that it has more than two ticks.
    if (scale === "log" && last - first <= 2 && power < last) {
      for (const factor of [2, 5]) ticks.push([power + Math.log10(factor), factor * 10 ** power]);
    }
  }
  return { low: first, high: end, ticks };
}

const defaultFormat = (scale: Scale) => scale === "nines" ? String : compact;

/** The default tick label: 1500 -> "1.5k", 2000000 -> "2M". */
function compact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return `${Number(value.toPrecision(4))}`;
}

/** The series checked and transformed: throws a clear error on anything that cannot be drawn. */
function checkedSeries(options: PlotOptions): [number, number][][] {
  if (options.series.length === 0) throw new Error(`linePlot: "${options.title}" has no series to draw.`);
  return options.series.map((series) => {
    if (series.points.length === 0) throw new Error(`linePlot: the series "${series.label}" has no points.`);
    return series.points.map(([x, y], index) => {
      const where = `series "${series.label}", point ${index}`;
      if (index > 0 && !(x > series.points[index - 1][0])) {
        throw new Error(
          `linePlot: x must increase along a series; ${where} has x ${x} after ${series.points[index - 1][0]}.`,
        );
      }
      return [transform(options.x, x, where), transform(options.y, y, where)];
    });
  });
}

function checkedComment(comment: string | undefined): string[] {
  if (comment === undefined) return [];
  if (comment.includes("--") || comment.endsWith("-")) {
    throw new Error(`linePlot: a comment may not contain "--" or end with "-"; got ${JSON.stringify(comment)}.`);
  }
  return [`<!-- ${comment} -->`];
}

function checkedSize(value: number | undefined, fallback: number, name: string): number {
  const size = value ?? fallback;
  if (!Number.isInteger(size) || size < 200 || size > 4000) {
    throw new Error(`linePlot: ${name} must be a whole number of pixels from 200 to 4000; got ${size}.`);
  }
  return size;
}

/** The plot area in pixels and the mapping of transformed values into it. */
interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: Domain;
  y: Domain;
}

const toX = (frame: Frame, value: number) =>
  frame.left + (value - frame.x.low) / (frame.x.high - frame.x.low) * (frame.right - frame.left);
const toY = (frame: Frame, value: number) =>
  frame.bottom - (value - frame.y.low) / (frame.y.high - frame.y.low) * (frame.bottom - frame.top);

/** Grid lines, ticks and tick labels of both axes, and the axis labels. */
function axes(frame: Frame, options: PlotOptions): string[] {
  const lines: string[] = [];
  const xFormat = options.x.format ?? defaultFormat(options.x.scale);
  const yFormat = options.y.format ?? defaultFormat(options.y.scale);
  for (const [at, value] of frame.x.ticks) {
    const x = px(toX(frame, at));
    lines.push(
      `<line class="grid" x1="${x}" y1="${px(frame.top)}" x2="${x}" y2="${px(frame.bottom)}"/>`,
      `<line class="tick" x1="${x}" y1="${px(frame.bottom)}" x2="${x}" y2="${px(frame.bottom + 5)}"/>`,
      `<text x="${x}" y="${px(frame.bottom + 19)}" text-anchor="middle">${escapeXml(xFormat(value))}</text>`,
    );
  }
  for (const [at, value] of frame.y.ticks) {
    const y = px(toY(frame, at));
    lines.push(
      `<line class="grid" x1="${px(frame.left)}" y1="${y}" x2="${px(frame.right)}" y2="${y}"/>`,
      `<line class="tick" x1="${px(frame.left - 5)}" y1="${y}" x2="${px(frame.left)}" y2="${y}"/>`,
      `<text x="${px(frame.left - 8)}" y="${y}" dy="4" text-anchor="end">${escapeXml(yFormat(value))}</text>`,
    );
  }
  const middleX = px((frame.left + frame.right) / 2);
  const middleY = px((frame.top + frame.bottom) / 2);
  lines.push(
    `<rect class="frame" x="${px(frame.left)}" y="${px(frame.top)}" width="${px(frame.right - frame.left)}" ` +
      `height="${px(frame.bottom - frame.top)}"/>`,
    `<text x="${middleX}" y="${px(frame.bottom + 42)}" text-anchor="middle">${escapeXml(options.x.label)}</text>`,
    `<text x="18" y="${middleY}" text-anchor="middle" transform="rotate(-90 18 ${middleY})">` +
      `${escapeXml(options.y.label)}</text>`,
  );
  return lines;
}

const colorOf = (series: Series, index: number) => PALETTE[(series.color ?? index) % PALETTE.length];
const dashOf = (series: Series) => series.dashed ? ` stroke-dasharray="7 4"` : "";

/** One polyline per series, each with a <title> (its label as a tooltip). */
function lines(frame: Frame, options: PlotOptions, points: [number, number][][]): string[] {
  return options.series.map((series, index) => {
    const coordinates = points[index].map(([x, y]) => `${px(toX(frame, x))},${px(toY(frame, y))}`).join(" ");
    return `<polyline class="series" stroke="${colorOf(series, index)}"${dashOf(series)} points="${coordinates}">` +
      `<title>${escapeXml(series.label)}</title></polyline>`;
  });
}

/** Points along every drawn segment, in pixels: what a legend box should not cover. */
function drawnPoints(frame: Frame, points: [number, number][][]): [number, number][] {
  const out: [number, number][] = [];
  for (const series of points) {
    const pixels = series.map(([x, y]): [number, number] => [toX(frame, x), toY(frame, y)]);
    pixels.forEach(([x, y], index) => {
      out.push([x, y]);
      if (index === 0) return;
      const [fromX, fromY] = pixels[index - 1];
      for (let step = 1; step < 8; step++) out.push([fromX + (x - fromX) * step / 8, fromY + (y - fromY) * step / 8]);
    });
  }
  return out;
}

/** The corner of the plot area whose box of `width` x `height` covers the fewest drawn points (first on ties). */
function legendCorner(frame: Frame, drawn: [number, number][], width: number, height: number): [number, number] {
  const inset = 10;
  const left = frame.left + inset;
  const right = frame.right - inset - width;
  const top = frame.top + inset;
  const bottom = frame.bottom - inset - height;
  const corners: [number, number][] = [[left, top], [right, bottom], [right, top], [left, bottom]];
  const covered = ([x, y]: [number, number]) =>
    drawn.filter(([px, py]) => px >= x && px <= x + width && py >= y && py <= y + height).length;
  const counts = corners.map(covered);
  return corners[counts.indexOf(Math.min(...counts))];
}

/** The legend, in the corner of the plot area where it hides the least of the lines. */
function legend(frame: Frame, options: PlotOptions, points: [number, number][][]): string[] {
  const width = Math.max(...options.series.map((series) => series.label.length)) * CHAR_WIDTH + 52;
  const height = options.series.length * LEGEND_ROW + 8;
  const [x, y] = legendCorner(frame, drawnPoints(frame, points), width, height);
  const out = [`<rect class="legend" x="${px(x)}" y="${px(y)}" width="${px(width)}" height="${px(height)}"/>`];
  options.series.forEach((series, index) => {
    const rowY = y + 4 + LEGEND_ROW * index + LEGEND_ROW / 2;
    out.push(
      `<line class="series" x1="${px(x + 8)}" y1="${px(rowY)}" x2="${px(x + 36)}" y2="${px(rowY)}" ` +
        `stroke="${colorOf(series, index)}"${dashOf(series)}/>`,
      `<text x="${px(x + 42)}" y="${px(rowY)}" dy="4">${escapeXml(series.label)}</text>`,
    );
  });
  return out;
}

/**
 * The plot as a standalone SVG document. Throws if there is no series, a series has no points,
 * x does not strictly increase along a series, or a value cannot be shown on its axis (a log
 * axis needs values above 0; a nines axis percentiles from 0 to below 100).
 */
export function linePlot(options: PlotOptions): string {
  const width = checkedSize(options.width, 760, "width");
  const height = checkedSize(options.height, 460, "height");
  const points = checkedSeries(options);
  const all = points.flat();
  const range = (pick: number) => [Math.min(...all.map((p) => p[pick])), Math.max(...all.map((p) => p[pick]))];
  const [xLow, xHigh] = range(0);
  const [yLow, yHigh] = range(1);
  const frame: Frame = {
    left: MARGIN.left,
    right: width - MARGIN.right,
    top: MARGIN.top,
    bottom: height - MARGIN.bottom,
    x: domainOf(options.x.scale, xLow, xHigh),
    y: domainOf(options.y.scale, yLow, yHigh),
  };
  const subtitle = options.subtitle === undefined
    ? []
    : [`<text class="subtitle" x="${px(frame.left)}" y="44">${escapeXml(options.subtitle)}</text>`];
  return [
    // No XML declaration: it is optional for UTF-8, and nothing may precede it, not even the comment.
    ...checkedComment(options.comment),
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<style>.grid{stroke:#e4e4e4;stroke-width:1}.tick{stroke:#333}.frame{fill:none;stroke:#333}` +
    `.series{fill:none;stroke-width:2;stroke-linejoin:round}.legend{fill:#fff;fill-opacity:0.9;stroke:#bbb}` +
    `.subtitle{fill:#555;font-size:11px}</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${px(frame.left)}" y="24" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...subtitle,
    ...axes(frame, options),
    ...lines(frame, options, points),
    ...legend(frame, options, points),
    `</svg>`,
    "",
  ].join("\n");
}
