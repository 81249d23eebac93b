// Resolve time per commit for a synthetic fleet, and the memory the hub's process holds while
// doing it: fleet.yaml with one bundle of N targets (one overlay each, ~10 objects per overlay)
// and M clusters spread over the targets, resolved by the hub's own resolve() with its renderer.
// Two fleets: one whose overlays use no cluster variables (one payload per overlay, shared by its
// clusters), and one where every overlay names ${cluster_name} (one payload per cluster).
// Measured per fleet: a cold resolve (nothing cached), a commit that touches one overlay, and a
// resolve with nothing changed (what a cluster registering costs). Publishing is not included.
// Usage: npm run bench:resolve -- [--runs 5] [--clusters 1000] [--overlays 20] [--objects 10] [--kustomize]
import { parseArgs } from "node:util";
import { createKustomizeRenderer, createOverlayRenderer, resolve, type ClusterRef, type OverlayRenderer, type RenderMemo, type Resolution, type Snapshot } from "@gitfleet/hub/delivery";
import { ensureBinary } from "../src/lab/binaries.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    clusters: { type: "string", default: "1000" },
    overlays: { type: "string", default: "20" },
    objects: { type: "string", default: "10" },
    kustomize: { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const clusterCount = Number(values.clusters);
const overlayCount = Number(values.overlays);
const objectCount = Number(values.objects);
const useKustomize = values.kustomize;

const encoder = new TextEncoder();
let commitSequence = 0;
const nextCommit = (): string => (++commitSequence).toString(16).padStart(40, "0");

/** One object of an overlay, about 1 KiB of YAML, alternating Deployments, Services and ConfigMaps. */
function manifest(overlay: number, index: number, perCluster: boolean, revision: number): string {
  const name = `app-${index}`;
  const clusterLabel = perCluster ? "\n    cluster: ${cluster_name}" : "";
  switch (index % 3) {
    case 0:
      return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${name}
    overlay: r${overlay}${clusterLabel}
spec:
  replicas: 3
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: main
          image: registry.example.com/${name}:1.${revision}.0
          ports: [{ containerPort: 8080 }]
          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: "1", memory: 512Mi }
          env:
            - { name: REGION, value: r${overlay} }
            - { name: LOG_LEVEL, value: info }
`;
    case 1:
      return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app: ${name}${clusterLabel}
spec:
  selector: { app: ${name} }
  ports:
    - { name: http, port: 80, targetPort: 8080 }
`;
    default:
      return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels:
    app: ${name}${clusterLabel}
data:
  region: r${overlay}
  settings.json: '{"cache": true, "ttl": 300, "endpoints": ["https://a.example.com", "https://b.example.com"], "revision": ${revision}}'
`;
  }
}

/** The fleet repository: plain overlay folders, or kustomizations over one base per overlay. */
function repository(perCluster: boolean): Map<string, Uint8Array> {
  const targets = Array.from({ length: overlayCount }, (_, i) => `      - { name: r${i}, clusterSelector: { matchLabels: { region: r${i} } }, overlay: overlays/r${i} }`);
  const files = new Map<string, Uint8Array>();
  const put = (path: string, text: string): void => void files.set(path, encoder.encode(text));
  put("fleet.yaml", `apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: app\n    path: apps/app\n    namespace: app\n    substitute: true\n    targets:\n${targets.join("\n")}\n`);
  for (let o = 0; o < overlayCount; o++) {
    const dir = useKustomize ? `apps/app/bases/r${o}` : `apps/app/overlays/r${o}`;
    for (let i = 0; i < objectCount; i++) put(`${dir}/object-${i}.yaml`, manifest(o, i, perCluster, 0));
    if (useKustomize) {
      put(`${dir}/kustomization.yaml`, `resources:\n${Array.from({ length: objectCount }, (_, i) => `  - object-${i}.yaml`).join("\n")}\n`);
      put(`apps/app/overlays/r${o}/kustomization.yaml`, `resources:\n  - ../../bases/r${o}\ncommonLabels:\n  fleet: bench\n`);
    }
  }
  return files;
}

/** The next commit: the same file contents (the same bytes, as the Git source hands them out) but one object of one overlay. */
function touch(files: ReadonlyMap<string, Uint8Array>, overlay: number, perCluster: boolean, revision: number): Snapshot {
  const next = new Map(files);
  const dir = useKustomize ? `apps/app/bases/r${overlay}` : `apps/app/overlays/r${overlay}`;
  next.set(`${dir}/object-0.yaml`, encoder.encode(manifest(overlay, 0, perCluster, revision)));
  return { commit: nextCommit(), files: next };
}

const clusters: ClusterRef[] = Array.from({ length: clusterCount }, (_, i) => ({
  id: `c${i.toString().padStart(20, "0")}`,
  name: `cluster-${i}`,
  labels: { region: `r${i % overlayCount}`, env: i % 2 === 0 ? "prod" : "staging" },
}));

let peakRss = 0;
let peakHeap = 0;
const sample = (): void => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
};
const sampler = setInterval(sample, 5);

async function timed(run: () => Promise<Resolution>): Promise<{ ms: number; resolution: Extract<Resolution, { ok: true }> }> {
  const started = performance.now();
  const resolution = await run();
  const ms = performance.now() - started;
  sample();
  if (!resolution.ok) throw new Error(resolution.error.message);
  const failed = [...resolution.clusters.values()].flatMap((c) => c.errors);
  if (failed.length > 0) throw new Error(`the synthetic fleet does not resolve: ${failed[0]?.message ?? ""}`);
  return { ms, resolution };
}

const distinctPayloads = (resolution: Extract<Resolution, { ok: true }>): number =>
  new Set([...resolution.clusters.values()].flatMap((c) => c.bundles.map((b) => b.digest))).size;

const binary = useKustomize ? (process.env["GITFLEET_KUSTOMIZE"] ?? (await ensureBinary("kustomize", (line) => console.log(`  ${line}`)))) : undefined;
const rows: string[][] = [];
const baseline = process.memoryUsage();
for (const perCluster of [false, true]) {
  const kustomize = binary === undefined ? undefined : createKustomizeRenderer({ binary });
  const renderer: OverlayRenderer = createOverlayRenderer({ kustomize });
  const fleet = perCluster ? "every overlay names ${cluster_name}" : "no cluster variables";
  try {
    const files = repository(perCluster);
    const cold: number[] = [];
    const touched: number[] = [];
    const unchanged: number[] = [];
    let stats: Record<string, string> = {};
    for (let i = 0; i < runs; i++) {
      const first = await timed(() => resolve({ snapshot: { commit: nextCommit(), files }, clusters, renderer }));
      cold.push(first.ms);
      const touchedSnapshot = touch(files, i % overlayCount, perCluster, i + 1);
      const second = await timed(() => resolve({ snapshot: touchedSnapshot, clusters, renderer, previous: first.resolution.renders }));
      touched.push(second.ms);
      const memo: RenderMemo = second.resolution.renders;
      const third = await timed(() => resolve({ snapshot: touchedSnapshot, clusters, renderer, previous: memo }));
      unchanged.push(third.ms);
      const s = (r: typeof first): string => `${r.resolution.stats.rendered} / ${r.resolution.stats.results}`;
      stats = { cold: s(first), touched: s(second), unchanged: s(third), payloads: String(distinctPayloads(first.resolution)) };
    }
    const payloads = stats["payloads"] ?? "";
    rows.push([fleet, "cold: first commit, nothing cached", stats["cold"] ?? "", payloads, median(cold).toFixed(0), Math.min(...cold).toFixed(0)]);
    rows.push([fleet, "a commit touching one overlay", stats["touched"] ?? "", payloads, median(touched).toFixed(0), Math.min(...touched).toFixed(0)]);
    rows.push([fleet, "same commit again (a cluster registers)", stats["unchanged"] ?? "", payloads, median(unchanged).toFixed(0), Math.min(...unchanged).toFixed(0)]);
    console.log(`${fleet}: cold ${median(cold).toFixed(0)} ms, one overlay ${median(touched).toFixed(0)} ms, unchanged ${median(unchanged).toFixed(0)} ms`);
  } finally {
    await kustomize?.close();
  }
}
clearInterval(sampler);

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const body = [
  table(["fleet", "resolve", "overlays rendered / results computed", "distinct payloads", "median (ms)", "min (ms)"], rows),
  "",
  table(["process memory", "before", "peak while resolving"], [
    ["RSS (MiB)", mib(baseline.rss), mib(peakRss)],
    ["JS heap used (MiB)", mib(baseline.heapUsed), mib(peakHeap)],
  ]),
  "",
  `${clusterCount} clusters, one bundle with ${overlayCount} targets (one ${useKustomize ? "kustomize overlay over its own base" : "plain folder"} each, ${objectCount} objects of about 1 KiB), ` +
    `clusters spread evenly over the targets; median of ${runs} runs. "Results computed" counts per-cluster results (substitution, checks, payload and digest) ` +
    "computed rather than carried over; clusters whose variables agree share one. The touched commit changes one object of one overlay and shares every other file's bytes " +
    "with the commit before, as the Git source does. resolve() only: fetching, encoding and publishing are not included. The memory is this benchmark's process, which runs the hub's resolve.",
  "",
  `Machine: ${machineNote()}.`,
].join("\n");
await writeSection(useKustomize ? "resolve-kustomize" : "resolve", `Resolve per commit${useKustomize ? ", kustomize overlays" : ""} (\`npm run bench:resolve${useKustomize ? " -- --kustomize" : ""}\`)`, body);
console.log(body);
