// Fleet-wide drift: the drift query with its filters, grouped by bundle, cluster or kind, each
// object with its drifted fields, desired against live. Updates on drift events.
import { useState } from "preact/hooks";
import { api, query, type DriftItem, type DriftPage } from "../api.js";
import { DriftFieldsTable } from "../components/drift-fields.js";
import { Badge } from "../components/state.js";
import { objectName } from "../format.js";
import { Link } from "../link.js";
import { useLive } from "../live.js";
import { replaceQuery } from "../router.js";

type GroupBy = "bundle" | "cluster" | "kind";

interface Filters {
  clusterSelector: string;
  bundle: string;
  kind: string;
  state: string;
}

const keyOf = (item: DriftItem, by: GroupBy): string => (by === "kind" ? item.resource.kind : item[by]);

/** The drift page. */
export function DriftPage(props: { search: URLSearchParams }) {
  const initial: Filters = {
    clusterSelector: props.search.get("clusterSelector") ?? "",
    bundle: props.search.get("bundle") ?? "",
    kind: props.search.get("kind") ?? "",
    state: props.search.get("state") ?? "",
  };
  const [draft, setDraft] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  const [groupBy, setGroupBy] = useState<GroupBy>((props.search.get("groupBy") as GroupBy | null) ?? "bundle");
  const live = useLive((signal) => api<DriftPage>(`/drift${query({ ...filters, limit: 1000 })}`, { signal }), [JSON.stringify(filters)], {
    relevant: (e) => e.type.startsWith("drift") || e.type.startsWith("conflict") || e.type.startsWith("cluster"),
    pollMs: 20_000,
  });
  const groups = new Map<string, DriftItem[]>();
  for (const item of live.data?.items ?? []) {
    const key = keyOf(item, groupBy);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  const field = (name: keyof Filters, label: string, placeholder: string) => (
    <>
      <label for={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} value={draft[name]} placeholder={placeholder} onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} />
    </>
  );
  const totals = live.data?.totals;
  return (
    <>
      <h1 tabIndex={-1}>Drift</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          replaceQuery({ ...draft, groupBy });
        }}
      >
        {field("clusterSelector", "Cluster selector", "region=eu")}
        {field("bundle", "Bundle", "web")}
        {field("kind", "Kind", "Deployment")}
        <label for="f-state">State</label>
        <select id="f-state" value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value })}>
          <option value="">drifted, missing, conflict</option>
          <option value="drifted">drifted</option>
          <option value="missing">missing</option>
          <option value="conflict">conflict</option>
        </select>
        <button type="submit">Filter</button>
        <label for="f-group">Group by</label>
        <select
          id="f-group"
          value={groupBy}
          onChange={(e) => {
            const by = e.currentTarget.value as GroupBy;
            setGroupBy(by);
            replaceQuery({ ...filters, groupBy: by });
          }}
        >
          <option value="bundle">bundle</option>
          <option value="cluster">cluster</option>
          <option value="kind">kind</option>
        </select>
      </form>
      {live.error && (
        <p role="alert" class="error">
          {live.error.message}
        </p>
      )}
      {totals && (
        <p class="summary" aria-live="polite" data-testid="drift-summary">
          {totals["objectsDrifted"] ?? 0} drifted objects in {totals["clustersDrifted"] ?? 0} of {totals["clusters"] ?? 0} clusters
          {(totals["clustersStale"] ?? 0) > 0 ? ` (${totals["clustersStale"]} stale)` : ""}.
        </p>
      )}
      {live.data && live.data.items.length === 0 && <p>No drift: every object matches Git.</p>}
      {[...groups.entries()].map(([key, items]) => (
        <section class="card" key={key} aria-labelledby={`g-${key}`}>
          <h2 id={`g-${key}`}>
            {groupBy} {key} <span class="muted">({items.length})</span>
          </h2>
          <ul class="drift-items">
            {items.map((item) => (
              <li key={`${item.cluster}/${item.bundle}/${objectName(item.resource)}`} data-drift={`${item.cluster}/${objectName(item.resource)}`}>
                <Badge state={item.state} /> {objectName(item.resource)} in <Link href={`/clusters/${encodeURIComponent(item.cluster)}`}>{item.cluster}</Link>, bundle{" "}
                {item.bundle}
                {item.stale ? " (stale: last reported)" : ""}
                <DriftFieldsTable fields={item.fields} />
              </li>
            ))}
          </ul>
        </section>
      ))}
      {live.data?.continue && <p>More drift than one page shows: narrow the filters.</p>}
    </>
  );
}
