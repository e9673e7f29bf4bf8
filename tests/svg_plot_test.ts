/**
 * The benchmark report's SVG writer (bench/svg_plot.ts): well-formed XML, escaped labels,
 * curves that run left to right, and clear errors for what cannot be drawn. Bun has no
 * DOMParser, so a small checker below reads the document the way an XML parser would.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "./harness.ts";
import { escapeXml, linePlot, type PlotOptions, type Series } from "../bench/svg_plot.ts";

const NAME = "[A-Za-z_][\\w.:-]*";
const ATTRIBUTE = new RegExp(`^\\s+(${NAME})\\s*=\\s*"([^"]*)"`);
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

/** Text or an attribute value with every `&` starting a known entity and no raw `<`. */
function checkCharacters(text: string, where: string): void {
  assert.ok(!text.replace(ENTITY, "").includes("&"), `a bare & in ${where}: ${text}`);
  assert.ok(!text.includes("<"), `a raw < in ${where}: ${text}`);
}

/** The attributes of a start tag's inside (after its name); throws on anything malformed or repeated. */
function checkAttributes(rest: string, tag: string): void {
  const seen = new Set<string>();
  let left = rest;
  while (left.trim() !== "") {
    const match = ATTRIBUTE.exec(left);
    assert.ok(match, `malformed attributes in <${tag}>: ${left}`);
    assert.ok(!seen.has(match[1]), `attribute ${match[1]} repeated in <${tag}>`);
    seen.add(match[1]);
    checkCharacters(match[2], `attribute ${match[1]} of <${tag}>`);
    left = left.slice(match[0].length);
  }
}

/** Throws unless `document` is well-formed XML with one root element; returns the root's name. */
function checkWellFormed(document: string): string {
  let rest = document.replace(/^<\?xml [^?]*\?>\s*/, "");
  const open: string[] = [];
  let root = "";
  while (rest !== "") {
    const at = rest.indexOf("<");
    const text = at < 0 ? rest : rest.slice(0, at);
    checkCharacters(text, "text");
    if (open.length === 0) assert.equal(text.trim(), "", "text outside the root element");
    if (at < 0) break;
    if (rest.startsWith("<!--", at)) {
      const end = rest.indexOf("-->", at + 4);
      assert.ok(end > at, "a comment that never closes");
      assert.ok(!rest.slice(at + 4, end).includes("--") && rest[end - 1] !== "-", "-- inside a comment");
      rest = rest.slice(end + 3);
      continue;
    }
    const end = rest.indexOf(">", at);
    assert.ok(end > at, "a tag that never closes");
    const tag = rest.slice(at + 1, end);
    rest = rest.slice(end + 1);
    if (tag.startsWith("/")) {
      assert.equal(tag.slice(1).trim(), open.pop(), `</${tag.slice(1)}> closes the wrong element`);
      continue;
    }
    const name = new RegExp(`^${NAME}`).exec(tag)?.[0];
    assert.ok(name, `a tag without a name: <${tag}>`);
    if (open.length === 0) {
      assert.equal(root, "", "a second root element");
      root = name;
    }
    const selfClosing = tag.endsWith("/");
    checkAttributes(tag.slice(name.length, selfClosing ? -1 : undefined), name);
    if (!selfClosing) open.push(name);
  }
  assert.deepEqual(open, [], "elements left open");
  return root;
}

function plot(overrides: Partial<PlotOptions> = {}, series?: Series[]): PlotOptions {
  return {
    title: "latency",
    x: { label: "percentile", scale: "nines" },
    y: { label: "ns", scale: "log" },
    series: series ?? [
      { label: "pool", points: [[0, 40], [90, 60], [99, 300], [99.9, 1_200], [99.99, 9_000]] },
      { label: "js", points: [[0, 200], [90, 700], [99, 3_000], [99.9, 8_000]], dashed: true },
    ],
    ...overrides,
  };
}

test("checkWellFormed rejects what an XML parser would", () => {
  assert.equal(checkWellFormed(`<a x="1"><b/>t &amp; u</a>`), "a");
  for (const bad of [`<a><b></a></b>`, `<a>`, `<a>x & y</a>`, `<a x="<"/>`, `<a/><b/>`, `<a x="1" x="2"/>`, "<!-- a"]) {
    assert.throws(() => checkWellFormed(bad), assert.AssertionError, bad);
  }
});

test("linePlot writes a well-formed SVG of the given fixed size", () => {
  const svg = linePlot(plot({ width: 640, height: 400, subtitle: "one run" }));
  assert.equal(checkWellFormed(svg), "svg");
  assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="400" viewBox="0 0 640 400"/);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.ok(svg.includes("stroke-dasharray"), "the dashed series is dashed");
  for (const label of ["0", "90", "99", "99.9", "99.99"]) assert.ok(svg.includes(`>${label}</text>`), label);
});

test("linePlot labels a nines axis with every nine", () => {
  const svg = linePlot(plot({}, [{ label: "deep", points: [[0, 1], [99.99995, 2]] }]));
  const labels = [...svg.matchAll(/text-anchor="middle">([^<]*)<\/text>/g)].map((match) => match[1]);
  assert.deepEqual(labels.slice(0, 7), ["0", "90", "99", "99.9", "99.99", "99.999", "99.9999"]);
});

test("linePlot puts the legend in a corner no line runs through", () => {
  const linear = { x: { label: "x", scale: "linear" }, y: { label: "y", scale: "linear" } } as const;
  const legendAt = (...lines: [number, number][][]) => {
    const series = lines.map((points, index) => ({ label: `line ${index}`, points }));
    const svg = linePlot(plot({ ...linear, width: 600, height: 400 }, series));
    const match = /<rect class="legend" x="([\d.]+)" y="([\d.]+)"/.exec(svg);
    assert.ok(match);
    return [Number(match[1]) < 300 ? "left" : "right", Number(match[2]) < 200 ? "top" : "bottom"].join(" ");
  };
  assert.equal(legendAt([[0, 0], [10, 10]]), "left top");
  assert.equal(legendAt([[0, 10], [10, 0]]), "right top");
  // Lines near the top all across and near the bottom on the right: only the bottom left is free.
  assert.equal(legendAt([[0, 9], [10, 9]], [[6, 1], [10, 1]]), "left bottom");
});

test("linePlot writes its comment before the root element and refuses one that would end it", () => {
  const svg = linePlot(plot({ comment: "deno-fmt-ignore-file: written by <a & b>" }));
  assert.ok(svg.startsWith("<!-- deno-fmt-ignore-file: written by <a & b> -->\n<svg "));
  assert.equal(checkWellFormed(svg), "svg");
  assert.ok(linePlot(plot()).startsWith("<svg "));
  for (const comment of ["a -- b", "ends with -"]) {
    assert.throws(() => linePlot(plot({ comment })), /a comment may not contain "--" or end with "-"/);
  }
  assert.throws(() => checkWellFormed("<!-- a -- b --><a/>"), assert.AssertionError);
});

test("linePlot output depends only on its input", () => {
  assert.equal(linePlot(plot()), linePlot(plot()));
  assert.notEqual(linePlot(plot()), linePlot(plot({ title: "other" })));
});

test("linePlot escapes <, & and quotes in every label", () => {
  const label = `p99 < 5 & "fast" 'enough'`;
  const svg = linePlot(plot({
    title: label,
    subtitle: label,
    x: { label, scale: "nines", format: () => label },
    y: { label, scale: "log" },
  }, [{ label, points: [[0, 1], [50, 2]] }]));
  checkWellFormed(svg);
  assert.ok(!svg.includes(label), "no raw label");
  assert.ok(svg.includes("p99 &lt; 5 &amp; &quot;fast&quot; &apos;enough&apos;"));
  assert.equal(escapeXml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
});

test("linePlot draws every curve left to right", () => {
  const svg = linePlot(plot({ x: { label: "x", scale: "linear" }, y: { label: "y", scale: "linear" } }, [
    { label: "a", points: [[-3, 5], [0, -2], [0.5, 7], [12, 1]] },
    { label: "b", points: [[1, 1], [2, 2]] },
  ]));
  const curves = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((match) =>
    match[1].split(" ").map((pair) => Number(pair.split(",")[0]))
  );
  assert.equal(curves.length, 2);
  for (const xs of curves) {
    for (let index = 1; index < xs.length; index++) assert.ok(xs[index] > xs[index - 1], `${xs}`);
  }
  assert.throws(
    () => linePlot(plot({}, [{ label: "back", points: [[1, 1], [3, 2], [2, 3]] }])),
    /x must increase along a series; series "back", point 2 has x 2 after 3/,
  );
  assert.throws(() => linePlot(plot({}, [{ label: "flat", points: [[1, 1], [1, 2]] }])), /x must increase/);
});

test("linePlot log axes reject values that are not above zero", () => {
  for (const value of [0, -5]) {
    assert.throws(
      () => linePlot(plot({}, [{ label: "zero", points: [[0, 10], [90, value]] }])),
      new RegExp(`the log axis "ns" cannot show ${value} \\(series "zero", point 1\\); values must be above 0`),
    );
  }
  const logX = plot({ x: { label: "size", scale: "log" } }, [{ label: "s", points: [[0, 1], [1, 2]] }]);
  assert.throws(() => linePlot(logX), /the log axis "size" cannot show 0/);
  assert.throws(() => linePlot(plot({}, [{ label: "all", points: [[0, 1], [100, 2]] }])), /percentiles must be/);
  assert.throws(() => linePlot(plot({}, [{ label: "nan", points: [[0, Number.NaN]] }])), /must be finite/);
});

test("linePlot refuses to draw nothing", () => {
  assert.throws(() => linePlot(plot({}, [])), /"latency" has no series to draw/);
  assert.throws(() => linePlot(plot({}, [{ label: "empty", points: [] }])), /the series "empty" has no points/);
  assert.throws(() => linePlot(plot({ width: 0 })), /width must be a whole number of pixels/);
});
