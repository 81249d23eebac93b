// The fleet's live events: one Server-Sent Events stream per tab, read with fetch (an
// EventSource cannot send the bearer token), shared by every page that listens.
import type { FleetEvent } from "./api.js";
import { storedToken } from "./session.js";

type Listener = (event: FleetEvent) => void;
type StateListener = (state: StreamState) => void;

/** Whether the stream is connected. */
export type StreamState = "connecting" | "live" | "retrying";

const listeners = new Set<Listener>();
const stateListeners = new Set<StateListener>();
let state: StreamState = "connecting";
let controller: AbortController | undefined;
let lastId: string | undefined;

function setState(next: StreamState): void {
  state = next;
  for (const l of stateListeners) l(next);
}

/** Parses the SSE messages in `buffer`; returns the unparsed rest. */
function parse(buffer: string, emit: (id: string | undefined, data: string) => void): string {
  let at: number;
  while ((at = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, at);
    buffer = buffer.slice(at + 2);
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length > 0) emit(id, data.join("\n"));
  }
  return buffer;
}

async function follow(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: "text/event-stream", authorization: `Bearer ${storedToken() ?? ""}` };
      if (lastId !== undefined) headers["last-event-id"] = lastId;
      const response = await fetch("/api/v1/events/stream", { headers, signal });
      if (!response.ok || !response.body) throw new Error(`events stream: ${response.status}`);
      setState("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parse((buffer + value).replaceAll("\r\n", "\n"), (id, data) => {
          if (id !== undefined) lastId = id;
          try {
            const event = JSON.parse(data) as FleetEvent;
            for (const l of listeners) l(event);
          } catch {
            // Not an event of ours; the stream goes on.
          }
        });
      }
    } catch {
      if (signal.aborted) return;
    }
    setState("retrying");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  }
}

/** Starts following the stream (after sign-in). */
export function startEvents(): void {
  if (controller) return;
  controller = new AbortController();
  setState("connecting");
  void follow(controller.signal);
}

/** Stops following (sign-out). */
export function stopEvents(): void {
  controller?.abort();
  controller = undefined;
  lastId = undefined;
}

/** Calls `listener` with every event; returns the unsubscribe. */
export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls `listener` when the stream's state changes; returns the unsubscribe. */
export function onStreamState(listener: StateListener): () => void {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}
