/**
 * `serveMetrics()`: a tiny HTTP endpoint for Prometheus to scrape `metricsText()` from, on the
 * loopback interface only, started only by this explicit call. Built on `node:http`, which Deno
 * and Bun both provide. It does not keep the process alive on its own (like the Monitor's timer):
 * a program that is otherwise done exits.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HotpathError } from "./errors.ts";
import { type MetricsPlan, metricsPlan, type MetricsTextOptions, renderMetrics } from "./prometheus.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus_format.ts";
import { describe, integerIn, readOptions } from "./validate.ts";

/** Options of `serveMetrics`: where to listen, and what `metricsText` options to serve. */
export interface MetricsServerOptions extends MetricsTextOptions {
  /**
   * The TCP port. Default 9464 (the port Prometheus exporters of application metrics commonly
   * use, the OpenTelemetry one among them); 0 picks any free port (read it from `port`).
   */
  port?: number;
  /** A loopback address only: "127.0.0.1" (default), "::1" or "localhost". */
  hostname?: "127.0.0.1" | "::1" | "localhost";
  /** The path metrics are served at. Default "/metrics". */
  path?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it listens on (the one chosen when `port` was 0). */
  readonly port: number;
  /** The address to scrape, for example `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops listening and ends open connections; resolves once the port is free. Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_PORT = 9464;
const DEFAULT_PATH = "/metrics";
const LOOPBACK: readonly string[] = ["127.0.0.1", "::1", "localhost"];
/** An absolute path of printable ASCII, at most 200 characters, no query or fragment. */
const PATH = /^\/[!-~]{0,199}$/;

/**
 * Serves `metricsText(options)` over HTTP on a loopback address: GET (or HEAD) on `path` gives
 * 200 with the text and `Content-Type: text/plain; version=0.0.4; charset=utf-8`; another path
 * 404; another method 405; a failing exposition (a histogram closed since) 500 with the reason.
 * Options are checked once, now (INVALID_ARGUMENT); a port in use rejects with BUSY.
 *
 * @example
 * ```ts
 * import { Pool, serveMetrics } from "@hotpath/core";
 * using orders = new Pool({ blockSize: 64, capacity: 1024, name: "orders" });
 * await using server = await serveMetrics({ port: 0 });
 * const text = await (await fetch(server.url)).text();
 * console.log(text.includes('hotpath_pool_in_use_blocks{name="orders"} 0'));
 * ```
 */
export async function serveMetrics(options: MetricsServerOptions = {}): Promise<MetricsServer> {
  const where = "serveMetrics";
  const given = readOptions(where, options, ["port", "hostname", "path", "source", "directory", "histograms"]);
  const port = given.port === undefined ? DEFAULT_PORT : integerIn(where, "port", given.port, 0, 65535);
  const hostname = loopback(where, given.hostname);
  const path = given.path === undefined ? DEFAULT_PATH : checkPath(where, given.path);
  const plan = metricsPlan(where, { source: given.source, directory: given.directory, histograms: given.histograms });
  const server = createServer((request, response) => respond(request, response, path, plan));
  server.on("clientError", (_error, socket) => socket.destroy());
  denoMayListen(hostname, port);
  await listen(server, port, hostname);
  server.on("error", () => {}); // after listening: nothing to report to, and the endpoint must not crash the program
  server.unref();
  return endpoint(server, path);
}

function loopback(where: string, hostname: unknown): string {
  if (hostname === undefined) return "127.0.0.1";
  if (typeof hostname === "string" && LOOPBACK.includes(hostname)) return hostname;
  throw new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: hostname must be "127.0.0.1", "::1" or "localhost": the endpoint serves the loopback interface ` +
      `only (a scraper on another machine reaches it through a proxy you configure); got ${describe(hostname)}.`,
  );
}

function checkPath(where: string, path: unknown): string {
  if (typeof path === "string" && PATH.test(path) && !/[?#]/.test(path)) return path;
  throw new HotpathError(
    "INVALID_ARGUMENT",
    `${where}: path must start with "/" and be at most 200 printable ASCII characters without "?" or "#"; ` +
      `got ${describe(path)}.`,
  );
}

interface DenoPermissions {
  permissions?: {
    querySync?(descriptor: { name: "net"; host: string }): { state: string };
    requestSync?(descriptor: { name: "net"; host: string }): { state: string };
  };
}

/**
 * Deno's node:http throws a missing --allow-net from a later tick, where no caller can catch it
 * (the program dies); so the permission is checked here first and refused as an error of this call.
 */
function denoMayListen(hostname: string, port: number): void {
  const permissions = (globalThis as { Deno?: DenoPermissions }).Deno?.permissions;
  if (permissions?.querySync === undefined) return;
  const host = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  let state = permissions.querySync({ name: "net", host }).state;
  // "prompt": ask as Deno itself would (a terminal prompt; denied at once without one).
  if (state === "prompt" && permissions.requestSync !== undefined) {
    state = permissions.requestSync({ name: "net", host }).state;
  }
  if (state === "granted") return;
  throw new HotpathError(
    "PERMISSION_DENIED",
    `serveMetrics: Deno may not listen on ${host}; run it with --allow-net=${hostname.replace(/^::1$/, "[::1]")}.`,
  );
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(listenError(error, hostname, port));
    server.once("error", failed);
    server.listen(port, hostname, () => {
      server.off("error", failed);
      resolve();
    });
  });
}

function listenError(error: Error, hostname: string, port: number): HotpathError {
  const code = (error as { code?: unknown }).code;
  const at = `serveMetrics: cannot listen on ${hostname} port ${port}`;
  if (code === "EADDRINUSE") {
    return new HotpathError("BUSY", `${at}: it is in use. Pass another port, or port 0 for any free one.`);
  }
  if (code === "EACCES" || code === "EPERM") {
    return new HotpathError("PERMISSION_DENIED", `${at}: permission denied (ports below 1024 need privileges).`);
  }
  return new HotpathError("UNSUPPORTED", `${at}: ${error.message}`);
}

function endpoint(server: Server, path: string): MetricsServer {
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" || address.address.includes(":") ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { port: address.port, url: `http://${host}:${address.port}${path}`, close, [Symbol.asyncDispose]: close };
}

/** Answers one request; never throws (a response that cannot be written is destroyed). */
function respond(request: IncomingMessage, response: ServerResponse, path: string, plan: MetricsPlan): void {
  try {
    const target = (request.url ?? "").split("?")[0];
    if (target !== path) return send(response, 404, `Not found: metrics are served at ${path}.\n`);
    const head = request.method === "HEAD";
    if (request.method !== "GET" && !head) {
      return send(response, 405, `Method ${request.method} is not allowed here: use GET.\n`, { Allow: "GET, HEAD" });
    }
    let text: string;
    try {
      text = renderMetrics("serveMetrics", plan);
    } catch (error) {
      return send(response, 500, `${error instanceof Error ? error.message : describe(error)}\n`, {}, head);
    }
    send(response, 200, text, { "Content-Type": PROMETHEUS_CONTENT_TYPE }, head);
  } catch {
    try {
      response.destroy();
    } catch {
      // The connection is gone already.
    }
  }
}

function send(response: ServerResponse, status: number, text: string, headers = {}, head = false): void {
  const body = new TextEncoder().encode(text);
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    ...headers,
    "Content-Length": String(body.byteLength),
  });
  response.end(head ? undefined : body);
}
