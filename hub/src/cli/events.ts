// `gitfleet events [--follow]`: the fleet's events, from the hub's event log.
import { followEvents } from "./event-stream.js";
import type { CommandContext } from "./commands.js";
import { renderTable } from "./output.js";

/** An event as the hub lists it. */
export interface EventView {
  sequence: number;
  id: string;
  type: string;
  time: string;
  cluster: { id: string; name: string };
  bundle?: string;
  resource?: { apiVersion: string; kind: string; namespace: string; name: string };
  message: string;
}

/** The filters and modes of `gitfleet events`. */
export interface EventsFlags {
  cluster?: string | undefined;
  bundle?: string | undefined;
  type?: string | undefined;
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  /** A duration back from now or an RFC 3339 time; default 1h. */
  since?: string | undefined;
  /** How many of the newest events to show; default 100. */
  limit?: number | undefined;
  follow?: boolean | undefined;
}

/** The query string of the events API for `flags` (with its "?"). */
export function eventsQuery(flags: EventsFlags, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const key of ["cluster", "bundle", "type", "kind", "namespace", "name"] as const) {
    const value = flags[key];
    if (value) params.set(key, value);
  }
  params.set("since", flags.since ?? "1h");
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return `?${params.toString()}`;
}

const object = (e: EventView): string =>
  e.resource ? `${e.resource.kind}/${e.resource.namespace ? `${e.resource.namespace}/` : ""}${e.resource.name}` : "-";

/** One line of the follow output; columns are fixed so that lines align as they come. */
export function eventLine(e: EventView): string {
  return [e.time.slice(0, 19).replace("T", " "), e.type.padEnd(16), e.cluster.name.padEnd(20), (e.bundle ?? "-").padEnd(16), object(e).padEnd(32), e.message]
    .join("  ")
    .trimEnd();
}

/**
 * `gitfleet events`: the newest events (oldest first, like a log), or with `follow` every new
 * one as it is recorded until `signal` aborts (Ctrl-C).
 */
export async function eventsCommand(ctx: CommandContext, flags: EventsFlags, signal: AbortSignal, warn: (text: string) => void): Promise<void> {
  if (flags.follow) {
    if (ctx.output === "table") ctx.print(["TIME".padEnd(19), "TYPE".padEnd(16), "CLUSTER".padEnd(20), "BUNDLE".padEnd(16), "OBJECT".padEnd(32), "MESSAGE"].join("  "));
    await followEvents({
      hub: ctx.hub,
      query: eventsQuery(flags),
      signal,
      onEvent: (event) => ctx.print(ctx.output === "json" ? JSON.stringify(event) : eventLine(event as EventView)),
      onReconnect: (reason) => warn(`event stream interrupted (${reason}); reconnecting`),
    });
    return;
  }
  const limit = flags.limit ?? 100;
  const items: EventView[] = [];
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await ctx.hub.get<{ items: EventView[]; continue?: string }>(`/events${eventsQuery(flags, { limit: "1000", ...(cursor ? { continue: cursor } : {}) })}`);
    items.push(...page.items);
    total += page.items.length;
    // Only the newest `limit` are shown: keep no more in memory.
    if (items.length > limit) items.splice(0, items.length - limit);
    cursor = page.continue;
  } while (cursor && !signal.aborted);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify({ items }, null, 2));
    return;
  }
  if (items.length === 0) {
    const since = flags.since ?? "1h";
    ctx.print(/^\d{4}-/.test(since) ? `no events since ${since}` : `no events in the last ${since}`);
    return;
  }
  if (total > items.length) warn(`showing the newest ${items.length} of ${total} events; use --limit or --since for more or fewer`);
  ctx.print(
    renderTable(items, [
      { header: "TIME", value: (e) => e.time.slice(0, 19).replace("T", " ") },
      { header: "TYPE", value: (e) => e.type },
      { header: "CLUSTER", value: (e) => e.cluster.name },
      { header: "BUNDLE", value: (e) => e.bundle ?? "-" },
      { header: "OBJECT", value: object },
      { header: "MESSAGE", value: (e) => e.message },
    ]),
  );
}
