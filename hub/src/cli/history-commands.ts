// `gitfleet history CLUSTER`: the revisions a cluster reached, newest first, from the hub's
// history API: when, the commit's subject and author, and the promotion that made it.
import type { CommandContext } from "./commands.js";
import { age, renderTable } from "./output.js";

/** One entry as GET /api/v1/clusters/{name}/history lists it. */
export interface HistoryItemView {
  revision: string;
  reachedAt: string;
  subject?: string;
  author?: string;
  email?: string;
  committedAt?: string;
  promotion?: string;
  bundles: { name: string; digest: string; since: string }[];
}

const maxSubject = 60;

function subject(text: string | undefined): string {
  if (text === undefined) return "(commit not fetched by the hub)";
  return text.length > maxSubject ? `${text.slice(0, maxSubject - 1)}…` : text;
}

/** `gitfleet history CLUSTER [--limit N]`. */
export async function historyCommand(ctx: CommandContext, cluster: string, limit: number | undefined): Promise<void> {
  const query = limit === undefined ? "" : `?limit=${limit}`;
  const answer = await ctx.hub.get<{ cluster: string; items: HistoryItemView[] }>(`/clusters/${encodeURIComponent(cluster)}/history${query}`);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify(answer, null, 2));
    return;
  }
  if (answer.items.length === 0) {
    ctx.print(`no history for ${answer.cluster} yet`);
    return;
  }
  ctx.print(
    renderTable(answer.items, [
      { header: "REVISION", value: (e) => e.revision.slice(0, 12) },
      { header: "REACHED", value: (e) => age(e.reachedAt) },
      { header: "AUTHOR", value: (e) => e.author ?? "-" },
      { header: "PROMOTION", value: (e) => e.promotion ?? "-" },
      { header: "SUBJECT", value: (e) => subject(e.subject) },
    ]),
  );
}
