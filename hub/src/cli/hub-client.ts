import { cliEnv } from "./environment.js";

/** Where the CLI finds the hub and how it authenticates. */
export interface HubClientOptions {
  /** Base URL of the hub's HTTP API, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Bearer token (viewer or admin). */
  token: string;
  fetch?: typeof fetch;
  /** How long one request may take before it fails as unavailable; default 60 s. Streams are not limited. */
  timeoutMs?: number;
}

/** The default of {@link HubClientOptions.timeoutMs}. */
export const defaultHubRequestTimeoutMs = 60_000;

/** An error answer of the hub API, carrying its code and message. */
export class HubApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The whole answer's body, when it was JSON (a refused promotion carries its gates there). */
  readonly body: unknown;

  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message);
    this.name = "HubApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** A thin client of the hub's /api/v1, used by the CLI and by tests. */
export interface HubClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** Sends `body` as a JSON merge patch. */
  patch<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  /**
   * Opens a Server-Sent Events stream; resolves with its body once the hub answered 200.
   * `lastEventId` resumes after that event.
   */
  stream(path: string, options: { lastEventId?: string | undefined; signal: AbortSignal }): Promise<ReadableStream<Uint8Array>>;
}

/** Creates a {@link HubClient}; errors carry the hub's own message. */
export function createHubClient(options: HubClientOptions): HubClient {
  const base = options.url.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? defaultHubRequestTimeoutMs;
  const send = async (path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> => {
    // A request without a caller's signal (every one but a stream) is limited in time.
    const limit = init.signal ? undefined : AbortSignal.timeout(timeoutMs);
    try {
      return await doFetch(`${base}/api/v1${path}`, {
        ...init,
        ...(limit ? { signal: limit } : {}),
        headers: { authorization: `Bearer ${options.token}`, ...init.headers },
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      if (limit?.aborted) {
        throw new HubApiError(0, "unavailable", `the hub at ${base} did not answer ${init.method ?? "GET"} ${path} within ${timeoutMs / 1000} s`);
      }
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new HubApiError(0, "unavailable", `cannot reach the hub at ${base} (${cause}); check --hub or ${cliEnv.hub}`);
    }
  };
  const failure = async (res: Response): Promise<HubApiError> => {
    const text = await res.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const hint = res.status === 401 ? `; check --token or ${cliEnv.token}` : "";
    return new HubApiError(res.status, error?.code ?? String(res.status), `${error?.message ?? res.statusText}${hint}`, parsed);
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await send(path, {
      method,
      headers: body === undefined ? {} : { "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw await failure(res);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return parsed as T;
  };
  return {
    get: (path) => call("GET", path),
    post: (path, body) => call("POST", path, body),
    patch: (path, body) => call("PATCH", path, body),
    delete: (path) => call("DELETE", path),
    async stream(path, { lastEventId, signal }) {
      const res = await send(path, { method: "GET", signal, headers: { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) } });
      if (!res.ok || !res.body) throw await failure(res);
      return res.body;
    },
  };
}
