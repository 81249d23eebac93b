// `gitfleet drift` and `gitfleet drift summary`: fleet-wide drift from the hub's drift API, every
// page of it, as a table of drifted fields or counts per group.
import type { CommandContext } from "./commands.js";
import { age, renderTable } from "./output.js";

/** The filters of both drift commands, as the API names them. */
export interface DriftFilters {
  clusterSelector?: string | undefined;
  bundle?: string | undefined;
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  state?: string | undefined;
  manager?: string | undefined;
  since?: string | undefined;
}

interface DriftField {
  path: string;
  desired: string;
  live: string;
  manager: string;
  redacted?: boolean;
  truncated?: boolean;
}

/** One drifted object as GET /api/v1/drift lists it. */
export interface DriftItemView {
  cluster: string;
  bundle: string;
  resource: { apiVersion: string; kind: string; namespace: string; name: string };
  state: string;
  fields: DriftField[];
  fieldsOmitted: number;
  firstSeen: string | null;
  stale: boolean;
}

interface Totals {
  clusters: number;
  clustersDrifted: number;
  objectsDrifted: number;
  clustersStale: number;
}

interface Group {
  key: string;
  clusters: number;
  objects: number;
  drifted: number;
  missing: number;
  conflict: number;
}

function query(filters: DriftFilters & Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value !== undefined && value !== "") params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

const maxValue = 40;

function value(text: string, field: DriftField): string {
  if (field.redacted) return "(redacted)";
  if (text === "") return "(absent)";
  // "…" marks a value cut here, or already cut by the agent (the cluster has the rest).
  return text.length > maxValue ? `${text.slice(0, maxValue - 1)}…` : field.truncated ? `${text}…` : text;
}

/** One row per drifted field; an object without fields (missing, or fields left out) gets one row too. */
interface Row {
  item: DriftItemView;
  field: DriftField | undefined;
  note: string;
}

function rows(items: readonly DriftItemView[]): Row[] {
  return items.flatMap((item): Row[] => {
    const fields: Row[] = item.fields.map((field) => ({ item, field, note: "" }));
    if (item.fieldsOmitted > 0) fields.push({ item, field: undefined, note: `(${item.fieldsOmitted} more fields)` });
    return fields.length > 0 ? fields : [{ item, field: undefined, note: item.state === "missing" ? "(object deleted)" : "-" }];
  });
}

function totalsLine(t: Totals): string {
  const stale = t.clustersStale > 0 ? `; ${t.clustersStale} stale (their last report)` : "";
  return `${t.objectsDrifted} objects drifted in ${t.clustersDrifted} of ${t.clusters} clusters${stale}`;
}

/** `gitfleet drift`: every drifted field of the clusters and objects the filters select. */
export async function driftList(ctx: CommandContext, filters: DriftFilters): Promise<void> {
  const items: DriftItemView[] = [];
  let totals: Totals | undefined;
  let next: string | undefined;
  do {
    const page = await ctx.hub.get<{ items: DriftItemView[]; totals: Totals; continue: string | null }>(`/drift${query({ ...filters, continue: next })}`);
    items.push(...page.items);
    totals = page.totals;
    next = page.continue ?? undefined;
  } while (next);
  const all = { items, totals };
  if (ctx.output === "json") {
    ctx.print(JSON.stringify(all, null, 2));
    return;
  }
  const table =
    items.length === 0
      ? "no drift"
      : renderTable(rows(items), [
          { header: "CLUSTER", value: (r) => (r.item.stale ? `${r.item.cluster} (stale)` : r.item.cluster) },
          { header: "OBJECT", value: ({ item: { resource: o } }) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}` },
          { header: "STATE", value: (r) => r.item.state },
          { header: "FIELD", value: (r) => r.field?.path ?? r.note },
          { header: "DESIRED", value: (r) => (r.field ? value(r.field.desired, r.field) : "-") },
          { header: "LIVE", value: (r) => (r.field ? value(r.field.live, r.field) : "-") },
          { header: "MANAGER", value: (r) => r.field?.manager || "-" },
          { header: "SINCE", value: (r) => age(r.item.firstSeen ?? undefined) },
        ]);
  ctx.print(totals ? `${table}\n\n${totalsLine(totals)}` : table);
}

/** `gitfleet drift summary --by cluster|bundle|kind|manager`. */
export async function driftSummary(ctx: CommandContext, groupBy: string, filters: DriftFilters): Promise<void> {
  const summary = await ctx.hub.get<{ groupBy: string; groups: Group[]; totals: Totals }>(`/drift/summary${query({ groupBy, ...filters })}`);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify(summary, null, 2));
    return;
  }
  const table =
    summary.groups.length === 0
      ? "no drift"
      : renderTable(summary.groups, [
          { header: groupBy.toUpperCase(), value: (g) => g.key || "(none)" },
          { header: "CLUSTERS", value: (g) => String(g.clusters) },
          { header: "OBJECTS", value: (g) => String(g.objects) },
          { header: "DRIFTED", value: (g) => String(g.drifted) },
          { header: "MISSING", value: (g) => String(g.missing) },
          { header: "CONFLICT", value: (g) => String(g.conflict) },
        ]);
  ctx.print(`${table}\n\n${totalsLine(summary.totals)}`);
}
