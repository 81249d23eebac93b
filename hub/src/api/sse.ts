// A Server-Sent Events response on a hijacked Fastify reply: the headers, events, keep-alive
// comments, and an end when the client leaves, falls too far behind, or the server closes.
import type { FastifyReply, FastifyRequest } from "fastify";

/** An open event stream to one client. */
export interface SseStream {
  /** Sends one event; ignored once the stream ended. */
  send(event: { id: string; data: string; event?: string }): void;
  /** Ends the stream. */
  end(): void;
  /** Resolves when the stream ended, for whatever reason. */
  readonly ended: Promise<void>;
}

/** Options of {@link openSse}. */
export interface SseOptions {
  /** Interval of keep-alive comments; default 15 s. */
  keepAliveMs?: number;
  /** How long a client should wait before it reconnects; default 3 s. */
  retryMs?: number;
  /** A client that has this many bytes waiting is dropped (it resumes with Last-Event-ID); default 1 MiB. */
  maxBufferedBytes?: number;
}

/** Hijacks `reply` and writes the SSE headers. */
export function openSse(request: FastifyRequest, reply: FastifyReply, options: SseOptions = {}): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    // Proxies such as nginx would otherwise hold events back.
    "x-accel-buffering": "no",
  });
  res.write(`retry: ${options.retryMs ?? 3_000}\n: connected\n\n`);
  let done = false;
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  const end = (): void => {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    if (!res.writableEnded) res.end();
    markEnded();
  };
  const keepAlive = setInterval(() => {
    if (!done) res.write(": keep-alive\n\n");
  }, options.keepAliveMs ?? 15_000);
  request.raw.on("close", end);
  res.on("close", end);
  res.on("error", end);
  return {
    send({ id, data, event }) {
      if (done) return;
      if (res.writableLength > (options.maxBufferedBytes ?? 1024 * 1024)) {
        request.log.info("event stream client too slow; closing its stream");
        end();
        return;
      }
      res.write(`id: ${id}\n${event ? `event: ${event}\n` : ""}data: ${data}\n\n`);
    },
    end,
    ended,
  };
}
