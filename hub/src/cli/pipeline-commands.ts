// `gitfleet pipeline list|get|resume`: where each stage of a pipeline is, what it runs, and
// whether a promotion out of it could start now.
import type { CommandContext } from "./commands.js";
import { age, renderTable } from "./output.js";
import { indent, shortSha, valuesText, type PipelineStageView, type PipelineSummaryView, type PipelineView } from "./promotion-views.js";

const counts = (s: PipelineStageView): string => {
  const c = s.clusters;
  if (!c) return "-";
  const total = c.total ?? 0;
  return `${c.synced ?? 0}/${total} synced, ${c.healthy ?? 0}/${total} healthy${c.drifted ? `, ${c.drifted} drifted` : ""}${c.stale ? `, ${c.stale} stale` : ""}`;
};

const gatesCell = (s: PipelineStageView, last: boolean): string => {
  if (!s.gates) return last ? "-" : "?";
  return s.gates.passed ? "pass" : `FAIL (${s.gates.gates.filter((g) => !g.passed).map((g) => g.gate).join(", ")})`;
};

function holdText(p: PipelineView): string | undefined {
  const h = p.held;
  if (!h) return undefined;
  const why = h.reason ?? (h.promotion ? `promotion ${h.promotion} was rolled back` : "");
  return `auto-promotion held${why ? `: ${why}` : ""}${h.since ? ` (since ${h.since})` : ""}; resume it with gitfleet pipeline resume ${p.name}`;
}

/** `gitfleet pipeline get NAME`: one row per stage, then why the failing gates fail. */
export async function pipelineGet(ctx: CommandContext, name: string): Promise<void> {
  const p = await ctx.hub.get<PipelineView>(`/pipelines/${encodeURIComponent(name)}`);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify(p, null, 2));
    return;
  }
  const parts = [
    `pipeline ${p.name}${p.bundle ? ` (bundle ${p.bundle})` : ""}: ${p.stages.map((s) => s.name).join(" → ")}`,
    renderTable(p.stages, [
      { header: "STAGE", value: (s) => s.name },
      { header: "VALUES", value: (s) => valuesText(s.values) },
      { header: "REVISION", value: (s) => shortSha(s.revision) },
      { header: "CLUSTERS", value: counts },
      { header: "LAST PROMOTION", value: (s) => (s.lastPromotion ? `${s.lastPromotion.id} ${s.lastPromotion.state}${s.lastPromotion.updatedAt ? ` ${age(s.lastPromotion.updatedAt)}` : ""}` : "-") },
      { header: "GATES", value: (s) => gatesCell(s, s === p.stages.at(-1)) },
    ]),
  ];
  const hold = holdText(p);
  if (hold) parts.push(hold);
  const failing = p.stages.flatMap((s) => (s.gates?.gates ?? []).filter((g) => !g.passed).map((g) => `${s.name}: ${g.gate}: ${g.message}`));
  if (failing.length > 0) parts.push(`gates not passed:\n${indent(failing.join("\n"))}`);
  ctx.print(parts.join("\n\n"));
}

/** `gitfleet pipeline list`. */
export async function pipelineList(ctx: CommandContext): Promise<void> {
  const { items } = await ctx.hub.get<{ items: PipelineSummaryView[] }>("/pipelines");
  if (ctx.output === "json") {
    ctx.print(JSON.stringify({ items }, null, 2));
    return;
  }
  ctx.print(
    items.length === 0
      ? "no pipelines"
      : renderTable(items, [
          { header: "NAME", value: (p) => p.name },
          { header: "BUNDLE", value: (p) => p.bundle ?? "-" },
          { header: "STAGES", value: (p) => p.stages.join(" → ") },
          { header: "AUTO-PROMOTION", value: (p) => (p.held ? "held" : "-") },
        ]),
  );
}

/** `gitfleet pipeline resume NAME`: lifts the hold an automatic rollback put on auto-promotion. */
export async function pipelineResume(ctx: CommandContext, name: string): Promise<void> {
  const answer = await ctx.hub.post<PipelineView | undefined>(`/pipelines/${encodeURIComponent(name)}/resume`, {});
  ctx.print(ctx.output === "json" ? JSON.stringify(answer ?? { name, resumed: true }, null, 2) : `auto-promotion of pipeline ${name} resumed`);
}
