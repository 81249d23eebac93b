// `gitfleet diff FROM TO [--revision R]` and `gitfleet diff --cluster X --revisions A..B`: the
// hub's environment diff (GET /api/v1/diff) as a readable field diff.
import type { CommandContext } from "./commands.js";

/** What to compare: two environments at one commit, or one cluster at two. */
export type DiffRequest = { from: string; to: string; revision?: string | undefined } | { cluster: string; revisions: string };

interface Side {
  kind: string;
  name: string;
  pipeline?: string;
  commit: string;
  cluster: string;
  clusters: string[];
  uniform: boolean;
}

interface Field {
  path: string;
  field: string;
  from?: unknown;
  to?: unknown;
  redacted?: boolean;
}

/** The answer of GET /api/v1/diff. */
export interface DiffAnswer {
  from: Side;
  to: Side;
  bundles: string[];
  objects: { apiVersion: string; kind: string; namespace: string; name: string; change: string; bundle: string; fields: Field[] }[];
  counts: { added: number; removed: number; changed: number; unchanged: number };
  notes: string[];
}

const maxValue = 60;
const marks: Record<string, string> = { added: "+", removed: "-", changed: "~" };

/** `gitfleet diff`: prints each differing object and, under it, each differing field with both values. */
export async function diffCommand(ctx: CommandContext, request: DiffRequest): Promise<void> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request)) if (typeof value === "string" && value !== "") params.set(key, value);
  const answer = await ctx.hub.get<DiffAnswer>(`/diff?${params.toString()}`);
  ctx.print(ctx.output === "json" ? JSON.stringify(answer, null, 2) : renderDiff(answer));
}

/** The diff as text: a header naming both sides, one block per object, the counts and any notes. */
export function renderDiff(answer: DiffAnswer): string {
  const lines = [`${describeSide(answer.from)} → ${describeSide(answer.to)}`, `bundles: ${answer.bundles.join(", ") || "(none)"}`, ""];
  if (answer.objects.length === 0) lines.push("no differences", "");
  for (const object of answer.objects) {
    const where = object.namespace ? `${object.namespace}/${object.name}` : object.name;
    const what = object.change === "changed" ? "" : ` (${object.change})`;
    lines.push(`${marks[object.change] ?? "?"} ${object.kind} ${where}${what}  [${object.apiVersion}, bundle ${object.bundle}]`);
    const width = Math.max(0, ...object.fields.map((f) => f.field.length));
    for (const field of object.fields) lines.push(`    ${field.field.padEnd(width)}  ${valueOf(field, "from")} → ${valueOf(field, "to")}`);
  }
  if (answer.objects.length > 0) lines.push("");
  const { added, removed, changed, unchanged } = answer.counts;
  lines.push(`${changed} changed, ${added} added, ${removed} removed, ${unchanged} unchanged`);
  for (const note of answer.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

function describeSide(side: Side): string {
  const at = `at ${side.commit.slice(0, 7)}`;
  if (side.kind !== "stage") return `${side.name} (cluster, ${at})`;
  const through = side.uniform ? `${side.clusters.length} clusters` : `as ${side.cluster}`;
  return `${side.pipeline ?? ""}/${side.name} (stage, ${through}, ${at})`;
}

function valueOf(field: Field, side: "from" | "to"): string {
  if (field.redacted) return "(redacted)";
  if (!(side in field)) return "(absent)";
  const text = JSON.stringify(field[side]);
  return text.length > maxValue ? `${text.slice(0, maxValue - 1)}…` : text;
}
