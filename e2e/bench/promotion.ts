// Promotion timings. On the lab (kwok runs the pods): from the API call to the commit pushed, and
// from that commit to the target stage verified (no soak), median of 9 promotions of the demo's
// web app from staging to prod-us. Then a dry-run promotion out of a stage of 1,000 clusters
// whose statuses go the real way: cluster records and status reports written to the hub's
// buckets of a real nats-server by another replica's stores, the hub's desired state resolved
// from a real Git server. Usage: npm run bench:promotion -- [--runs 9] [--clusters 1000] [--dry-runs 50]
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bucketNames, createHub, createStatusStore, gitDelivery, parseApiToken, type Hub, type HubOptions } from "@gitfleet/hub";
import { create, DriftMode, DriftState, HealthState, StatusReportSchema, SyncState, timestampFromDate, type StatusReport } from "@gitfleet/proto";
import { Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { pino } from "pino";
import { startFleet, type Fleet } from "../src/fleet/fleet.js";
import { demoFile, demoSeed, overlayFile, startDemoAgents, waitForPromotionState, waitForWebHealthy, webPipelineFleet, withTag } from "../src/fleet/promotions.js";
import { fleetClusterRecord } from "../src/hub/drift-fleet.js";
import { ensureBinary } from "../src/lab/binaries.js";
import { startGitServer } from "../src/lab/git-server.js";
import { startNats } from "../src/lab/nats.js";
import { waitFor } from "../src/lab/process.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "9" }, clusters: { type: "string", default: "1000" }, "dry-runs": { type: "string", default: "50" } } });
const runs = Number(values.runs);
const clusterCount = Number(values.clusters);
const dryRuns = Number(values["dry-runs"]);
const say = (line: string): void => console.log(`[bench] ${line}`);
const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

process.env["GITFLEET_KUSTOMIZE"] ??= await ensureBinary("kustomize", say);

const fleetYaml = (stagingSelector: Record<string, string>): string =>
  webPipelineFleet([{ name: "staging", selector: stagingSelector }, { name: "prod-us", fields: { verify: { timeout: "5m" } } }]);
;

/** Part 1: promotions on the lab, one staging and one prod-us cluster running the pods. */
async function onTheLab(): Promise<{ rows: string[][]; loads: number[] }> {
  const seed = await demoSeed({ "fleet.yaml": fleetYaml({ env: "staging" }) });
  let fleet: Fleet | undefined;
  try {
    const clusters = ["staging-us", "prod-us"] as const;
    fleet = await startFleet({ clusters: [...clusters], seed, webhookOnPush: true, logLevel: "info", progress: say });
    await startDemoAgents(fleet, clusters);
    const staging = await demoFile(overlayFile("staging"));
    const answered: number[] = [];
    const pushed: number[] = [];
    const verified: number[] = [];
    const loads: number[] = [];
    for (let i = 0; i < runs; i++) {
      const revision = await fleet.commit({ [overlayFile("staging")]: withTag(staging, `3.0.${i}`) }, `staging: web 3.0.${i}`);
      await waitForWebHealthy(fleet.api, "staging-us", revision);
      loads.push(loadavg()[0] ?? 0);
      const t0 = Date.now();
      const { promotion } = await fleet.api.post<{ promotion: { id: string } }>("/promotions", { pipeline: "web", from: "staging", to: "prod-us" });
      answered.push(Date.now() - t0);
      const record = await waitForPromotionState(fleet.api, promotion.id, ["verified"], 300_000);
      const at = (state: string): number => Date.parse(record.transitions.find((t) => t.state === state)?.at ?? "");
      pushed.push(at("committed") - t0);
      verified.push(at("verified") - at("committed"));
      say(`run ${i + 1}/${runs}: answered ${answered.at(-1)} ms, pushed ${pushed.at(-1)} ms, verified ${verified.at(-1)} ms after the commit`);
    }
    const row = (what: string, xs: number[]): string[] => [what, String(xs.length), seconds(median(xs)), seconds(Math.min(...xs)), seconds(Math.max(...xs))];
    return {
      rows: [
        row("API call → commit pushed (the record's `committed` transition)", pushed),
        row("API call → answer (201, record rolling out)", answered),
        row("commit pushed → prod-us verified (synced and healthy at it, no soak)", verified),
      ],
      loads,
    };
  } finally {
    await fleet?.stop();
    await rm(seed, { recursive: true, force: true });
  }
}

/** A cluster's status: the web bundle synced and healthy at `digest` of `commit`. */
function healthyStatus(commit: string, digest: string, now: Date): StatusReport {
  const seen = timestampFromDate(now);
  const resource = (group: string, kind: string, name: string) => ({
    group,
    version: "v1",
    kind,
    namespace: "web",
    name,
    sync: SyncState.SYNCED,
    health: HealthState.HEALTHY,
    driftState: DriftState.IN_SYNC,
  });
  const resources = [resource("", "ServiceAccount", "web"), resource("", "Service", "web"), resource("", "ConfigMap", "web-config"), resource("apps", "Deployment", "web")];
  return create(StatusReportSchema, {
    observedRevision: commit,
    observedGeneration: 1n,
    agentVersion: "bench",
    reportedAt: seen,
    bundles: [
      {
        name: "web",
        digest,
        revision: commit,
        sync: SyncState.SYNCED,
        health: HealthState.HEALTHY,
        healthRevision: commit,
        driftMode: DriftMode.CORRECT,
        resources,
        resourceCount: resources.length,
        lastAppliedAt: seen,
      },
    ],
  });
}

/** Part 2: dry runs out of a staging stage of `clusterCount` clusters. */
async function dryRunAtScale(): Promise<{ rows: string[][]; note: string }> {
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-bench-promotion-"));
  const seed = await demoSeed({ "fleet.yaml": fleetYaml({ env: "staging" }) });
  const nats = await startNats({ binary: await ensureBinary("nats-server", say), dir });
  const git = await startGitServer({ dir: join(dir, "git"), seeds: { fleet: seed } });
  const adminToken = "bench-admin-token-0123456789";
  let hub: Hub | undefined;
  try {
    const creds = await readFile(nats.adminCredsPath, "utf8");
    const admin = await connect({ servers: nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)) });
    const hubOptions: HubOptions = {
      logger: pino({ level: "warn" }),
      nats: { servers: nats.url, creds },
      account: { publicKey: nats.accountPublicKey },
      agentAccount: { publicKey: nats.agentAccountPublicKey, signingSeed: nats.agentSigningSeed },
      httpAddress: "127.0.0.1:0",
      grpcAddress: "127.0.0.1:0",
      apiTokens: [parseApiToken(adminToken, "admin", "bench")],
      // Stale after 30 minutes: no cluster of the bench is.
      heartbeatIntervalSeconds: 600,
      delivery: gitDelivery({ url: git.url("fleet"), branch: "main", pollIntervalMs: 3_600_000 }, { kustomize: process.env["GITFLEET_KUSTOMIZE"] }),
      announceAdminToken: () => {},
    };
    // A first start creates the buckets; the cluster records go in while no hub runs.
    hub = createHub(hubOptions);
    await hub.start();
    await hub.stop();
    const kvm = new Kvm(admin);
    const clustersKv = await kvm.open(bucketNames.clusters);
    const started = new Date();
    const shape = { clusters: clusterCount, bundles: 1, objects: 1, driftEvery: 1_000_000, staleEvery: 1_000_000_000 };
    const records = Array.from({ length: clusterCount }, (_, i) => {
      const r = fleetClusterRecord(shape, i, started);
      return { ...r, name: `staging-${String(i).padStart(4, "0")}`, labels: { env: "staging", region: "us" } };
    });
    for (const r of records) await clustersKv.put(r.id, JSON.stringify(r));
    hub = createHub(hubOptions);
    await hub.start();
    const base = `http://127.0.0.1:${hub.httpPort}/api/v1`;
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };

    // The hub resolves the stage's desired state for every cluster; each reports it synced and healthy.
    const t0 = performance.now();
    const bundle = await waitFor(
      async () => {
        const b = await call<{ commit: string; clusters: { name: string; desiredDigest?: string }[] }>("GET", "/bundles/web").catch(() => undefined);
        return b && b.clusters.filter((c) => c.desiredDigest).length === clusterCount ? b : undefined;
      },
      { what: `the web bundle resolved for ${clusterCount} clusters`, timeoutMs: 600_000, intervalMs: 250 },
    );
    const resolved = performance.now() - t0;
    const idOf = new Map(records.map((r) => [r.name, r.id]));
    const statusKv = await kvm.open(bucketNames.status);
    const writer = createStatusStore({ kv: statusKv, logger: pino({ level: "warn" }) });
    for (const c of bundle.clusters) await writer.put(idOf.get(c.name) ?? "", healthyStatus(bundle.commit, c.desiredDigest ?? "", new Date()));
    await writer.stop();
    const request = { pipeline: "web", from: "staging", to: "prod-us", dryRun: true };
    type DryRun = { gates: { passed: boolean; clusters: unknown[]; gates: { gate: string; passed: boolean; message: string }[] }; diff: unknown[] };
    let last: DryRun | undefined;
    await waitFor(
      async () => {
        last = await call<DryRun>("POST", "/promotions", request);
        return last.gates.passed && last.gates.clusters.length === clusterCount ? true : undefined;
      },
      { what: `the gates of staging passed over ${clusterCount} clusters`, timeoutMs: 300_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last gates: ${JSON.stringify(last?.gates.gates)}`, { cause: err });
    });
    const fed = performance.now() - t0;
    const loads: number[] = [];
    const timed = async (what: string, fn: () => Promise<unknown>): Promise<string[]> => {
      for (let i = 0; i < 5; i++) await fn();
      const times: number[] = [];
      for (let i = 0; i < dryRuns; i++) {
        loads.push(loadavg()[0] ?? 0);
        const t = performance.now();
        await fn();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      say(`${what}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`);
      return [what, String(dryRuns), percentile(times, 50).toFixed(1), percentile(times, 99).toFixed(1), (times.at(-1) ?? 0).toFixed(1)];
    };
    const rows = [
      await timed(`\`POST /api/v1/promotions\` dry run, staging (${clusterCount.toLocaleString("en")} clusters) → prod-us`, () => call("POST", "/promotions", request)),
      await timed("`GET /api/v1/pipelines/web` (gates of every stage now)", () => call("GET", "/pipelines/web")),
    ];
    await admin.close();
    const note = `The hub resolved the staging target for ${clusterCount.toLocaleString("en")} clusters (a kustomize build, then substitution per cluster) in ${seconds(resolved)} s; with every status written, the dry run passed its gates ${seconds(fed)} s after the start. Load average while timing: median ${median(loads).toFixed(1)}.`;
    return { rows, note };
  } finally {
    await hub?.stop();
    await git.stop();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(seed, { recursive: true, force: true });
  }
}

const lab = await onTheLab();
const scale = await dryRunAtScale();
const out = [
  `On the lab: the demo's web app promoted ${runs} times from staging (one cluster) to prod-us (one cluster, 3 replicas that kwok runs), each after a tag bump in staging that became healthy; pushes reach the hub by webhook. Times come from the promotion record's transitions (written by the hub) and the caller's clock, on the same machine.`,
  "",
  table(["measure", "runs", "median (s)", "min (s)", "max (s)"], lab.rows),
  "",
  `A dry run out of a stage of ${clusterCount.toLocaleString("en")} clusters: cluster records and status reports (the web bundle synced and healthy at the desired digest the hub resolved for each) written to the hub's buckets by another replica's stores; the hub reads them through its watches. 5 warm-up calls, then ${dryRuns}.`,
  "",
  table(["call", "runs", "p50 (ms)", "p99 (ms)", "max (ms)"], scale.rows),
  "",
  `${scale.note} Machine: ${machineNote()}; 1-minute load average during the lab runs: median ${median(lab.loads).toFixed(1)} (the machine is shared).`,
].join("\n");
console.log(`\n${out}`);
await writeSection("promotion", "Promotion: API to commit, commit to verified, and a dry run over 1,000 clusters (`npm run bench:promotion`)", out);
