// `gitfleet promote` and `gitfleet promotion list|get|rollback`: promotions through the hub's
// promotion API, with their gates and diffs, and with --wait their progress until the target
// stage is verified or the promotion failed.
import type { CommandContext } from "./commands.js";
import { HubApiError } from "./hub-client.js";
import { age, renderTable } from "./output.js";
import {
  diffText,
  finalStates,
  gatesText,
  indent,
  refusalGates,
  shortSha,
  valuesText,
  type DryRunView,
  type PipelineView,
  type PromotionView,
} from "./promotion-views.js";

/** How `--wait` watches a promotion. */
export interface WaitOptions {
  /** Stops waiting (Ctrl-C); the promotion goes on in the hub. */
  signal?: AbortSignal | undefined;
  /** Between two reads of the promotion; default 1 s. */
  intervalMs?: number | undefined;
}

/** What `gitfleet promote` asks for. */
export interface PromoteRequest {
  pipeline: string;
  from: string;
  to: string;
  dryRun?: boolean | undefined;
  wait?: boolean | undefined;
}

/**
 * `gitfleet promote PIPELINE --from A --to B [--dry-run] [--wait]`. Prints the gates and the
 * diff; returns the exit code: 0 when done (or verified, with --wait), 1 when refused or failed.
 */
export async function promote(ctx: CommandContext, request: PromoteRequest, wait: WaitOptions = {}): Promise<number> {
  const body = { pipeline: request.pipeline, from: request.from, to: request.to, ...(request.dryRun ? { dryRun: true } : {}) };
  return await submit(ctx, `promotion of ${request.pipeline} from ${request.from} to ${request.to}`, () => ctx.hub.post<PromotionAnswer>("/promotions", body), request.wait === true, wait);
}

/** `gitfleet promotion rollback ID [--dry-run] [--wait]`: a structured revert of that promotion. */
export async function promotionRollback(ctx: CommandContext, id: string, options: { dryRun?: boolean | undefined; wait?: boolean | undefined }, wait: WaitOptions = {}): Promise<number> {
  const body = options.dryRun ? { dryRun: true } : {};
  return await submit(ctx, `rollback of ${id}`, () => ctx.hub.post<PromotionAnswer>(`/promotions/${encodeURIComponent(id)}/rollback`, body), options.wait === true, wait);
}

type PromotionAnswer = { promotion: PromotionView } | DryRunView;

async function submit(ctx: CommandContext, what: string, send: () => Promise<PromotionAnswer>, waitForIt: boolean, wait: WaitOptions): Promise<number> {
  let answer: PromotionAnswer;
  try {
    answer = await send();
  } catch (err) {
    const gates = err instanceof HubApiError ? refusalGates(err.body) : undefined;
    if (!gates) throw err;
    // A refusal for gates: show every gate, then fail with the hub's message.
    if (ctx.output === "json") ctx.print(JSON.stringify({ refused: { status: err instanceof HubApiError ? err.status : 0, message: (err as Error).message }, gates }, null, 2));
    else ctx.print(`${what} refused: ${(err as Error).message}\n\n${gatesText(gates)}`);
    return 1;
  }
  if ("dryRun" in answer && answer.dryRun) {
    if (ctx.output === "json") ctx.print(JSON.stringify(answer, null, 2));
    else ctx.print(dryRunText(what, answer));
    return answer.gates && !answer.gates.passed ? 1 : 0;
  }
  const { promotion } = answer as { promotion: PromotionView };
  if (!waitForIt) {
    ctx.print(ctx.output === "json" ? JSON.stringify(promotion, null, 2) : createdText(promotion));
    return promotion.state === "failed" ? 1 : 0;
  }
  if (ctx.output === "table") ctx.print(createdText(promotion));
  const last = await waitForPromotion(ctx, promotion, wait);
  if (ctx.output === "json") ctx.print(JSON.stringify(last, null, 2));
  return last.state === "verified" ? 0 : 1;
}

function dryRunText(what: string, answer: DryRunView): string {
  const parts = [`dry run of the ${what}: nothing written`, `values: ${valuesText(answer.values)}`];
  if (answer.gates) parts.push(gatesText(answer.gates));
  parts.push(`diff:\n${indent(diffText(answer.diff))}`);
  return parts.join("\n\n");
}

function title(p: PromotionView): string {
  const kind = p.kind === "rollback" ? `rollback of ${p.rollbackOf ?? "?"}` : "promotion";
  return `${kind} ${p.id}: ${p.pipeline} ${p.from.stage} → ${p.to.stage} (${valuesText(p.values)})`;
}

function createdText(p: PromotionView): string {
  const parts = [`${title(p)}: ${p.state}${p.commit ? `, commit ${shortSha(p.commit)}` : ""}`];
  if (p.gates) parts.push(gatesText(p.gates));
  if (p.diff) parts.push(`diff:\n${indent(diffText(p.diff))}`);
  return parts.join("\n\n");
}

/** Reads the promotion until it reaches a final state, printing each state and the target's counts as they change. */
export async function waitForPromotion(ctx: CommandContext, first: PromotionView, options: WaitOptions = {}): Promise<PromotionView> {
  const intervalMs = options.intervalMs ?? 1_000;
  let current = first;
  let printed = 0;
  let shownState = "";
  let shownCounts = "";
  const at = (iso: string): string => iso.slice(11, 19);
  const show = async (p: PromotionView): Promise<void> => {
    if (ctx.output !== "table") return;
    // Every state it went through, even between two reads; a hub without transitions: the state.
    const transitions = p.transitions ?? [{ state: p.state, at: new Date().toISOString() }];
    for (const t of transitions.slice(printed)) {
      if (t.state !== shownState || t.message) ctx.print(`  ${at(t.at)} ${t.state}${t.message ? `: ${t.message}` : ""}`);
      shownState = t.state;
    }
    printed = transitions.length;
    if (finalStates.has(p.state)) return;
    const counts = await targetCounts(ctx, p);
    if (counts && counts !== shownCounts) ctx.print(`  ${at(new Date().toISOString())} ${counts}`);
    shownCounts = counts;
  };
  await show(current);
  while (!finalStates.has(current.state)) {
    if (options.signal?.aborted) throw new Error(`stopped waiting; promotion ${current.id} goes on (gitfleet promotion get ${current.id})`);
    await sleep(intervalMs, options.signal);
    current = await readPromotion(ctx, current.id);
    await show(current);
  }
  if (ctx.output === "table") {
    const end = current.state === "verified" ? `verified: ${current.to.stage} runs ${valuesText(current.values)}` : `${current.state}: ${current.message ?? current.verification?.message ?? "see gitfleet promotion get"}`;
    ctx.print(`${title(current)}\n${end}`);
  }
  return current;
}

/** "prod-us 1/2 synced, 0/2 healthy" from the pipeline view, or "" when it cannot be read. */
async function targetCounts(ctx: CommandContext, p: PromotionView): Promise<string> {
  const verified = p.verification?.clusters;
  if (verified && verified.length > 0) {
    const n = (state: string): number => verified.filter((c) => c.state === state).length;
    return `${p.to.stage} ${verified.length} clusters: ${[...new Set(verified.map((c) => c.state))].map((s) => `${n(s)} ${s}`).join(", ")}`;
  }
  try {
    const pipeline = await ctx.hub.get<PipelineView>(`/pipelines/${encodeURIComponent(p.pipeline)}`);
    const c = pipeline.stages.find((s) => s.name === p.to.stage)?.clusters;
    if (!c) return "";
    return `${p.to.stage} ${c.synced ?? 0}/${c.total ?? 0} synced, ${c.healthy ?? 0}/${c.total ?? 0} healthy`;
  } catch {
    return "";
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** `GET /promotions/{id}`: the record, which the hub answers as `{promotion}`. */
async function readPromotion(ctx: CommandContext, id: string): Promise<PromotionView> {
  const answer = await ctx.hub.get<{ promotion: PromotionView }>(`/promotions/${encodeURIComponent(id)}`);
  return answer.promotion;
}

/** `gitfleet promotion list [--pipeline P] [--state S] [--limit N]`. */
export async function promotionList(ctx: CommandContext, filters: { pipeline?: string | undefined; state?: string | undefined; limit?: number | undefined }): Promise<void> {
  const params = new URLSearchParams();
  if (filters.pipeline) params.set("pipeline", filters.pipeline);
  if (filters.state) params.set("state", filters.state);
  if (filters.limit !== undefined) params.set("limit", String(filters.limit));
  const query = params.toString();
  const { items } = await ctx.hub.get<{ items: PromotionView[] }>(`/promotions${query ? `?${query}` : ""}`);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify({ items }, null, 2));
    return;
  }
  ctx.print(
    items.length === 0
      ? "no promotions"
      : renderTable(items, [
          { header: "ID", value: (p) => p.id },
          { header: "PIPELINE", value: (p) => p.pipeline },
          { header: "FROM", value: (p) => p.from.stage },
          { header: "TO", value: (p) => p.to.stage },
          { header: "KIND", value: (p) => (p.kind === "rollback" ? `rollback of ${p.rollbackOf ?? "?"}` : p.automatic ? "auto" : "promotion") },
          { header: "STATE", value: (p) => p.state },
          { header: "VALUES", value: (p) => valuesText(p.values) },
          { header: "COMMIT", value: (p) => shortSha(p.commit) },
          { header: "AUTHOR", value: (p) => p.author },
          { header: "AGE", value: (p) => age(p.createdAt) },
        ]),
  );
}

/** `gitfleet promotion get ID`: the record, its gate evidence, verification, transitions and diff. */
export async function promotionGet(ctx: CommandContext, id: string): Promise<void> {
  const p = await readPromotion(ctx, id);
  if (ctx.output === "json") {
    ctx.print(JSON.stringify(p, null, 2));
    return;
  }
  const fields: [string, string | undefined][] = [
    ["State", p.state],
    ["Message", p.message],
    ["Pipeline", `${p.pipeline}${p.bundle ? ` (bundle ${p.bundle})` : ""}`],
    ["From", `${p.from.stage}${p.from.commit ? ` at ${shortSha(p.from.commit)}` : ""}`],
    ["To", p.to.stage],
    ["Values", valuesText(p.values)],
    ["Author", `${p.author}${p.automatic ? " (automatic)" : ""}`],
    ["Created", `${p.createdAt} (${age(p.createdAt)})`],
    ["Commit", p.commit ? `${p.commit}${p.parent ? ` (parent ${shortSha(p.parent)})` : ""}` : undefined],
    ["Rollback of", p.rollbackOf],
    ["Rolled back by", p.rolledBackBy],
    ["Verification", verificationText(p)],
  ];
  const parts = [
    `${title(p)}\n\n${fields
      .filter((f): f is [string, string] => f[1] !== undefined && f[1] !== "")
      .map(([k, v]) => `${`${k}:`.padEnd(16)}${v}`)
      .join("\n")}`,
  ];
  const clusters = p.verification?.clusters ?? [];
  if (clusters.length > 0)
    parts.push(`clusters of ${p.to.stage}:\n${indent(renderTable(clusters, [
      { header: "CLUSTER", value: (c) => c.name },
      { header: "STATE", value: (c) => c.state },
      { header: "MESSAGE", value: (c) => c.message ?? "-" },
    ]))}`);
  if (p.transitions && p.transitions.length > 0)
    parts.push(`transitions:\n${indent(p.transitions.map((t) => `${t.at.slice(0, 19).replace("T", " ")}  ${t.state.padEnd(12)}${t.message ? `  ${t.message}` : ""}`.trimEnd()).join("\n"))}`);
  if (p.gates) parts.push(gatesText(p.gates));
  parts.push(`diff:\n${indent(diffText(p.diff))}`);
  ctx.print(parts.join("\n\n"));
}

function verificationText(p: PromotionView): string | undefined {
  const v = p.verification;
  if (!v) return undefined;
  if (v.verifiedAt) return `verified at ${v.verifiedAt}`;
  return [v.deadline ? `deadline ${v.deadline}` : "", v.message ?? ""].filter(Boolean).join("; ") || undefined;
}
