// A cluster: its labels and agent, each bundle with its resources and their state, drifted
// fields as desired against live, errors, and the revisions it reached.
import { api, type ClusterDetail, type HistoryItem } from "../api.js";
import { DriftFieldsTable } from "../components/drift-fields.js";
import { Badge } from "../components/state.js";
import { labelText, objectName, short, when } from "../format.js";
import { useLive } from "../live.js";

/** The cluster page. */
export function ClusterPage(props: { name: string }) {
  const path = `/clusters/${encodeURIComponent(props.name)}`;
  const live = useLive(
    async (signal) => {
      const [detail, history] = await Promise.all([
        api<ClusterDetail>(path, { signal }),
        api<{ items: HistoryItem[] }>(`${path}/history?limit=20`, { signal }).catch(() => ({ items: [] as HistoryItem[] })),
      ]);
      return { detail, history: history.items };
    },
    [props.name],
    { relevant: (e) => e.cluster.name === props.name, pollMs: 15_000 },
  );
  const c = live.data?.detail;
  return (
    <>
      <h1 tabIndex={-1}>Cluster {props.name}</h1>
      {live.error && (
        <p role="alert" class="error">
          {live.error.message}
        </p>
      )}
      {c && (
        <>
          <dl class="facts">
            <dt>Agent</dt>
            <dd>
              <Badge state={c.stale ? "stale" : c.connected ? "connected" : "disconnected"} /> {c.agentVersion} on Kubernetes {c.kubernetesVersion}
            </dd>
            <dt>Labels</dt>
            <dd>{labelText(c.labels) || "—"}</dd>
            <dt>Revision</dt>
            <dd>
              <code>{short(c.observedRevision)}</code>, reported {when(c.reportedAt)}
            </dd>
          </dl>
          {c.errors.length > 0 && (
            <section aria-labelledby="errors-h">
              <h2 id="errors-h">Delivery errors</h2>
              <ul>
                {c.errors.map((e, i) => (
                  <li key={i} class="error">
                    <Badge state="error" /> {e.bundle}: {e.message}
                    {e.file ? ` (${e.file}${e.line ? `:${e.line}` : ""})` : ""}
                  </li>
                ))}
              </ul>
            </section>
          )}
          <h2>Bundles</h2>
          {c.bundles.length === 0 && <p>No bundle reported yet.</p>}
          {c.bundles.map((b) => (
            <section key={b.name} class="card" aria-labelledby={`bundle-${b.name}`} data-bundle={b.name}>
              <h3 id={`bundle-${b.name}`}>
                {b.name} <Badge state={b.sync} /> <Badge state={b.health} />{" "}
                {b.driftedCount > 0 ? <Badge state="drifted" label={`${b.driftedCount} drifted`} /> : <Badge state="in-sync" label="no drift" />}
              </h3>
              <p class="muted">
                revision <code>{short(b.revision)}</code>, {b.resourceCount} objects, drift {b.driftMode}, applied {when(b.lastAppliedAt)}
                {b.message ? ` — ${b.message}` : ""}
              </p>
              <table>
                <caption class="sr-only">Objects of {b.name}</caption>
                <thead>
                  <tr>
                    <th scope="col">Object</th>
                    <th scope="col">Sync</th>
                    <th scope="col">Health</th>
                    <th scope="col">Drift</th>
                  </tr>
                </thead>
                <tbody>
                  {b.resources.map((r) => (
                    <>
                      <tr key={objectName(r.resource)}>
                        <td>{objectName(r.resource)}</td>
                        <td>
                          <Badge state={r.sync} />
                        </td>
                        <td>
                          <Badge state={r.health} />
                        </td>
                        <td>
                          <Badge state={r.drift} />
                          {r.corrections > 0 ? ` corrected ${r.corrections}×` : ""}
                        </td>
                      </tr>
                      {r.fields.length > 0 && (
                        <tr key={`${objectName(r.resource)}-fields`}>
                          <td colSpan={4}>
                            <DriftFieldsTable fields={r.fields} omitted={r.fieldsOmitted} caption={`Drifted fields of ${objectName(r.resource)}`} />
                          </td>
                        </tr>
                      )}
                    </>
                  ))}
                </tbody>
              </table>
            </section>
          ))}
          <h2>History</h2>
          {live.data && live.data.history.length === 0 && <p>No revision recorded yet.</p>}
          <ol class="history">
            {live.data?.history.map((h) => (
              <li key={`${h.revision}-${h.reachedAt}`}>
                <code>{short(h.revision)}</code> reached {when(h.reachedAt)}
                {h.subject ? ` — ${h.subject}` : ""}
                {h.author ? ` (${h.author})` : ""}
                {h.promotion ? ` · promotion ${h.promotion}` : ""}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}
