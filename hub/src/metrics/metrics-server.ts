// A plain HTTP server that serves only GET /metrics, for GITFLEET_METRICS_ADDRESS: a port of its
// own that Prometheus scrapes without TLS or a token, apart from the admin API.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { parseHostPort } from "../api/server.js";
import { HubError } from "../errors.js";

/** What a scrape reads. */
export interface MetricsSource {
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** A listening metrics server. */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers a metrics request: the exposition text, or 500 with one line when a collector failed. */
export async function metricsResponse(source: MetricsSource, logger: Logger): Promise<{ status: number; type: string; body: string }> {
  try {
    return { status: 200, type: source.contentType, body: await source.scrape() };
  } catch (err) {
    logger.error({ err }, "collecting metrics failed");
    return { status: 500, type: "text/plain; charset=utf-8", body: "collecting metrics failed; see the hub's log\n" };
  }
}

/** Serves `GET /metrics` on `address` (host:port; port 0 picks one). */
export async function startMetricsServer(options: { address: string; source: MetricsSource; logger: Logger }): Promise<MetricsServer> {
  const { host, port } = parseHostPort(options.address, "GITFLEET_METRICS_ADDRESS");
  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: GET /metrics\n");
      return;
    }
    void metricsResponse(options.source, options.logger).then(({ status, type, body }) => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(request.method === "HEAD" ? undefined : body);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new HubError("unavailable", `cannot serve metrics on ${options.address} (GITFLEET_METRICS_ADDRESS): ${err.message}`, { cause: err }));
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
