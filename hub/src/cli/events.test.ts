import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createSseParser, followEvents } from "./event-stream.js";
import { eventLine, eventsCommand, eventsQuery, type EventView } from "./events.js";
import { HubApiError, type HubClient } from "./hub-client.js";

const event = (sequence: number, init: Partial<EventView> = {}): EventView => ({
  sequence,
  id: `e${sequence}`,
  type: "drift-detected",
  time: `2026-05-01T12:00:0${sequence % 10}.000Z`,
  cluster: { id: "cabc", name: "prod-eu-1" },
  bundle: "web",
  resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" },
  message: `change ${sequence}`,
  ...init,
});

const sse = (...chunks: string[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

const unused = (): never => {
  throw new Error("not used");
};
const fakeHub = (init: Partial<HubClient>): HubClient => ({ get: unused, post: unused, patch: unused, delete: unused, stream: unused, ...init });

void describe("the event stream client", () => {
  void it("parses SSE across chunk boundaries, skipping comments and keeping the last id", () => {
    const parser = createSseParser();
    assert.deepEqual(parser.push("retry: 3000\n: connected\n\nid: 4\nda"), []);
    assert.deepEqual(parser.push('ta: {"a":1}\r\n\r\n: keep-alive\n\nevent: x\ndata: line1\ndata: line2\n\n'), [
      { id: "4", event: undefined, data: '{"a":1}' },
      { id: "4", event: "x", data: "line1\nline2" },
    ]);
  });

  void it("reconnects after the stream dropped, resuming after the last event seen", async () => {
    const calls: Array<string | undefined> = [];
    const stop = new AbortController();
    const seen: number[] = [];
    const hub = fakeHub({
      stream(_path, { lastEventId }) {
        calls.push(lastEventId);
        if (calls.length === 1) return Promise.resolve(sse(`id: 1\ndata: ${JSON.stringify(event(1))}\n\n`));
        if (calls.length === 2) return Promise.reject(new HubApiError(0, "unavailable", "cannot reach the hub"));
        return Promise.resolve(sse(`id: 2\ndata: ${JSON.stringify(event(2))}\n\n`));
      },
    });
    const reasons: string[] = [];
    await followEvents({
      hub,
      query: "",
      signal: stop.signal,
      reconnectDelayMs: 1,
      onEvent: (e) => {
        seen.push((e as EventView).sequence);
        if (seen.length === 2) stop.abort();
      },
      onReconnect: (reason) => reasons.push(reason),
    });
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(calls, [undefined, "1", "1"]);
    assert.deepEqual(reasons, ["the hub closed the stream", "cannot reach the hub"]);
  });

  void it("stops on an answer that reconnecting cannot fix", async () => {
    const hub = fakeHub({ stream: () => Promise.reject(new HubApiError(401, "unauthenticated", "missing or invalid bearer token")) });
    await assert.rejects(followEvents({ hub, query: "", signal: new AbortController().signal, onEvent: () => undefined }), /bearer token/);
  });
});

void describe("gitfleet events", () => {
  void it("asks for the last hour by default, with the filters given", () => {
    assert.equal(eventsQuery({}), "?since=1h");
    assert.equal(eventsQuery({ cluster: "prod", type: "conflict,sync-failed", since: "2026-05-01T00:00:00Z" }, { limit: "5" }), "?cluster=prod&type=conflict%2Csync-failed&since=2026-05-01T00%3A00%3A00Z&limit=5");
  });

  void it("reads every page and shows the newest events, oldest first", async () => {
    const paths: string[] = [];
    const pages: Record<string, { items: EventView[]; continue?: string }> = {
      "": { items: [event(1), event(2)], continue: "2" },
      "2": { items: [{ sequence: 3, id: "e3", type: "cluster-stale", time: "2026-05-01T12:00:03.000Z", cluster: { id: "cabc", name: "prod-eu-1" }, message: "silent" }] },
    };
    const hub = fakeHub({
      get: <T>(path: string) => {
        paths.push(path);
        return Promise.resolve(pages[new URLSearchParams(path.split("?")[1]).get("continue") ?? ""] as T);
      },
    });
    const printed: string[] = [];
    const warnings: string[] = [];
    await eventsCommand({ hub, output: "table", print: (t) => printed.push(t) }, { limit: 2 }, new AbortController().signal, (w) => warnings.push(w));
    assert.deepEqual(paths, ["/events?since=1h&limit=1000", "/events?since=1h&limit=1000&continue=2"]);
    assert.deepEqual(printed[0]?.split("\n"), [
      "TIME                  TYPE             CLUSTER     BUNDLE   OBJECT               MESSAGE",
      "2026-05-01 12:00:02   drift-detected   prod-eu-1   web      Deployment/web/web   change 2",
      "2026-05-01 12:00:03   cluster-stale    prod-eu-1   -        -                    silent",
    ]);
    assert.deepEqual(warnings, ["showing the newest 2 of 3 events; use --limit or --since for more or fewer"]);
  });

  void it("says so when there is nothing to show", async () => {
    const printed: string[] = [];
    const hub = fakeHub({ get: <T>() => Promise.resolve({ items: [] } as T) });
    await eventsCommand({ hub, output: "table", print: (t) => printed.push(t) }, { since: "30m" }, new AbortController().signal, () => undefined);
    assert.deepEqual(printed, ["no events in the last 30m"]);
  });

  void it("follows as JSON lines until stopped", async () => {
    const stop = new AbortController();
    const printed: string[] = [];
    const hub = fakeHub({ stream: () => Promise.resolve(sse(`id: 7\ndata: ${JSON.stringify(event(7))}\n\n`)) });
    await eventsCommand(
      {
        hub,
        output: "json",
        print: (t) => {
          printed.push(t);
          stop.abort();
        },
      },
      { follow: true },
      stop.signal,
      () => undefined,
    );
    assert.deepEqual(printed.map((p) => (JSON.parse(p) as EventView).sequence), [7]);
    assert.equal(eventLine(event(7)).startsWith("2026-05-01 12:00:07  drift-detected    prod-eu-1"), true);
  });
});
