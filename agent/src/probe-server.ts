// The HTTP server the kubelet probes: GET /healthz (liveness) and GET /readyz (readiness),
// 200 or 503 with one line of text saying why; and GET /metrics for Prometheus when given.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { messageOf } from "@gitfleet/proto/rules";
import { AgentError } from "./errors.js";
import type { ProbeResult } from "./agent-health.js";

/** Options of {@link startProbeServer}. */
export interface ProbeServerOptions {
  /** "[host]:port"; an empty host listens on every address, port 0 picks a free port. */
  address: string;
  liveness: () => ProbeResult;
  readiness: () => ProbeResult;
  /** Serve GET /metrics from this source (Prometheus text); 404 without. */
  metrics?: { scrape(): Promise<string>; readonly contentType: string } | undefined;
}

/** A listening probe server. */
export interface ProbeServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Splits "[host]:port" ("[::1]:8081", ":8081", "0.0.0.0:0"); throws an AgentError when malformed. */
export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new AgentError("invalid-config", `"${address}" is not a [host]:port address`);
  const host = match[1] ?? match[2];
  return { host: host === "" ? undefined : host, port };
}

/** Starts serving the probes; rejects with an AgentError when the address cannot be bound. */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const { host, port } = parseListenAddress(options.address);
  const metrics = options.metrics;
  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path === "/metrics" && metrics && (request.method === "GET" || request.method === "HEAD")) {
      metrics.scrape().then(
        (text) => {
          response.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
          response.end(request.method === "HEAD" ? undefined : text);
        },
        (error: unknown) => {
          response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
          response.end(`collecting metrics failed: ${messageOf(error)}\n`);
        },
      );
      return;
    }
    const probe = path === "/healthz" || path === "/livez" ? options.liveness : path === "/readyz" ? options.readiness : undefined;
    if (!probe || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end(metrics ? "not found: GET /healthz, /readyz or /metrics\n" : "not found: GET /healthz or /readyz\n");
      return;
    }
    let result: ProbeResult;
    try {
      result = probe();
    } catch (error) {
      result = { ok: false, message: `probe failed: ${messageOf(error)}` };
    }
    response.writeHead(result.ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    response.end(request.method === "HEAD" ? undefined : `${result.message}\n`);
  });
  // Probes are short; an idle keep-alive connection must not hold close() up.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new AgentError("invalid-config", `cannot serve the health probes on ${options.address}: ${error.message}`, { cause: error }));
    };
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
