// The fleet overview: clusters × bundles, each cell the bundle's sync, health and drift in that
// cluster. The label selector is applied by the hub; the rows are windowed.
import { useState } from "preact/hooks";
import { api, query, type BundleList, type ClusterItem, type ClusterList } from "../api.js";
import { Cell, cellState } from "../components/state.js";
import { VirtualRows } from "../components/virtual-rows.js";
import { labelText } from "../format.js";
import { useLive } from "../live.js";
import { Link } from "../link.js";
import { replaceQuery } from "../router.js";

interface Overview {
  clusters: ClusterItem[];
  total: number;
  bundles: string[];
  loadedMs: number;
}

async function loadOverview(selector: string, signal: AbortSignal): Promise<Overview> {
  const started = performance.now();
  const clusters: ClusterItem[] = [];
  let cursor: string | undefined;
  let total = 0;
  do {
    const page = await api<ClusterList>(`/clusters${query({ clusterSelector: selector, bundles: true, limit: 5000, continue: cursor })}`, { signal });
    clusters.push(...page.items);
    total = page.total ?? clusters.length;
    cursor = page.continue ?? undefined;
  } while (cursor !== undefined);
  const fleet = await api<BundleList>("/bundles", { signal });
  const names = new Set(fleet.items.map((b) => b.name));
  for (const c of clusters) for (const b of c.bundles ?? []) names.add(b.name);
  return { clusters, total, bundles: [...names].sort(), loadedMs: performance.now() - started };
}

/** The overview page. */
export function OverviewPage(props: { initialSelector: string }) {
  const [draft, setDraft] = useState(props.initialSelector);
  const [selector, setSelector] = useState(props.initialSelector);
  const live = useLive((signal) => loadOverview(selector, signal), [selector], { minIntervalMs: 1_000, pollMs: 15_000 });
  const data = live.data;
  const counts = { synced: 0, drifted: 0, failed: 0, stale: 0, other: 0 };
  for (const c of data?.clusters ?? []) {
    for (const b of c.bundles ?? []) {
      const s = cellState(b);
      if (s === "synced" || s === "drifted" || s === "failed" || s === "stale") counts[s]++;
      else counts.other++;
    }
  }
  const columns = data?.bundles ?? [];
  const template = `minmax(10rem, 1.4fr) 8rem repeat(${Math.max(columns.length, 1)}, minmax(9rem, 1fr))`;
  return (
    <>
      <h1 tabIndex={-1}>Fleet overview</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSelector(draft.trim());
          replaceQuery({ selector: draft.trim() || undefined });
        }}
      >
        <label for="selector">Label selector</label>
        <input id="selector" name="selector" value={draft} placeholder="env=prod,region in (eu,us)" onInput={(e) => setDraft(e.currentTarget.value)} />
        <button type="submit">Filter</button>
        <span class="hint">Applied by the hub, like <code>gitfleet cluster list --selector</code>.</span>
      </form>
      {live.error && (
        <p role="alert" class="error">
          {live.error.message}
        </p>
      )}
      {data && (
        <>
          <p class="summary" aria-live="polite" data-testid="overview-summary">
            {data.total} {data.total === 1 ? "cluster" : "clusters"}, {columns.length} bundles: {counts.synced} synced, {counts.drifted} drifted, {counts.failed}{" "}
            failed, {counts.stale} stale, {counts.other} other.
          </p>
          <VirtualRows
            label="Clusters and their bundles"
            items={data.clusters}
            rowHeight={38}
            height={Math.min(600, Math.max(120, data.clusters.length * 38 + 4))}
            header={
              <div role="row" aria-rowindex={1} class="vrow vhead" style={{ gridTemplateColumns: template }}>
                <span role="columnheader">Cluster</span>
                <span role="columnheader">Agent</span>
                {columns.map((b) => (
                  <span role="columnheader" key={b}>
                    {b}
                  </span>
                ))}
              </div>
            }
            row={(c) => (
              <div class="vcells" style={{ gridTemplateColumns: template }} data-cluster={c.name}>
                <span role="rowheader" title={labelText(c.labels)}>
                  <Link href={`/clusters/${encodeURIComponent(c.name)}`}>{c.name}</Link>
                </span>
                <span role="gridcell">{c.stale ? "⌛ stale" : c.connected ? "● connected" : "○ offline"}</span>
                {columns.map((b) => (
                  <span role="gridcell" key={b} data-bundle={b}>
                    <Cell cell={c.bundles?.find((x) => x.name === b)} />
                  </span>
                ))}
              </div>
            )}
          />
        </>
      )}
      {!data && live.loading && <p aria-live="polite">Loading the fleet…</p>}
    </>
  );
}
