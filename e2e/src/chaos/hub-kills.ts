// The hub-kill story, shared by its end-to-end test and the soak script: 3 hubs on a 3-node
// NATS cluster run the demo's clusters plus stand-in clusters; during a rollout, registrations
// and a promotion, a random hub is killed with SIGKILL at a random moment and started again.
import { randomInt } from "node:crypto";
import { GrpcStatus, RpcError } from "@gitfleet/proto";
import { configMap, manifestsYaml, namespace, writeSeed } from "../fleet/fleet-seed.js";
import { waitForWebHealthy, demoClusters } from "../fleet/promotions.js";
import { agentKeys, register } from "../hub/harness.js";
import { startSimFleet, type SimFleet } from "../sim/index.js";
import { waitFor } from "../lab/process.js";
import { startChaosFleet, type ChaosFleet } from "./harness.js";
import { checkInvariants, newLedger, type InvariantReport, type Ledger } from "./invariants.js";

/** The demo clusters the story runs real agents on. */
export const hubKillClusters = ["staging-us", "prod-us"] as const;

/**
 * The story's fleet repository: the demo's web app as plain folders (a namespace and a ConfigMap per
 * stage), and pipeline web staging → prod-us promoting the ConfigMap's data.version.
 */
function pipelineFleet(): Record<string, string> {
  const stage = (env: string, version: string): string => manifestsYaml(configMap("web-config", { environment: env, version }));
  return {
    "fleet.yaml": [
      "apiVersion: gitfleet.dev/v1",
      "kind: Fleet",
      "bundles:",
      "  - name: web",
      "    path: apps/web",
      "    namespace: web",
      "    targets:",
      "      - { name: staging, clusterSelector: { matchLabels: { env: staging } }, overlay: staging }",
      "      - { name: prod-us, clusterSelector: { matchLabels: { env: prod, region: us } }, overlay: prod-us }",
      "  - name: platform",
      "    path: platform",
      "    clusterSelector: {}",
      "pipelines:",
      "  - name: web",
      "    bundle: web",
      "    promote: { fields: [{ file: config.yaml, path: data.version }] }",
      "    stages:",
      "      - { name: staging, target: staging }",
      "      - { name: prod-us, target: prod-us, verify: { timeout: 2m } }",
      "",
    ].join("\n"),
    "apps/web/staging/namespace.yaml": manifestsYaml(namespace("web")),
    "apps/web/staging/config.yaml": stage("staging", "1.0.0"),
    "apps/web/prod-us/namespace.yaml": manifestsYaml(namespace("web")),
    "apps/web/prod-us/config.yaml": stage("prod", "1.0.0"),
    ...platformRound("0"),
  };
}

/** The platform bundle, for every cluster: its ConfigMap names the round, so each round's commit changes every cluster. */
const platformRound = (round: string): Record<string, string> => ({
  "platform/objects.yaml": manifestsYaml(namespace("platform"), configMap("fleet-round", { round }, "platform")),
});

/** Staging's config.yaml at a version (the rollout's commits). */
const stagingConfig = (version: string): Record<string, string> => ({ "apps/web/staging/config.yaml": manifestsYaml(configMap("web-config", { environment: "staging", version })) });

/** Starts the story's fleet: 3 hubs, 3 NATS nodes, the demo's staging-us and prod-us, a pipeline staging → prod-us. */
export async function startHubKillFleet(
  simulated: number,
  progress?: (line: string) => void,
): Promise<{ fleet: ChaosFleet; ledger: Ledger; sim: SimFleet | undefined }> {
  const seed = await writeSeed(pipelineFleet());
  const fleet = await startChaosFleet({
    clusters: hubKillClusters,
    seed,
    hubs: 3,
    workloads: false,
    heartbeat: "5s",
    ...(progress ? { progress } : {}),
  });
  const ledger = newLedger();
  let sim: SimFleet | undefined;
  try {
    const token = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", {
      ttl: "1h",
      maxUses: hubKillClusters.length,
      allowedLabels: { env: ["staging", "prod"], region: ["us", "eu"] },
    });
    for (const c of hubKillClusters) {
      await fleet.startAgent(c, { token: token.secret, labels: { ...demoClusters[c] } });
      ledger.agentClusters.push(c);
    }
    // The agents' clusters are the token's uses too.
    for (const c of hubKillClusters) ledger.registrations.set(c, { tokenId: token.id, acked: true });
    ledger.tokens.set(token.id, { maxUses: hubKillClusters.length });
    const head = await fleet.head();
    for (const c of hubKillClusters) await waitForWebHealthy(fleet.api, c, head, 180_000);
    if (simulated > 64) throw new Error("at most 64 simulated clusters (one token's allowed sim-shard values)");
    if (simulated > 0) {
      // Simulated clusters (the real agent on an in-memory store) through the same one address;
      // labels no target selects, so the pipeline's gates see only the demo's clusters.
      const simToken = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", {
        ttl: "1h",
        maxUses: simulated,
        labels: { sim: "chaos" },
        // The simulator labels each cluster with its shard.
        allowedLabels: { "sim-shard": Array.from({ length: Math.min(simulated, 64) }, (_, i) => String(i)) },
      });
      sim = await startSimFleet({ grpcAddress: fleet.agentAddress, caPem: fleet.caPem, registrationToken: simToken.secret, clusters: simulated, processes: 1, namePrefix: "sim", workerStderr: "ignore" });
      await sim.waitFor((f) => f.connected() === simulated, 180_000, "every simulated cluster connected");
      ledger.tokens.set(simToken.id, { maxUses: simulated });
      for (const name of sim.names) {
        ledger.registrations.set(name, { tokenId: simToken.id, acked: true });
        ledger.agentClusters.push(name);
      }
    }
  } catch (err) {
    await sim?.stop();
    await fleet.stop();
    throw err;
  }
  return { fleet, ledger, sim };
}

/** Options of {@link runHubKills}. */
export interface HubKillOptions {
  kills: number;
  /** Stand-in clusters registered per round (through real gRPC Register, with one token per round). */
  registrationsPerRound?: number;
  /** Ask for a promotion staging → prod-us every this many rounds (the first round included); default 5. */
  promoteEvery?: number;
  progress?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Registers `name` until the hub answers, retrying while replicas die; records it in the ledger.
 * Like the agent, it keeps its keys across attempts, so a retry of a registration whose answer
 * was lost with its hub gets the same cluster back.
 */
async function registerStandIn(fleet: ChaosFleet, ledger: Ledger, tokenId: string, secret: string, name: string): Promise<void> {
  const client = fleet.agentClient();
  const keys = agentKeys();
  try {
    const firstTry = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await register(client, secret, name, { keys });
        ledger.registrations.set(name, { tokenId, acked: true });
        return;
      } catch (err) {
        const code = err instanceof RpcError ? err.code : undefined;
        // Done by an attempt whose answer was lost with its hub.
        if (code === GrpcStatus.ALREADY_EXISTS) {
          ledger.registrations.set(name, { tokenId, acked: false });
          return;
        }
        // As the agent, which retries for good: a name reserved by a registration that died with
        // its replica is free again after the hub's 60 s, so up to 2 minutes are given.
        if (Date.now() - firstTry > 120_000) throw new Error(`registering ${name} failed for 2 minutes (${attempt + 1} tries); last: ${String(err)}`, { cause: err });
        await sleep(Math.min(2_000, 250 * 2 ** Math.min(attempt, 3)));
      }
    }
  } finally {
    client.close();
  }
}

/** Asks for a promotion staging → prod-us through a running replica; records what the hub answered. */
async function promote(fleet: ChaosFleet, ledger: Ledger, progress: (line: string) => void): Promise<void> {
  const head = await fleet.head();
  await waitForWebHealthy(fleet.api, "staging-us", head, 180_000).catch(() => undefined);
  const hub = fleet.running()[randomInt(fleet.running().length)];
  if (!hub) return;
  let res: Response;
  try {
    res = await fetch(`${hub.url}/api/v1/promotions`, {
      method: "POST",
      headers: { authorization: `Bearer ${fleet.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ pipeline: "web", from: "staging", to: "prod-us" }),
    });
  } catch {
    ledger.promotionsUnknown++;
    progress("  promotion: the answer was lost with its hub");
    return;
  }
  const body = (await res.json().catch(() => ({}))) as { promotion?: { id: string }; message?: string };
  if (res.status === 201 && body.promotion) {
    ledger.promotions.add(body.promotion.id);
    progress(`  promotion ${body.promotion.id} accepted by ${hub.name}`);
  } else {
    progress(`  promotion refused by ${hub.name}: ${res.status} ${body.message ?? ""}`);
  }
}

/**
 * Runs `kills` rounds. Each round commits a new staging tag (the rollout), registers stand-in
 * clusters, every few rounds asks for a promotion, and meanwhile kills a random running hub
 * with SIGKILL at a random moment, then starts it again. Returns the invariant report.
 */
export async function runHubKills(fleet: ChaosFleet, ledger: Ledger, options: HubKillOptions): Promise<InvariantReport> {
  const progress = options.progress ?? (() => {});
  const perRound = options.registrationsPerRound ?? 3;
  const promoteEvery = options.promoteEvery ?? 5;
  const startedAt = Date.now();
  for (let round = 1; round <= options.kills; round++) {
    const token = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", { ttl: "1h", maxUses: perRound, labels: { round: String(round) } });
    ledger.tokens.set(token.id, { maxUses: perRound });
    const victim = fleet.running()[randomInt(fleet.running().length)];
    if (!victim) throw new Error("no running hub to kill");
    const before = await victim.readyz();
    const role = typeof before?.body["role"] === "string" ? (before.body["role"]) : "?";
    const killAfter = randomInt(0, 2_500);
    const work = async (): Promise<void> => {
      await fleet.commit({ ...stagingConfig(`1.${round}.0`), ...platformRound(String(round)) }, `rollout: staging 1.${round}.0, platform round ${round}`);
      await Promise.all(Array.from({ length: perRound }, (_, i) => registerStandIn(fleet, ledger, token.id, token.secret, `standin-${round}-${i + 1}`)));
      if ((round - 1) % promoteEvery === 0) await promote(fleet, ledger, progress);
    };
    const kill = async (): Promise<void> => {
      await sleep(killAfter);
      await victim.kill();
      await sleep(randomInt(0, 2_000));
      await victim.start();
    };
    await Promise.all([work(), kill()]);
    progress(`kill ${round}/${options.kills}: ${victim.name} (${role}) after ${killAfter} ms; ${ledger.registrations.size} clusters registered; ${Math.round((Date.now() - startedAt) / 1000)} s`);
  }
  // Every replica back, and a leader among them.
  for (const h of fleet.hubs) await h.start();
  await waitFor(async () => (await Promise.all(fleet.hubs.map((h) => h.readyz()))).some((r) => r?.body["role"] === "leader") || undefined, {
    what: "a delivery leader among the hubs",
    timeoutMs: 60_000,
    intervalMs: 500,
  }).catch(() => progress("no replica reports role leader (is the delivery lease in this build?)"));
  // A last commit that changes every cluster's desired state: all of them must reach it.
  const head = await fleet.commit(platformRound("final"), "platform: final round");
  return await checkInvariants(fleet.api, ledger, head, 180_000);
}
