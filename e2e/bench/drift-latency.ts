// Time from a change made with kubectl (a merge patch under another field manager) until a user
// sees it: drift listed by the hub's drift API (report mode), the live value reverted (correct
// mode), and the correction listed by the hub's events API. The hub and the agent run as their
// own processes from the built packages, against one lab cluster with workloads; each run
// changes an object of its own, so the loop guard never steps in.
// Usage: npm run bench:drift-latency -- [--runs 9]
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { stringify } from "yaml";
import { kubeConfigFor, mergePatchAs, readObject } from "../src/kube-client.js";
import { startLab, type LabClusterInfo } from "../src/lab/lab.js";
import { waitFor } from "../src/lab/process.js";
import { configMap, manifestsYaml, namespace } from "../src/fleet/fleet-seed.js";
import { buildHubAndAgent, startHubProcess, type HubProcess } from "./fleet-processes.js";
import { machineNote, median, table, writeSection } from "./report.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "9" } } });
const runs = Number(values.runs);
const cluster = "latency";
const pollMs = 20;

/** The p-th percentile (nearest rank) of a non-empty list. */
function percentile(list: readonly number[], p: number): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

const names = Array.from({ length: runs }, (_, i) => `run-${i}`);
const seed = await mkdtemp(join(tmpdir(), "gitfleet-bench-seed-"));
await writeFile(
  join(seed, "fleet.yaml"),
  stringify({
    apiVersion: "gitfleet.dev/v1",
    kind: "Fleet",
    bundles: [
      { name: "reported", path: "reported", namespace: "reported", clusterSelector: {}, drift: "report" },
      { name: "corrected", path: "corrected", namespace: "corrected", clusterSelector: {} },
    ],
  }),
);
for (const ns of ["reported", "corrected"]) {
  await mkdir(join(seed, ns), { recursive: true });
  await writeFile(join(seed, ns, "objects.yaml"), manifestsYaml(namespace(ns), ...names.map((n) => configMap(n, { value: "git" }))));
}
console.log("building hub and agent (npm run build)...");
await buildHubAndAgent();
const lab = await startLab({ clusterNames: [cluster], seeds: { fleet: seed } });
let hub: HubProcess | undefined;
try {
  hub = await startHubProcess(lab);
  const api = hub.api;
  await hub.startAgent(cluster, "bench=latency");
  const head = (await run("git", ["ls-remote", lab.info().git.url, "refs/heads/main"])).stdout.split(/\s/)[0] ?? "";
  await waitFor(
    async () => {
      const s = await api.get<{ observedRevision?: string; bundles?: { sync: string }[] }>(`/clusters/${cluster}`).catch(() => undefined);
      return s?.observedRevision === head && s.bundles?.length === 2 && s.bundles.every((b) => b.sync === "synced") ? true : undefined;
    },
    { what: `${cluster} synced`, timeoutMs: 180_000, intervalMs: 250 },
  );
  const kc = kubeConfigFor(lab.info().clusters[0] as LabClusterInfo);
  const change = (ns: string, name: string) => mergePatchAs(kc, configMap(name, { value: "changed" }, ns), "kubectl-patch");
  // Each run waits for the previous one's reports to settle.
  const pause = () => new Promise((r) => setTimeout(r, 1_000));

  const visible: number[] = [];
  for (const name of names) {
    await pause();
    const t0 = performance.now();
    await change("reported", name);
    await waitFor(
      async () => {
        const answer = await api.get<{ items: { fields: { live: string }[] }[] }>(`/drift?bundle=reported&name=${name}`);
        return answer.items[0]?.fields.some((f) => f.live === '"changed"') || undefined;
      },
      { what: `${name} drift in the drift API`, timeoutMs: 30_000, intervalMs: pollMs },
    );
    visible.push(performance.now() - t0);
    console.log(`report mode, ${name}: drift listed after ${visible.at(-1)?.toFixed(0)} ms`);
  }

  const reverted: number[] = [];
  const evented: number[] = [];
  for (const name of names) {
    await pause();
    const t0 = performance.now();
    await change("corrected", name);
    const revert = waitFor(
      async () => ((await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "corrected" } }))?.data?.["value"] === "git" ? performance.now() - t0 : undefined),
      { what: `${name} reverted`, timeoutMs: 30_000, intervalMs: pollMs },
    );
    const event = waitFor(
      async () => ((await api.get<{ items: unknown[] }>(`/events?type=drift-corrected&name=${name}`)).items.length > 0 ? performance.now() - t0 : undefined),
      { what: `${name} drift-corrected event`, timeoutMs: 30_000, intervalMs: pollMs },
    );
    const [r, e] = await Promise.all([revert, event]);
    reverted.push(r);
    evented.push(e);
    console.log(`correct mode, ${name}: reverted after ${r.toFixed(0)} ms, event listed after ${e.toFixed(0)} ms`);
  }

  const row = (what: string, list: number[]) => [what, String(list.length), median(list).toFixed(0), percentile(list, 90).toFixed(0), Math.min(...list).toFixed(0), Math.max(...list).toFixed(0)];
  const out = [
    table(
      ["from a kubectl change to", "runs", "median (ms)", "p90 (ms)", "min (ms)", "max (ms)"],
      [
        row("drift listed by `GET /api/v1/drift` (report mode)", visible),
        row("live value reverted (correct mode)", reverted),
        row("`drift-corrected` listed by `GET /api/v1/events`", evented),
      ],
    ),
    "",
    `Machine: ${machineNote()}; load average at the end: ${(loadavg()[0] ?? 0).toFixed(1)} (the machine is shared). ` +
      `The hub and the agent run as their own processes from the built packages (default settings), one lab cluster with workloads. ` +
      `Each run patches one ConfigMap of its own (merge patch under the field manager kubectl-patch) and polls every ${pollMs} ms: ` +
      `the drift API for the new live value, the cluster for the reverted value, the events API for the correction. p90 is the nearest-rank percentile of the ${runs} runs.`,
  ].join("\n");
  console.log(`\n${out}`);
  await writeSection("drift-latency", "From a kubectl change to drift in the hub API, and to its correction (`npm run bench:drift-latency`)", out);
} finally {
  await hub?.stop();
  await lab.stop();
  await rm(seed, { recursive: true, force: true });
}
