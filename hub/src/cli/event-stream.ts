// A Server-Sent Events client of the hub's event stream: a parser for the wire format, and a
// follower that reconnects after a dropped connection, resuming after the last event it saw.
import { HubApiError, type HubClient } from "./hub-client.js";

/** One Server-Sent Event. */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** An incremental SSE parser: push text as it arrives, get the complete messages. */
export interface SseParser {
  push(chunk: string): SseMessage[];
}

/** Creates an {@link SseParser} (the WHATWG event stream format; comments are skipped). */
export function createSseParser(): SseParser {
  let buffer = "";
  let data: string[] = [];
  let id: string | undefined;
  let event: string | undefined;
  return {
    push(chunk) {
      buffer += chunk;
      const out: SseMessage[] = [];
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (data.length > 0) out.push({ id, event, data: data.join("\n") });
          data = [];
          event = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(value);
        else if (field === "id") id = value;
        else if (field === "event") event = value;
      }
      return out;
    },
  };
}

/** Options of {@link followEvents}. */
export interface FollowEventsOptions {
  hub: HubClient;
  /** Query string of /events/stream, with its leading "?" (or empty). */
  query: string;
  signal: AbortSignal;
  onEvent: (event: unknown) => void;
  /** Told when the connection dropped and is being opened again. */
  onReconnect?: (reason: string) => void;
  reconnectDelayMs?: number;
}

/**
 * Follows the hub's event stream until `signal` aborts. A dropped connection is opened again
 * with the id of the last event seen, so nothing is missed or shown twice; an answer other
 * than 200 (a bad token, a bad filter) ends it with that error.
 */
export async function followEvents(options: FollowEventsOptions): Promise<void> {
  const { hub, signal } = options;
  let lastEventId: string | undefined;
  while (!signal.aborted) {
    let reason = "the hub closed the stream";
    try {
      const body = await hub.stream(`/events/stream${options.query}`, { lastEventId, signal });
      const parser = createSseParser();
      const decoder = new TextDecoder();
      for await (const chunk of body) {
        for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (message.id !== undefined) lastEventId = message.id;
          options.onEvent(JSON.parse(message.data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof HubApiError && err.status !== 0 && err.status !== 503) throw err;
      reason = (err as Error).message;
    }
    if (signal.aborted) return;
    options.onReconnect?.(reason);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.reconnectDelayMs ?? 2_000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
