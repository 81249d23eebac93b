// The live feed: the last hour of fleet events, then each new one as the stream brings it.
import { useEffect, useState } from "preact/hooks";
import { api, type FleetEvent } from "../api.js";
import { onEvent } from "../events.js";
import { Badge } from "../components/state.js";
import { objectName, when } from "../format.js";
import { Link } from "../link.js";

const keep = 500;

function tone(type: string): string {
  if (/corrected|recovered|back|synced/.test(type)) return "synced";
  if (/failed|degraded|conflict/.test(type)) return "failed";
  if (/stale/.test(type)) return "stale";
  return "drifted";
}

/** The events page. */
export function EventsPage() {
  const [events, setEvents] = useState<FleetEvent[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    const seen = new Set<number>();
    const add = (list: FleetEvent[]): void => {
      const fresh = list.filter((e) => !seen.has(e.sequence));
      for (const e of fresh) seen.add(e.sequence);
      if (fresh.length) setEvents((old) => [...fresh.reverse(), ...old].slice(0, keep));
    };
    const off = onEvent((e) => add([e]));
    api<{ items: FleetEvent[] }>("/events?since=1h&limit=1000", { signal: controller.signal }).then(
      (page) => add(page.items.slice(-keep)),
      (err: unknown) => {
        if (!controller.signal.aborted) setError((err as Error).message);
      },
    );
    return () => {
      off();
      controller.abort();
    };
  }, []);
  return (
    <>
      <h1 tabIndex={-1}>Events</h1>
      <p class="muted">The last hour, newest first; new events appear as the hub records them.</p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {events.length === 0 && !error && <p>No event in the last hour.</p>}
      <ol class="events" aria-live="polite" aria-relevant="additions">
        {events.map((e) => (
          <li key={e.sequence} data-event={e.type}>
            <time dateTime={e.time}>{when(e.time)}</time> <Badge state={tone(e.type)} label={e.type} />{" "}
            <Link href={`/clusters/${encodeURIComponent(e.cluster.name)}`}>{e.cluster.name}</Link>
            {e.bundle ? ` · ${e.bundle}` : ""}
            {e.resource ? ` · ${objectName(e.resource)}` : ""} — {e.message}
          </li>
        ))}
      </ol>
    </>
  );
}
