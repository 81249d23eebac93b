// The agent's requests to the API server over node:http(s): JSON in, JSON out, one keep-alive
// connection pool per distinct TLS setting, and watches read line by line. The configuration
// ({@link KubeConfigLike}) gives the address, TLS material and credentials of each request.
//
// One pool: a pool per request would open a TLS connection per request, a handshake and a
// parse of the CA each time (with the client library's per-request dispatchers, applying 1,000
// ConfigMaps took 2.4 times as long and 2.8 times the CPU, and left the agent 200 MiB larger;
// docs/benchmarks.md, the agent at rest). A rotated client certificate gets a new pool; the one
// it replaces is closed once its requests are done.
import { Agent as HttpAgent, STATUS_CODES, request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { RequestOptions } from "node:https";
import type { KubeConfigLike } from "./kube-config.js";

/** One request: a path below the server, a query, JSON or patch body. */
export interface KubeRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  /** The body's content type; default application/json. */
  contentType?: string;
  /** A JSON text. */
  body?: string;
  /** Overall deadline of this request. */
  timeoutMs: number;
}

/** The answer: the status and the body, parsed as JSON when it is JSON (text otherwise). */
export interface KubeResponse {
  status: number;
  body: unknown;
}

/** A request that failed on the way (no answer); `cause` says why. */
export class KubeTransportError extends Error {
  override readonly name = "KubeTransportError";
}

/** What a watch request sends to `onLine`: every line of the answer, parsed. */
export interface KubeWatchRequest {
  path: string;
  query: Record<string, string | undefined>;
  /** Silence longer than this ends the watch with an error: a dead connection. */
  inactivityMs: number;
  onLine: (line: unknown) => void;
  signal: AbortSignal;
}

/** The transport of one {@link KubeConfigLike}. */
export interface KubeTransport {
  request(req: KubeRequest): Promise<KubeResponse>;
  /**
   * Watches until the server ends the answer (resolves with 200), the request fails (rejects
   * with a KubeTransportError), the server refuses (resolves with the status and body), or
   * `signal` aborts (resolves with 200).
   */
  watch(req: KubeWatchRequest): Promise<KubeResponse>;
}

interface Pool {
  key: string;
  agent: HttpAgent;
  inFlight: number;
  replaced: boolean;
}

const transports = new WeakMap<KubeConfigLike, KubeTransport>();

/** The transport of a configuration: one per configuration object, shared by its clients. */
export function kubeTransport(config: KubeConfigLike): KubeTransport {
  let transport = transports.get(config);
  if (!transport) {
    transport = createKubeTransport(config);
    transports.set(config, transport);
  }
  return transport;
}

/** Creates a transport with pools of its own; see {@link kubeTransport}. */
export function createKubeTransport(config: KubeConfigLike): KubeTransport {
  let pool: Pool | undefined;

  // A pool for the TLS material of this request: the current one, or a new one that replaces it.
  const poolFor = (https: boolean, opts: RequestOptions): Pool => {
    const key = poolKey(https, opts);
    if (pool?.key === key) return pool;
    const old = pool;
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, servername: opts.servername };
    const defined = Object.fromEntries(Object.entries({ ...tls, rejectUnauthorized: opts.rejectUnauthorized }).filter(([, v]) => v !== undefined));
    // Keep-alive probes after 30 s of silence, like client-go: cloud load balancers drop idle connections after 60 s.
    const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, ...defined };
    pool = { key, agent: https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions), inFlight: 0, replaced: false };
    if (old) {
      old.replaced = true;
      if (old.inFlight === 0) old.agent.destroy();
    }
    return pool;
  };

  // Starts one request; resolves with the answer's head, the body still to be read.
  const open = async (
    method: string,
    path: string,
    query: Record<string, string | undefined> | undefined,
    headers: Record<string, string>,
    signal: AbortSignal,
    body: string | undefined,
  ): Promise<{ res: IncomingMessage; done: () => void }> => {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new KubeTransportError("the Kubernetes configuration has no current cluster");
    const url = new URL(cluster.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const https = url.protocol === "https:";
    if (!https && url.protocol === "http:" && !cluster.skipTLSVerify) {
      throw new KubeTransportError("HTTP protocol is not allowed when skipTLSVerify is not set or false");
    }
    const opts: RequestOptions = { headers: {} };
    await config.applyToHTTPSOptions(opts);
    // A proxy (only the library's configuration reads proxy-url) comes with its agent; otherwise the shared pool.
    const own = cluster.proxyUrl && opts.agent instanceof HttpAgent ? undefined : poolFor(https, opts);
    const agent = own?.agent ?? (opts.agent as HttpAgent);
    if (own) own.inFlight++;
    let released = false;
    const done = (): void => {
      if (released || !own) return;
      released = true;
      own.inFlight--;
      if (own.replaced && own.inFlight === 0) own.agent.destroy();
    };
    const send = https ? httpsRequest : httpRequest;
    const allHeaders: Record<string, string> = { ...(opts.headers as Record<string, string>), Accept: "application/json", ...headers };
    if (body !== undefined) allHeaders["Content-Length"] = String(Buffer.byteLength(body));
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = send(url, { method, agent, headers: allHeaders, ...(opts.auth ? { auth: opts.auth } : {}), signal }, resolve);
        req.on("error", reject);
        req.end(body);
      });
      res.on("close", done);
      return { res, done };
    } catch (error) {
      done();
      throw error;
    }
  };

  return {
    async request(req) {
      const signal = AbortSignal.timeout(req.timeoutMs);
      try {
        const headers: Record<string, string> = req.body !== undefined ? { "Content-Type": req.contentType ?? "application/json" } : {};
        const { res } = await open(req.method, req.path, req.query, headers, signal, req.body);
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString("utf8");
        return { status: res.statusCode ?? 0, body: parseBody(text) };
      } catch (error) {
        throw asTransportError(error, signal);
      }
    },

    async watch(req) {
      // Stopped before it started: an abort listener added now would never be called, and the
      // watch would run until its inactivity timeout.
      if (req.signal.aborted) return { status: 200, body: undefined };
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      req.signal.addEventListener("abort", onAbort, { once: true });
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      const touch = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, req.inactivityMs);
        timer.unref();
      };
      try {
        touch();
        const { res } = await open("GET", req.path, { ...req.query, watch: "true" }, {}, controller.signal, undefined);
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          const status = res.statusCode ?? 0;
          const body = parseBody(Buffer.concat(chunks).toString("utf8"));
          return { status, body: body === undefined || typeof body === "string" ? (res.statusMessage ?? STATUS_CODES[status] ?? "") : body };
        }
        touch();
        // Lines by hand, not readline: the watch ends on the answer's end, its error or close, or
        // the abort itself, whichever comes first, so that stopping never waits on the stream.
        await new Promise<void>((resolve, reject) => {
          let buffer = "";
          let finished = false;
          const finish = (error?: unknown): void => {
            if (finished) return;
            finished = true;
            controller.signal.removeEventListener("abort", onStop);
            if (error === undefined) resolve();
            else reject(error instanceof Error ? error : new KubeTransportError("the watch failed"));
          };
          const onStop = (): void => {
            res.destroy();
            finish();
          };
          const handle = (line: string): void => {
            if (line.trim() === "") return;
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              return;
            }
            req.onLine(parsed);
          };
          if (controller.signal.aborted) return onStop();
          controller.signal.addEventListener("abort", onStop, { once: true });
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            touch();
            buffer += chunk;
            for (let i = buffer.indexOf("\n"); i >= 0 && !finished; i = buffer.indexOf("\n")) {
              const line = buffer.slice(0, i);
              buffer = buffer.slice(i + 1);
              handle(line);
            }
          });
          res.on("end", () => {
            if (!finished) handle(buffer);
            finish();
          });
          res.on("error", (error) => finish(controller.signal.aborted ? undefined : error));
          res.on("close", () => finish());
        });
        if (timedOut) throw new KubeTransportError(`no data for ${req.inactivityMs} ms`);
        return { status: 200, body: undefined };
      } catch (error) {
        if (timedOut) throw new KubeTransportError(`the watch carried nothing for ${req.inactivityMs} ms`, { cause: error });
        if (req.signal.aborted) return { status: 200, body: undefined };
        throw asTransportError(error, controller.signal);
      } finally {
        clearTimeout(timer);
        req.signal.removeEventListener("abort", onAbort);
        controller.abort();
      }
    },
  };
}

// Everything a pool is built from: the scheme and the TLS material of this request.
function poolKey(https: boolean, opts: RequestOptions): string {
  const text = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString("base64") : value === undefined ? "" : JSON.stringify(value));
  return JSON.stringify([https, ...[opts.ca, opts.cert, opts.key, opts.pfx, opts.passphrase, opts.rejectUnauthorized, opts.servername].map(text)]);
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function asTransportError(error: unknown, signal: AbortSignal): unknown {
  if (error instanceof KubeTransportError) return error;
  if (signal.aborted && signal.reason instanceof DOMException && signal.reason.name === "TimeoutError") {
    return new KubeTransportError("The operation was aborted due to timeout", { cause: error });
  }
  return error;
}
