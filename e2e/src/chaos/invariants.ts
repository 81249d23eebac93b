// What a chaos run did, as its driver saw it, and the check of the fleet's state against it
// afterwards: no cluster, token, status or promotion record lost or duplicated, every token's
// use count exact, every cluster at the head commit.
import type { HubClient } from "@gitfleet/hub";
import { waitFor } from "../lab/process.js";

/** What the driver did and saw acknowledged (or could not tell). */
export interface Ledger {
  /** Cluster name -> the token id it registered with; `acked` false when the answer was lost (the hub died under it). */
  registrations: Map<string, { tokenId: string; acked: boolean }>;
  /** Token id -> the uses the driver expects (clusters it registered with the token). */
  tokens: Map<string, { maxUses: number }>;
  /** Promotion ids the hub accepted (201). */
  promotions: Set<string>;
  /** Promotion requests whose answer was lost: at most one record each may exist. */
  promotionsUnknown: number;
  /** Clusters run by real agents (on lab clusters or simulated ones): they must converge to the head commit. */
  agentClusters: string[];
}

export function newLedger(): Ledger {
  return { registrations: new Map(), tokens: new Map(), promotions: new Set(), promotionsUnknown: 0, agentClusters: [] };
}

interface ClusterItem {
  id: string;
  name: string;
  observedRevision?: string;
}
interface TokenItem {
  id: string;
  uses: number;
  maxUses: number;
  clusterIds: string[];
}
interface ClusterDetailView extends ClusterItem {
  stale: boolean;
  bundles?: { name: string; sync?: string; revision?: string }[];
}
interface PromotionItem {
  id: string;
  state: string;
  commit?: string;
}

/** Every cluster of the fleet, all pages. */
export async function allClusters(api: HubClient): Promise<ClusterItem[]> {
  const out: ClusterItem[] = [];
  let next: string | undefined;
  do {
    const page = await api.get<{ items: ClusterItem[]; continue?: string }>(`/clusters?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ""}`);
    out.push(...page.items);
    next = page.continue || undefined;
  } while (next);
  return out;
}

/** The result of {@link checkInvariants}: every problem found, and counts of what was checked. */
export interface InvariantReport {
  problems: string[];
  checked: { clusters: number; tokens: number; promotions: number; converged: number };
}

/**
 * Checks the fleet against the ledger. Waits up to `convergeTimeoutMs` for the agents' clusters to
 * reach `head` (each synced there, all bundles); the records are checked once.
 */
export async function checkInvariants(api: HubClient, ledger: Ledger, head: string, convergeTimeoutMs = 120_000): Promise<InvariantReport> {
  const problems: string[] = [];
  // Convergence first: the records settle while the clusters catch up.
  let converged = 0;
  const lagging = new Map<string, unknown>();
  try {
    await waitFor(
      async () => {
        converged = 0;
        lagging.clear();
        for (const name of ledger.agentClusters) {
          const c = await api.get<ClusterDetailView>(`/clusters/${name}`);
          const bundles = c.bundles ?? [];
          // A bundle's own revision is the commit that last changed it; the cluster's is the head.
          const ok = c.observedRevision === head && !c.stale && bundles.every((b) => b.sync === "synced");
          if (ok) converged++;
          else lagging.set(name, { observedRevision: c.observedRevision, stale: c.stale, bundles: bundles.map((b) => `${b.name}:${b.sync}@${b.revision?.slice(0, 8)}`) });
        }
        return converged === ledger.agentClusters.length ? true : undefined;
      },
      { what: `every cluster at ${head.slice(0, 12)}`, timeoutMs: convergeTimeoutMs, intervalMs: 500 },
    );
  } catch {
    for (const [name, state] of lagging) problems.push(`cluster ${name} did not converge to ${head.slice(0, 12)}: ${JSON.stringify(state)}`);
  }

  const clusters = await allClusters(api);
  const byName = new Map<string, ClusterItem[]>();
  for (const c of clusters) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const ids = new Set<string>();
  for (const c of clusters) {
    if (ids.has(c.id)) problems.push(`cluster id ${c.id} listed twice`);
    ids.add(c.id);
  }
  for (const [name, list] of byName) if (list.length > 1) problems.push(`cluster ${name} recorded ${list.length} times`);
  for (const [name, r] of ledger.registrations) {
    if (!byName.has(name)) problems.push(`cluster ${name} was registered${r.acked ? " (acknowledged)" : ""} but is not recorded`);
  }
  for (const name of ledger.agentClusters) if (!byName.has(name)) problems.push(`agent cluster ${name} is not recorded`);

  const tokens = (await api.get<{ items: TokenItem[] }>("/registration-tokens")).items;
  for (const [id, expected] of ledger.tokens) {
    const t = tokens.find((x) => x.id === id);
    if (!t) {
      problems.push(`token ${id} is lost`);
      continue;
    }
    const mine = [...ledger.registrations].filter(([, r]) => r.tokenId === id).map(([name]) => name);
    const mineIds = mine.map((n) => byName.get(n)?.[0]?.id).filter((x): x is string => x !== undefined);
    if (t.uses !== mine.length) problems.push(`token ${id}: ${t.uses} uses recorded, ${mine.length} clusters registered with it`);
    if (t.uses > t.maxUses || t.maxUses !== expected.maxUses) problems.push(`token ${id}: ${t.uses} uses of ${t.maxUses} (created with ${expected.maxUses})`);
    if (new Set(t.clusterIds).size !== t.clusterIds.length) problems.push(`token ${id} lists a cluster twice: ${t.clusterIds.join(",")}`);
    const missing = mineIds.filter((x) => !t.clusterIds.includes(x));
    const extra = t.clusterIds.filter((x) => !mineIds.includes(x));
    if (missing.length || extra.length) problems.push(`token ${id}: clusters missing ${missing.join(",") || "none"}, unexpected ${extra.join(",") || "none"}`);
  }

  let promotions: PromotionItem[] = [];
  if (ledger.promotions.size > 0 || ledger.promotionsUnknown > 0) {
    promotions = (await api.get<{ items: PromotionItem[] }>("/promotions?limit=500")).items;
    const seen = new Map<string, number>();
    for (const p of promotions) seen.set(p.id, (seen.get(p.id) ?? 0) + 1);
    for (const [id, n] of seen) if (n > 1) problems.push(`promotion ${id} listed ${n} times`);
    for (const id of ledger.promotions) if (!seen.has(id)) problems.push(`accepted promotion ${id} is lost`);
    const unexplained = [...seen.keys()].filter((id) => !ledger.promotions.has(id)).length;
    if (unexplained > ledger.promotionsUnknown) problems.push(`${unexplained} promotion records nobody asked for (${ledger.promotionsUnknown} requests lost their answer)`);
    const commits = new Map<string, string>();
    for (const p of promotions) {
      if (!p.commit) continue;
      if (commits.has(p.commit)) problems.push(`promotions ${commits.get(p.commit)} and ${p.id} share commit ${p.commit}`);
      commits.set(p.commit, p.id);
    }
  }
  return { problems, checked: { clusters: clusters.length, tokens: ledger.tokens.size, promotions: promotions.length, converged } };
}

/** One line of a report. */
export function reportLine(report: InvariantReport): string {
  const c = report.checked;
  return `${report.problems.length === 0 ? "OK" : `${report.problems.length} PROBLEMS`}: ${c.clusters} clusters, ${c.tokens} tokens, ${c.promotions} promotions checked; ${c.converged} clusters at head`;
}
