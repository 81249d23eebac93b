// Sends one request to a sink. The outcome never carries the sink's URL: it may hold a secret.
import type { SinkRequest } from "./payloads.js";

/** The outcome of one attempt. */
export type SendResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

/** Sends a request to a sink URL within `timeoutMs`. */
export type Sender = (url: string, request: SinkRequest, timeoutMs: number) => Promise<SendResult>;

/** A {@link Sender} over `fetch`: 2xx is success; redirects are not followed (and count as failure). */
export function httpSender(doFetch: typeof fetch = fetch): Sender {
  return async (url, request, timeoutMs) => {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      return { ok: false, error: transportError(err, timeoutMs) };
    }
    // The receiver's answer is short and says what it disliked (Slack: "invalid_payload").
    const text = await res.text().catch(() => "");
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    const detail = text.replace(/[^\x20-\x7e]+/g, " ").trim().slice(0, 200);
    return { ok: false, status: res.status, error: `HTTP ${res.status}${detail ? `: ${detail}` : ""}` };
  };
}

function transportError(err: unknown, timeoutMs: number): string {
  const name = (err as { name?: string }).name;
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${timeoutMs} ms`;
  // undici puts the reason (ECONNREFUSED, ENOTFOUND, a TLS error) in the cause; its message names host and port only.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `cannot connect (${cause.code})` : `cannot send: ${cause?.message ?? (err as Error).message ?? String(err)}`.slice(0, 200);
}
