// What the promotion stories read and do: a fleet repository made from the demo fleet with a
// pipeline of their own, the promotion and pipeline views of the hub API, and waits on them.
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HubClient } from "@gitfleet/hub";
import { stringify } from "yaml";
import type { KubeConfig, V1Deployment } from "@kubernetes/client-node";
import { readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { clusterDetail } from "./drift-views.js";
import type { Fleet } from "./fleet.js";

const demoFleet = fileURLToPath(new URL("../../fixtures/demo-fleet", import.meta.url));

/** The demo's clusters and their labels. */
export const demoClusters = {
  "staging-us": { env: "staging", region: "us" },
  "prod-us": { env: "prod", region: "us" },
  "prod-eu": { env: "prod", region: "eu" },
} as const;

/** The image the demo's web app promotes. */
export const webImage = "registry.example.com/web";

/** A stage of {@link webPipelineFleet}: its name (also its target and overlay), and what differs from the default. */
export interface WebStage {
  name: "staging" | "prod-us" | "prod-eu";
  /** The target's clusterSelector labels; default the demo's labels of the stage's cluster. */
  selector?: Record<string, string>;
  /** More fields of the pipeline stage (gates, auto, verify). */
  fields?: Record<string, unknown>;
}

const stageLabels: Record<WebStage["name"], Record<string, string>> = {
  staging: demoClusters["staging-us"],
  "prod-us": demoClusters["prod-us"],
  "prod-eu": demoClusters["prod-eu"],
};

/**
 * A fleet.yaml with only the demo's web bundle, one target per stage, and pipeline `web` through
 * those stages promoting the web image; stages after the first verify within 2 minutes unless
 * their `fields` say otherwise.
 */
export function webPipelineFleet(stages: readonly WebStage[]): string {
  return stringify({
    apiVersion: "gitfleet.dev/v1",
    kind: "Fleet",
    bundles: [
      {
        name: "web",
        path: "apps/web",
        namespace: "web",
        substitute: true,
        targets: stages.map((s) => ({ name: s.name, clusterSelector: { matchLabels: { ...(s.selector ?? stageLabels[s.name]) } }, overlay: s.name })),
      },
    ],
    pipelines: [
      {
        name: "web",
        bundle: "web",
        promote: { images: [webImage] },
        stages: stages.map((s, i) => ({ name: s.name, target: s.name, ...(i > 0 ? { verify: { timeout: "2m" } } : {}), ...s.fields })),
      },
    ],
  });
}

/**
 * Registers the demo clusters with one token that grants their labels, starts their agents, and
 * waits until each runs `apps` (default the web app) healthy at the head; returns the head.
 */
export async function startDemoAgents(fleet: Fleet, clusters: readonly (keyof typeof demoClusters)[], apps: readonly string[] = ["web"]): Promise<string> {
  const token = await fleet.api.post<{ secret: string }>("/registration-tokens", {
    ttl: "1h",
    maxUses: clusters.length,
    allowedLabels: { env: ["staging", "prod"], region: ["us", "eu"] },
  });
  for (const c of clusters) await fleet.startAgent(c, { token: token.secret, labels: { ...demoClusters[c] } });
  const head = await fleet.head();
  for (const c of clusters) for (const app of apps) await waitForWebHealthy(fleet.api, c, head, 180_000, app);
  return head;
}

/** A copy of the demo fleet with `files` written over it (path -> content); returns its folder. */
export async function demoSeed(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
  await cp(demoFleet, dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/**
 * A second app made from the demo's web app: its base and the overlays of `stages`, with every
 * "web" renamed (namespace, objects, image), under apps/<name>.
 */
export async function derivedApp(name: string, stages: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const folder of ["base", ...stages]) {
    for (const file of await readdir(join(demoFleet, "apps/web", folder))) {
      out[`apps/${name}/${folder}/${file}`] = (await readFile(join(demoFleet, "apps/web", folder, file), "utf8")).replaceAll("web", name);
    }
  }
  return out;
}

/** A file of the demo fleet as it is in the repository. */
export async function demoFile(path: string): Promise<string> {
  return await readFile(join(demoFleet, path), "utf8");
}

/** The overlay kustomization of a stage of the demo's web app. */
export const overlayFile = (stage: string): string => `apps/web/${stage}/kustomization.yaml`;

/** `text` with the web image's newTag set to `tag` (the overlay has exactly one). */
export function withTag(text: string, tag: string): string {
  const out = text.replace(/^(\s+newTag:\s*).*$/m, `$1${tag}`);
  if (out === text && !text.includes(`newTag: ${tag}`)) throw new Error("no newTag line to change");
  return out;
}

/** One gate result. */
export interface GateView {
  gate: string;
  passed: boolean;
  message: string;
  clusters: string[];
}

/** A stage's gates at one moment. */
export interface GatesView {
  stage: string;
  commit: string;
  passed: boolean;
  gates: GateView[];
}

/** A promotion record, as `GET /api/v1/promotions/{id}` answers it. */
export interface PromotionRecordView {
  id: string;
  kind: "promotion" | "rollback";
  pipeline: string;
  from: { stage: string; commit: string };
  to: { stage: string };
  author: string;
  automatic: boolean;
  state: string;
  createdAt: string;
  values: { kind: string; file: string; key: string; value?: string }[];
  diff: { file: string; diff: string }[];
  gates: GatesView;
  commit?: string;
  parent?: string;
  rollbackOf?: string;
  rolledBackBy?: string;
  message?: string;
  transitions: { state: string; at: string; message?: string }[];
}

/** Reads one promotion. */
export const promotionOf = async (api: HubClient, id: string): Promise<PromotionRecordView> => (await api.get<{ promotion: PromotionRecordView }>(`/promotions/${id}`)).promotion;

/** Lists promotions (newest first, as the API answers). */
export async function promotionsOf(api: HubClient, query: Record<string, string> = {}): Promise<PromotionRecordView[]> {
  const q = new URLSearchParams(query).toString();
  return (await api.get<{ items: PromotionRecordView[] }>(`/promotions${q ? `?${q}` : ""}`)).items;
}

/** Waits until a promotion is in one of `states`, failing early when it reaches another final state. */
export async function waitForPromotionState(api: HubClient, id: string, states: readonly string[], timeoutMs = 120_000): Promise<PromotionRecordView> {
  let last: PromotionRecordView | undefined;
  const final = ["verified", "failed", "rolled-back"];
  try {
    return await waitFor(
      async () => {
        last = await promotionOf(api, id);
        if (states.includes(last.state)) return last;
        if (final.includes(last.state) && !states.some((s) => final.includes(s) && s !== last?.state)) {
          throw new Error(`promotion ${id} ended ${last.state}: ${last.message ?? ""}`);
        }
        return undefined;
      },
      { what: `promotion ${id} ${states.join(" or ")}`, timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last && { state: last.state, message: last.message, transitions: last.transitions })}`, { cause: err });
  }
}

/** Waits until the web bundle (or the bundle `app`) of a cluster is healthy at `revision`. */
export async function waitForWebHealthy(api: HubClient, cluster: string, revision: string, timeoutMs = 120_000, app = "web"): Promise<void> {
  let last: unknown;
  try {
    await waitFor(
      async () => {
        const web = (await clusterDetail(api, cluster)).bundles.find((b) => b.name === app);
        last = web && { sync: web.sync, health: web.health, revision: web.revision, healthRevision: web.healthRevision };
        return web?.sync === "synced" && web.revision === revision && web.health === "healthy" && web.healthRevision === revision ? true : undefined;
      },
      { what: `${cluster}'s ${app} bundle healthy at ${revision.slice(0, 12)}`, timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** The image the web Deployment (or the app's, named and namespaced after it) of a cluster runs. */
export async function webImageIn(kc: KubeConfig, app = "web"): Promise<string | undefined> {
  const deployment = await readObject<V1Deployment>(kc, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: app, namespace: app },
  });
  return deployment?.spec?.template.spec?.containers[0]?.image;
}

/** Waits until the web Deployment (or the app's) of a cluster runs `image`, with every replica updated and available. */
export async function waitForWebImage(kc: KubeConfig, cluster: string, image: string, timeoutMs = 120_000, app = "web"): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const d = await readObject<V1Deployment>(kc, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace: app },
      });
      const running = d?.spec?.template.spec?.containers[0]?.image;
      last = d && { image: running, status: d.status };
      const replicas = d?.spec?.replicas;
      return running === image && d?.status?.replicas === replicas && d?.status?.updatedReplicas === replicas && d?.status?.availableReplicas === replicas ? true : undefined;
    },
    { what: `${cluster} runs ${image} on every replica`, timeoutMs, intervalMs: 500 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
  });
}

/** Calls the API with a token of one's own, answering the status and the parsed body. */
export async function callAs(hubUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${hubUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** A kustomize patch that makes the web pods fail in the lab (the failure annotation on the template). */
export const failingPodsPatch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      annotations:
        lab.gitfleet.dev/fail: "true"
`;
