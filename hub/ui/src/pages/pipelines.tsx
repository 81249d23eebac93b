// Pipelines: the list, and one pipeline stage by stage (values, revision, clusters, gates with
// their reasons, last promotion), its recent promotions, and for admins Promote and Rollback,
// each confirmed in a dialog that shows the dry run's diff first.
import { useState } from "preact/hooks";
import { api, ApiError, type Caller, type DryRun, type GateResult, type PipelineView, type Promotion, type StageView } from "../api.js";
import { ConfirmDialog } from "../components/dialog.js";
import { UnifiedDiff } from "../components/diff.js";
import { Badge } from "../components/state.js";
import { short, when } from "../format.js";
import { Link } from "../link.js";
import { useLive } from "../live.js";

/** The list of pipelines. */
export function PipelinesPage() {
  const live = useLive((signal) => api<{ items: { name: string; bundle: string; stages: string[]; held: boolean }[] }>("/pipelines", { signal }), [], {
    pollMs: 30_000,
  });
  return (
    <>
      <h1 tabIndex={-1}>Pipelines</h1>
      {live.error && (
        <p role="alert" class="error">
          {live.error.message}
        </p>
      )}
      {live.data && live.data.items.length === 0 && <p>fleet.yaml defines no pipeline.</p>}
      <ul class="plain">
        {live.data?.items.map((p) => (
          <li key={p.name}>
            <Link href={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link> (bundle {p.bundle}): {p.stages.join(" → ")}
            {p.held ? " · auto-promotion held" : ""}
          </li>
        ))}
      </ul>
    </>
  );
}

function Gates(props: { gates: GateResult[] }) {
  if (props.gates.length === 0) return <p class="muted">No gates.</p>;
  return (
    <ul class="gates">
      {props.gates.map((g) => (
        <li key={g.gate}>
          <Badge state={g.passed ? "passed" : "blocked"} label={`${g.gate}: ${g.passed ? "passed" : "blocked"}`} /> {g.message}
          {g.clusters.length > 0 ? ` (${g.clusters.join(", ")})` : ""}
        </li>
      ))}
    </ul>
  );
}

function Stage(props: { stage: StageView }) {
  const s = props.stage;
  return (
    <section class="card stage" aria-labelledby={`stage-${s.name}`} data-stage={s.name}>
      <h2 id={`stage-${s.name}`}>
        {s.name} {s.auto ? <span class="muted">(auto)</span> : null}
      </h2>
      <dl class="facts">
        <dt>Runs</dt>
        <dd data-testid={`values-${s.name}`}>
          {s.values.map((v) => (
            <div key={`${v.file}:${v.key}`}>
              <code>{v.value ?? "(none)"}</code>
            </div>
          ))}
        </dd>
        <dt>Revision</dt>
        <dd>
          <code>{short(s.revision)}</code>
        </dd>
        <dt>Clusters</dt>
        <dd>
          {s.clusters.total} total: {s.clusters.synced} synced, {s.clusters.healthy} healthy, {s.clusters.drifted} drifted, {s.clusters.stale} stale
        </dd>
        <dt>Last promotion</dt>
        <dd>
          {s.lastPromotion ? (
            <>
              <Badge state={s.lastPromotion.state} /> {s.lastPromotion.kind} from {s.lastPromotion.from} by {s.lastPromotion.author}, {when(s.lastPromotion.updatedAt)}
            </>
          ) : (
            "none"
          )}
        </dd>
      </dl>
      <h3>Gates out of {s.name}</h3>
      <Gates gates={s.gates.gates} />
    </section>
  );
}

type Pending = { kind: "promote"; from: string; to: string } | { kind: "rollback"; promotion: Promotion };

function ActionDialog(props: { pipeline: string; pending: Pending; onDone: (message: string) => void; onCancel: () => void }) {
  const { pending } = props;
  const title = pending.kind === "promote" ? `Promote ${props.pipeline}: ${pending.from} → ${pending.to}` : `Roll back promotion ${pending.promotion.id}`;
  const run = (dryRun: boolean) =>
    pending.kind === "promote"
      ? api<DryRun | { promotion: Promotion }>("/promotions", { method: "POST", body: { pipeline: props.pipeline, from: pending.from, to: pending.to, dryRun } })
      : api<DryRun | { promotion: Promotion }>(`/promotions/${encodeURIComponent(pending.promotion.id)}/rollback`, { method: "POST", body: { dryRun } });
  // The dry run, once when the dialog opens; events do not redo it.
  const preview = useLive(() => run(true) as Promise<DryRun>, [], { relevant: () => false });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const refusal = preview.error instanceof ApiError ? preview.error : undefined;
  const refusedGates = (refusal?.body as { gates?: { gates: GateResult[] } } | undefined)?.gates?.gates;
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={pending.kind === "promote" ? "Promote" : "Roll back"}
      confirmDisabled={!preview.data}
      busy={busy}
      onCancel={props.onCancel}
      onConfirm={() => {
        setBusy(true);
        run(false).then(
          (result) => props.onDone("promotion" in result ? `${result.promotion.kind} ${result.promotion.id}: ${result.promotion.state}` : "done"),
          (err: unknown) => {
            setBusy(false);
            setError((err as Error).message);
          },
        );
      }}
    >
      {preview.loading && <p aria-live="polite">Computing what it would change (dry run)…</p>}
      {preview.error && (
        <div role="alert" class="error">
          <p>{preview.error.message}</p>
          {refusedGates && <Gates gates={refusedGates} />}
        </div>
      )}
      {preview.data && (
        <>
          <p>It would set:</p>
          <ul>
            {preview.data.values.map((v) => (
              <li key={`${v.file}:${v.key}`}>
                <code>{v.value ?? "(removed)"}</code> in {v.file}
              </li>
            ))}
          </ul>
          <div data-testid="dry-run-diff">
            {preview.data.diff.map((d) => (
              <UnifiedDiff key={d.file} file={d.file} diff={d.diff} />
            ))}
          </div>
          {preview.data.gates && <Gates gates={preview.data.gates.gates} />}
        </>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </ConfirmDialog>
  );
}

/** One pipeline. */
export function PipelinePage(props: { name: string; caller: Caller }) {
  const path = `/pipelines/${encodeURIComponent(props.name)}`;
  const live = useLive(
    async (signal) => {
      const [pipeline, promotions] = await Promise.all([
        api<PipelineView>(path, { signal }),
        api<{ items: Promotion[] }>(`/promotions?pipeline=${encodeURIComponent(props.name)}&limit=10`, { signal }),
      ]);
      return { pipeline, promotions: promotions.items };
    },
    [props.name],
    { minIntervalMs: 1_000, pollMs: 5_000 },
  );
  const [pending, setPending] = useState<Pending | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const admin = props.caller.role === "admin";
  const p = live.data?.pipeline;
  return (
    <>
      <h1 tabIndex={-1}>Pipeline {props.name}</h1>
      {live.error && (
        <p role="alert" class="error">
          {live.error.message}
        </p>
      )}
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {p && (
        <>
          <p class="muted">
            Bundle {p.bundle} at <code>{short(p.commit)}</code>
            {p.held ? ` · auto-promotion held: ${p.held.reason}` : ""}
            {admin ? "" : " · you have the viewer role: promoting needs an admin token"}
          </p>
          <div class="stages">
            {p.stages.map((s, i) => {
              const next = p.stages[i + 1];
              return (
                <div class="stage-step" key={s.name}>
                  <Stage stage={s} />
                  {next && admin && (
                    <button type="button" class="primary promote" onClick={() => setPending({ kind: "promote", from: s.name, to: next.name })}>
                      Promote {s.name} → {next.name}
                    </button>
                  )}
                </div>
              );
            })}
          </div>
          <h2>Last promotions</h2>
          {live.data && live.data.promotions.length === 0 && <p>None yet.</p>}
          <table>
            <thead>
              <tr>
                <th scope="col">Promotion</th>
                <th scope="col">From → to</th>
                <th scope="col">Values</th>
                <th scope="col">State</th>
                <th scope="col">By</th>
                {admin && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {live.data?.promotions.map((r) => (
                <tr key={r.id} data-promotion={r.id}>
                  <td>
                    {r.kind} <code>{r.id}</code>
                    <div class="muted">{when(r.createdAt)}</div>
                  </td>
                  <td>
                    {r.from.stage} → {r.to.stage}
                  </td>
                  <td>
                    {r.values.map((v) => (
                      <div key={`${v.file}:${v.key}`}>
                        <code>{v.value ?? "(none)"}</code>
                      </div>
                    ))}
                  </td>
                  <td>
                    <Badge state={r.state} />
                    {r.message ? <div class="muted">{r.message}</div> : null}
                  </td>
                  <td>{r.automatic ? "automatic" : r.author}</td>
                  {admin && (
                    <td>
                      {r.kind === "promotion" && !r.rolledBackBy && r.commit && (
                        <button type="button" onClick={() => setPending({ kind: "rollback", promotion: r })}>
                          Roll back
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {pending && (
        <ActionDialog
          pipeline={props.name}
          pending={pending}
          onCancel={() => setPending(undefined)}
          onDone={(message) => {
            setPending(undefined);
            setNotice(message);
            live.reload();
          }}
        />
      )}
    </>
  );
}
