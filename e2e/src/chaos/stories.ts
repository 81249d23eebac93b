// Chaos stories 2-5, shared by their end-to-end tests (short) and the chaos script (full
// durations): NATS node loss, agent partition, Git server down, slow and lossy links.
import { readObject, kubeConfigFor, mergePatchAs } from "../kube-client.js";
import { configMap, manifestsYaml, namespace, writeSeed } from "../fleet/fleet-seed.js";
import { waitFor } from "../lab/process.js";
import { startChaosFleet, type ChaosFleet, type ChaosFleetOptions } from "./harness.js";
import { checkInvariants, newLedger, type InvariantReport, type Ledger } from "./invariants.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The stories' fleet repository: one bundle with one ConfigMap per cluster, its `version` moved by commits. */
export function edgeFiles(version: number): Record<string, string> {
  return {
    "fleet.yaml": [
      "apiVersion: gitfleet.dev/v1",
      "kind: Fleet",
      "bundles:",
      "  - name: edge",
      "    path: edge",
      "    clusterSelector: {}",
      "",
    ].join("\n"),
    "edge/objects.yaml": manifestsYaml(namespace("edge"), configMap("edge-config", { version: String(version), owner: "gitfleet" }, "edge")),
  };
}

/** A story's fleet with its agents registered (one token) and synced at the head. */
export interface StoryFleet {
  fleet: ChaosFleet;
  ledger: Ledger;
  /** The version in the head commit's ConfigMap. */
  version: number;
  /** Commits the next version; returns the sha. */
  bump(): Promise<string>;
}

/** Starts a story's fleet: `clusters` lab clusters with real agents (no pods), registered and synced. */
export async function startStoryFleet(clusters: readonly string[], options: Omit<ChaosFleetOptions, "clusters" | "seed"> = {}): Promise<StoryFleet> {
  const seed = await writeSeed(edgeFiles(1));
  const fleet = await startChaosFleet({ clusters, seed, ...options });
  const ledger = newLedger();
  try {
    const token = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", { ttl: "1h", maxUses: clusters.length });
    ledger.tokens.set(token.id, { maxUses: clusters.length });
    for (const c of clusters) {
      await fleet.startAgent(c, { token: token.secret, reconcileIntervalMs: 2_000 });
      ledger.registrations.set(c, { tokenId: token.id, acked: true });
      ledger.agentClusters.push(c);
    }
    const head = await fleet.head();
    const report = await checkInvariants(fleet.api, ledger, head, 240_000);
    if (report.problems.length) throw new Error(`the fleet did not settle: ${report.problems.join("; ")}`);
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  const story: StoryFleet = {
    fleet,
    ledger,
    version: 1,
    async bump() {
      story.version++;
      return await fleet.commit({ "edge/objects.yaml": edgeFiles(story.version)["edge/objects.yaml"] ?? "" }, `edge version ${story.version}`);
    },
  };
  return story;
}

/** The edge ConfigMap of a cluster, as its apiserver has it. */
export async function edgeConfig(fleet: ChaosFleet, cluster: string): Promise<Record<string, string> | undefined> {
  const cm = await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(kubeConfigFor(fleet.cluster(cluster)), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "edge-config", namespace: "edge" },
  });
  return cm?.data;
}

interface ClusterView {
  stale: boolean;
  connected: boolean;
  lastSeen: string | null;
  reportedAt?: string | null;
  observedRevision?: string;
}

/** What the partition story saw. */
export interface PartitionResult {
  /** Drift corrections made by the cut-off agent (each a kubectl-style change undone locally). */
  corrections: number;
  /** Seconds from the cut until the hub showed the cluster stale. */
  staleAfterS: number;
  /** Commits made while the agent was away. */
  commitsMissed: number;
  /** Seconds from the link's return until the cluster was synced at the head. */
  caughtUpS: number;
  /** Seconds from the link's return until the hub showed the cluster fresh (not stale, connected). */
  freshS: number;
  report: InvariantReport;
}

/**
 * Story 3: cuts the agent of `cluster` off from the hubs and NATS for `durationMs` while its
 * cluster drifts (a kubectl-style change every `driftEveryMs`) and commits land. The agent must
 * keep undoing the drift; the hub must show it stale; after the cut it must catch up.
 */
export async function runPartition(story: StoryFleet, cluster: string, durationMs: number, heartbeatMs: number, progress: (line: string) => void = () => {}): Promise<PartitionResult> {
  const { fleet } = story;
  const hubLink = fleet.links.agentHub;
  const natsLink = fleet.links.agentNats;
  if (!hubLink || !natsLink) throw new Error("the partition story needs the agent-hub and agent-nats links");
  const kc = kubeConfigFor(fleet.cluster(cluster));
  const enforced = await edgeConfig(fleet, cluster);
  const cutAt = Date.now();
  await Promise.all([hubLink.partition(), natsLink.partition()]);
  progress(`${cluster} cut off from hubs and NATS`);
  let staleAfterS = Number.NaN;
  let corrections = 0;
  let commitsMissed = 0;
  // At most 4 drifts in any 10 minutes: the agent's loop guard treats a fifth correction of one
  // object within 10 minutes as a fight with another controller and backs off (by design).
  const driftEveryMs = durationMs <= 600_000 ? Math.max(5_000, durationMs / 4) : 150_000;
  const commitEveryMs = Math.max(6_000, Math.min(120_000, durationMs / 3));
  let nextDrift = Date.now();
  let nextCommit = Date.now() + commitEveryMs / 2;
  while (Date.now() - cutAt < durationMs || Number.isNaN(staleAfterS) || corrections === 0) {
    if (Date.now() - cutAt > durationMs + 120_000) break;
    if (Number.isNaN(staleAfterS)) {
      const c = await fleet.api.get<ClusterView>(`/clusters/${cluster}`);
      if (c.stale) {
        staleAfterS = (Date.now() - cutAt) / 1000;
        progress(`hub shows ${cluster} stale after ${staleAfterS.toFixed(1)} s`);
      }
    }
    if (Date.now() >= nextDrift) {
      nextDrift = Date.now() + driftEveryMs;
      await mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "edge-config", namespace: "edge" }, data: { version: "drifted" } }, "kubectl-edit");
      await waitFor(async () => ((await edgeConfig(fleet, cluster))?.["version"] === enforced?.["version"] ? true : undefined), {
        what: `the cut-off agent to undo the drift on ${cluster}`,
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      corrections++;
      progress(`drift ${corrections} undone locally while cut off`);
    }
    if (Date.now() >= nextCommit && Date.now() - cutAt < durationMs - 2_000) {
      nextCommit = Date.now() + commitEveryMs;
      await story.bump();
      commitsMissed++;
      progress(`commit ${commitsMissed} (version ${story.version}) while ${cluster} is away`);
    }
    await sleep(500);
  }
  const stillEnforced = await edgeConfig(fleet, cluster);
  if (stillEnforced?.["version"] !== enforced?.["version"]) throw new Error(`the cut-off agent applied ${stillEnforced?.["version"]} without a link`);
  const head = await fleet.head();
  const backAt = Date.now();
  await Promise.all([hubLink.restore(), natsLink.restore()]);
  progress(`${cluster} back`);
  let freshS = Number.NaN;
  let caughtUpS = Number.NaN;
  await waitFor(
    async () => {
      const c = await fleet.api.get<ClusterView>(`/clusters/${cluster}`);
      if (Number.isNaN(freshS) && !c.stale && c.connected && c.lastSeen && Date.parse(c.lastSeen) >= backAt) freshS = (Date.now() - backAt) / 1000;
      if (Number.isNaN(caughtUpS) && c.observedRevision === head && (await edgeConfig(fleet, cluster))?.["version"] === String(story.version)) {
        caughtUpS = (Date.now() - backAt) / 1000;
      }
      return !Number.isNaN(freshS) && !Number.isNaN(caughtUpS) ? true : undefined;
    },
    { what: `${cluster} fresh and at ${head.slice(0, 12)} after the partition`, timeoutMs: 120_000 + heartbeatMs * 3, intervalMs: 200 },
  );
  progress(`fresh after ${freshS.toFixed(1)} s, caught up after ${caughtUpS.toFixed(1)} s`);
  const report = await checkInvariants(fleet.api, story.ledger, head, 60_000);
  return { corrections, staleAfterS, commitsMissed, caughtUpS, freshS, report };
}

/** What the Git-down story saw. */
export interface GitDownResult {
  /** The source error the API showed while Git was away. */
  apiError: string;
  /** The /readyz detail about Git while it was away. */
  readyzGit: string;
  /** Seconds from Git's return until every cluster was at the commit pushed meanwhile. */
  caughtUpS: number;
  /** Whether the hubs kept serving the last state (clusters stayed synced at the old head, desired state readable). */
  servedLastState: boolean;
  report: InvariantReport;
}

/** A readable string of any JSON value, for reports. */
const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v) ?? "");

/**
 * Story 4: cuts the hubs' link to Git for `durationMs`. The hubs must keep serving the last
 * resolved state and report the source error in the API and /readyz; a commit pushed while the
 * link is down reaches every cluster once it returns.
 */
export async function runGitDown(story: StoryFleet, durationMs: number, progress: (line: string) => void = () => {}): Promise<GitDownResult> {
  const { fleet } = story;
  const link = fleet.links.hubGit;
  if (!link) throw new Error("the Git-down story needs the hub-git link");
  const before = await fleet.head();
  await link.partition();
  const downAt = Date.now();
  progress("the hubs' link to Git is cut");
  // A push the hubs cannot fetch (the lab's Git server itself is up for the test's own clone).
  const pushed = await story.bump();
  let apiError = "";
  let readyzGit = "";
  let servedLastState = true;
  while (Date.now() - downAt < durationMs || !apiError || !readyzGit) {
    if (Date.now() - downAt > durationMs + 120_000) break;
    await fleet.webhook();
    if (!apiError) {
      const source = await fleet.api.get<Record<string, unknown>>("/version").catch(() => ({}));
      const bundles = await fleet.api.get<Record<string, unknown>>("/bundles").catch((err: unknown) => ({ error: String(err) }));
      const found = [source, bundles].map(text).find((t) => /git|fetch|source|connect|ECONNREFUSED|reset|timed? ?out/i.test(t) && /error|fail|unreachable|refused|timeout/i.test(t));
      if (found) apiError = found.slice(0, 300);
    }
    if (!readyzGit) {
      for (const h of fleet.running()) {
        const r = await h.readyz();
        const git = (r?.body["checks"] as Record<string, unknown> | undefined)?.["git"] ?? r?.body["git"];
        if (git && /error|fail|unreachable|refused|timeout/i.test(text(git))) readyzGit = text(git).slice(0, 300);
      }
    }
    for (const c of story.ledger.agentClusters) {
      const v = await fleet.api.get<ClusterView>(`/clusters/${c}`);
      if (v.observedRevision !== before || v.stale) servedLastState = false;
    }
    await sleep(Math.min(5_000, Math.max(1_000, durationMs / 20)));
  }
  progress(`API error: ${apiError || "(none)"}; /readyz git: ${readyzGit || "(none)"}; last state served: ${servedLastState}`);
  await link.restore();
  const backAt = Date.now();
  progress("the hubs' link to Git is back");
  await fleet.webhook();
  await waitFor(
    async () => {
      for (const c of story.ledger.agentClusters) if ((await fleet.api.get<ClusterView>(`/clusters/${c}`)).observedRevision !== pushed) return undefined;
      return true;
    },
    { what: `every cluster at ${pushed.slice(0, 12)} after Git returned`, timeoutMs: 180_000, intervalMs: 500 },
  );
  const caughtUpS = (Date.now() - backAt) / 1000;
  progress(`caught up ${caughtUpS.toFixed(1)} s after Git returned`);
  const report = await checkInvariants(fleet.api, story.ledger, pushed, 60_000);
  return { apiError, readyzGit, caughtUpS, servedLastState, report };
}

/** What the NATS-node-loss story saw. */
export interface NatsLossResult {
  node: string;
  /** Seconds from the node's death until every cluster was at the commit pushed right after it. */
  deliveredS: number;
  /** Seconds from the node's restart until it reported itself caught up (JetStream healthy). */
  rejoinedS: number;
  report: InvariantReport;
}

/**
 * Story 2: kills one of the 3 NATS nodes in the middle of a rollout (commits keep landing); delivery
 * and status go on; the node starts again and rejoins.
 */
export async function runNatsLoss(story: StoryFleet, progress: (line: string) => void = () => {}): Promise<NatsLossResult> {
  const { fleet } = story;
  const nodes = fleet.lab.nats.nodes;
  if (!nodes || nodes.length < 3) throw new Error("the NATS-loss story needs a 3-node NATS cluster (startLab({ natsNodes: 3 }))");
  await story.bump();
  const node = nodes[Math.floor(Math.random() * nodes.length)] ?? nodes[0];
  if (!node) throw new Error("no NATS node");
  const killedAt = Date.now();
  await node.kill();
  progress(`NATS node ${node.name} killed mid-rollout`);
  await story.bump();
  const head = await story.bump();
  await waitFor(
    async () => {
      for (const c of story.ledger.agentClusters) {
        const v = await fleet.api.get<ClusterView>(`/clusters/${c}`);
        if (v.observedRevision !== head || v.stale) return undefined;
      }
      return true;
    },
    { what: `every cluster at ${head.slice(0, 12)} with a NATS node down`, timeoutMs: 180_000, intervalMs: 500 },
  );
  const deliveredS = (Date.now() - killedAt) / 1000;
  progress(`delivered and reported with ${node.name} down: ${deliveredS.toFixed(1)} s`);
  const startedAt = Date.now();
  await node.start();
  const monitor = node.url.replace(/^nats:/, "http:");
  void monitor;
  await waitFor(
    async () => {
      // Every hub still ready and the node answering clients again.
      const ready = await Promise.all(fleet.running().map(async (h) => (await h.readyz())?.status === 200));
      return ready.every(Boolean) ? true : undefined;
    },
    { what: `hubs ready after ${node.name} rejoined`, timeoutMs: 120_000, intervalMs: 500 },
  );
  const rejoinedS = (Date.now() - startedAt) / 1000;
  const after = await story.bump();
  const report = await checkInvariants(fleet.api, story.ledger, after, 120_000);
  return { node: node.name, deliveredS, rejoinedS, report };
}

/** What the slow-links story saw. */
export interface SlowLinksResult {
  /** Seconds from each commit until every cluster was synced at it, one per commit. */
  convergeS: number[];
  report: InvariantReport;
}

/**
 * Story 5: 300 ms latency and 5% dropped connections on the agents' links to the hubs and NATS;
 * `commits` commits, each waited for until every cluster is synced at it.
 */
export async function runSlowLinks(story: StoryFleet, commits: number, progress: (line: string) => void = () => {}): Promise<SlowLinksResult> {
  const { fleet } = story;
  const links = [fleet.links.agentHub, fleet.links.agentNats].filter((l) => l !== undefined);
  if (links.length === 0) throw new Error("the slow-links story needs the agent links");
  for (const l of links) {
    await l.latency(300);
    await l.drops(0.05);
  }
  progress("300 ms latency and 5% dropped connections on the agents' links");
  const convergeS: number[] = [];
  let head = "";
  for (let i = 0; i < commits; i++) {
    const started = Date.now();
    head = await story.bump();
    await waitFor(
      async () => {
        for (const c of story.ledger.agentClusters) if ((await fleet.api.get<ClusterView>(`/clusters/${c}`)).observedRevision !== head) return undefined;
        return true;
      },
      { what: `every cluster at ${head.slice(0, 12)} over slow, lossy links`, timeoutMs: 240_000, intervalMs: 250 },
    );
    convergeS.push((Date.now() - started) / 1000);
    progress(`commit ${i + 1}/${commits}: every cluster synced in ${convergeS.at(-1)?.toFixed(1)} s`);
  }
  const report = await checkInvariants(fleet.api, story.ledger, head, 240_000);
  for (const l of links) await l.reset();
  return { convergeS, report };
}
