import { isOlderVersion } from "@gitfleet/proto/rules";
import type { HubClient } from "./hub-client.js";
import { age, labelsText, renderTable } from "./output.js";

/** A registration token as the hub lists it (never with its secret). */
export interface TokenView {
  id: string;
  description?: string;
  labels?: Record<string, string>;
  /** Other label keys an agent may set, with their values ("*": any). */
  allowedLabels?: Record<string, string[]>;
  createdAt?: string;
  expiresAt?: string;
  maxUses?: number;
  uses?: number;
  revoked?: boolean;
  state?: string;
}

/** A cluster as the hub lists it. */
export interface ClusterView {
  id: string;
  name: string;
  labels?: Record<string, string>;
  variables?: Record<string, string>;
  registeredAt?: string;
  lastSeen?: string;
  connected?: boolean;
  stale?: boolean;
  observedRevision?: string;
  agentVersion?: string;
  /** Set by `cluster list`: the agent runs a version older than the hub's. */
  agentOutdated?: boolean;
  bundles?: { name: string; sync?: string; health?: string; revision?: string; driftedCount?: number; message?: string }[];
  errors?: { bundle?: string; target?: string; path?: string; commit?: string; message: string }[];
}

/** How a command prints: tables for people, JSON for scripts. */
export type OutputFormat = "table" | "json";

/** What a command needs: the hub client, the output format and where to write. */
export interface CommandContext {
  hub: HubClient;
  output: OutputFormat;
  print: (text: string) => void;
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : "-");

function emit<T>(ctx: CommandContext, value: T, human: (v: T) => string): void {
  ctx.print(ctx.output === "json" ? JSON.stringify(value, null, 2) : human(value));
}

/** `gitfleet token create`: the secret is shown once. */
export async function tokenCreate(
  ctx: CommandContext,
  body: { ttl?: string; maxUses?: number; labels?: Record<string, string>; allowedLabels?: Record<string, string[]>; description?: string },
): Promise<void> {
  const created = await ctx.hub.post<TokenView & { secret: string }>("/registration-tokens", body);
  emit(ctx, created, (t) =>
    [
      `registration token ${t.id} created; it expires ${t.expiresAt ?? "never"} and allows ${t.maxUses ?? 1} use(s).`,
      "The secret is shown only now:",
      "",
      `  ${t.secret}`,
    ].join("\n"),
  );
}

/** `gitfleet token list`. */
export async function tokenList(ctx: CommandContext): Promise<void> {
  const { items } = await ctx.hub.get<{ items: TokenView[] }>("/registration-tokens");
  emit(ctx, { items }, (v) =>
    v.items.length === 0
      ? "no registration tokens"
      : renderTable(v.items, [
          { header: "ID", value: (t) => t.id },
          { header: "USES", value: (t) => `${t.uses ?? 0}/${t.maxUses ?? 1}` },
          { header: "EXPIRES", value: (t) => age(t.expiresAt) },
          { header: "STATE", value: (t) => t.state ?? tokenState(t) },
          { header: "LABELS", value: (t) => labelsText(t.labels) },
          { header: "AGENT MAY SET", value: (t) => allowedText(t.allowedLabels) },
          { header: "DESCRIPTION", value: (t) => t.description || "-" },
        ]),
  );
}

function allowedText(allowed: Record<string, string[]> | undefined): string {
  const entries = Object.entries(allowed ?? {});
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v.join("|")}`).join(",");
}

function tokenState(t: TokenView): string {
  if (t.revoked) return "revoked";
  if (t.expiresAt && Date.parse(t.expiresAt) <= Date.now()) return "expired";
  if ((t.uses ?? 0) >= (t.maxUses ?? 1)) return "used-up";
  return "active";
}

/** `gitfleet token revoke ID`. */
export async function tokenRevoke(ctx: CommandContext, id: string): Promise<void> {
  await ctx.hub.delete(`/registration-tokens/${encodeURIComponent(id)}`);
  emit(ctx, { id, revoked: true }, () => `registration token ${id} revoked`);
}

/** `gitfleet cluster list [--selector S]`; marks agents older than the hub (an upgrade is due). */
export async function clusterList(ctx: CommandContext, selector?: string): Promise<void> {
  const query = selector ? `?selector=${encodeURIComponent(selector)}` : "";
  const [{ items: listed }, hubVersion] = await Promise.all([ctx.hub.get<{ items: ClusterView[] }>(`/clusters${query}`), versionOfHub(ctx.hub)]);
  const items = listed.map((c) => ({ ...c, agentOutdated: hubVersion !== undefined && isOlderVersion(c.agentVersion ?? "", hubVersion) }));
  emit(ctx, { hubVersion: hubVersion ?? null, items }, (v) =>
    v.items.length === 0
      ? "no clusters"
      : renderTable(v.items, [
          { header: "NAME", value: (c) => c.name },
          { header: "CONNECTED", value: (c) => (c.connected ? "yes" : c.stale ? "no (stale)" : "no") },
          { header: "REVISION", value: (c) => short(c.observedRevision) },
          { header: "AGENT", value: (c) => c.agentVersion || "-" },
          { header: "OUTDATED", value: (c) => (hubVersion === undefined ? "?" : c.agentOutdated ? `yes (hub ${hubVersion})` : "no") },
          { header: "LAST SEEN", value: (c) => age(c.lastSeen) },
          { header: "LABELS", value: (c) => labelsText(c.labels) },
        ]),
  );
}

/** The hub's version from /version, or undefined from a hub that does not say it. */
async function versionOfHub(hub: HubClient): Promise<string | undefined> {
  try {
    return (await hub.get<{ version?: string }>("/version")).version;
  } catch {
    return undefined;
  }
}

/** `gitfleet cluster get NAME`. */
export async function clusterGet(ctx: CommandContext, name: string): Promise<void> {
  const c = await ctx.hub.get<ClusterView>(`/clusters/${encodeURIComponent(name)}`);
  emit(ctx, c, (v) => {
    const lines = [
      `name:        ${v.name}`,
      `id:          ${v.id}`,
      `labels:      ${labelsText(v.labels)}`,
      `variables:   ${labelsText(v.variables)}`,
      `registered:  ${v.registeredAt ?? "-"}`,
      `connected:   ${v.connected ? "yes" : "no"} (last seen ${age(v.lastSeen)})${v.stale ? "; stale: sync and health unknown" : ""}`,
      `revision:    ${v.observedRevision ?? "-"}`,
      `agent:       ${v.agentVersion || "-"}`,
    ];
    const bundles = v.bundles ?? [];
    if (bundles.length) {
      lines.push("", renderTable(bundles, [
        { header: "BUNDLE", value: (b) => b.name },
        { header: "SYNC", value: (b) => b.sync ?? "-" },
        { header: "HEALTH", value: (b) => b.health ?? "-" },
        { header: "DRIFTED", value: (b) => String(b.driftedCount ?? 0) },
        { header: "REVISION", value: (b) => short(b.revision) },
        { header: "MESSAGE", value: (b) => b.message || "" },
      ]));
    }
    for (const e of v.errors ?? []) {
      const target = e.target ? ` (target ${e.target}${e.path ? `, overlay ${e.path}` : ""})` : "";
      lines.push("", `error: bundle ${e.bundle ?? "?"}${target} at ${short(e.commit)}: ${e.message}`);
    }
    return lines.join("\n");
  });
}

/** `gitfleet cluster set NAME --label k=v --var k=v`: a value sets a key, null removes it. */
export async function clusterSet(
  ctx: CommandContext,
  name: string,
  change: { labels?: Record<string, string | null>; variables?: Record<string, string | null> },
): Promise<void> {
  const c = await ctx.hub.patch<ClusterView>(`/clusters/${encodeURIComponent(name)}`, change);
  emit(ctx, c, (v) => [`cluster ${v.name} updated`, `labels:      ${labelsText(v.labels)}`, `variables:   ${labelsText(v.variables)}`].join("\n"));
}

/** `gitfleet cluster delete NAME`: revokes the cluster's credentials. */
export async function clusterDelete(ctx: CommandContext, name: string): Promise<void> {
  await ctx.hub.delete(`/clusters/${encodeURIComponent(name)}`);
  emit(ctx, { name, deleted: true }, () => `cluster ${name} deleted; its agent's credentials are revoked`);
}
