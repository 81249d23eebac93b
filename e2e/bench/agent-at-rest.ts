// CPU and memory of the agent at rest: the real gitfleet-agent process (built package, default
// settings: 30 s reconcile interval, drift watches on) against a hub process and one lab
// cluster, first with nothing to enforce, then with 1,000 ConfigMaps in 4 namespaces and
// bundles, then the same after a restart (a fresh process that adopted them), then after a
// commit that adds one more object to a watched namespace. Each phase waits until the hub shows
// the cluster synced, lets the agent settle, then samples /proc for a while. The apiserver's
// request counters show what the agent asks of the cluster meanwhile (the lab runs no workloads,
// so the agent is the apiserver's only client). Each reconcile pass that changes the objects
// (the first apply of all of them, a restarted agent adopting them, one more) is measured too:
// its wall time, the CPU time it took and the agent's peak RSS meanwhile (VmHWM, reset first).
// Usage: npm run bench:agent-at-rest -- [--objects 1000] [--seconds 60] [--settle 40] [--node-options=--max-semi-space-size=16]
import { execFile, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { startLab, type LabClusterInfo } from "../src/lab/lab.js";
import { waitFor } from "../src/lab/process.js";
import { buildHubAndAgent, startHubProcess, stopChild, type HubProcess } from "./fleet-processes.js";
import { clockTicksPerSecond, cpuTicks, sampleProcess, type ProcessSample } from "./process-stats.js";
import { machineNote, table, writeSection } from "./report.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "1000" },
    seconds: { type: "string", default: "60" },
    settle: { type: "string", default: "40" },
    // NODE_OPTIONS of the agent process, to compare V8 settings (the product's own are in its entry).
    "node-options": { type: "string", default: "" },
  },
});
const agentEnv: NodeJS.ProcessEnv = values["node-options"] ? { NODE_OPTIONS: values["node-options"] } : {};
const objectCount = Number(values.objects);
const seconds = Number(values.seconds);
const settleSeconds = Number(values.settle);
const namespaces = ["rest-a", "rest-b", "rest-c", "rest-d"];
const cluster = "at-rest";

/** fleet.yaml with one bundle per namespace (or none). */
const fleetYaml = (bundles: boolean): string =>
  [
    "apiVersion: gitfleet.dev/v1",
    "kind: Fleet",
    bundles ? "bundles:" : "bundles: []",
    ...(bundles ? namespaces.flatMap((ns) => [`  - name: ${ns}`, `    path: ${ns}`, `    namespace: ${ns}`, "    clusterSelector: {}"]) : []),
    "",
  ].join("\n");

/** A ConfigMap of a realistic size (about 400 bytes of data). */
const configMapYaml = (name: string, i: number): string =>
  [
    "---",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    `  name: ${name}`,
    "  labels: { app.kubernetes.io/part-of: at-rest }",
    "data:",
    `  index: "${i}"`,
    `  url: https://service-${i}.example.internal:8443/api/v1`,
    "  log-level: info",
    `  feature-flags: "alpha=false,beta=true,gamma=${i % 2 === 0}"`,
    `  settings.json: '{"retries": 3, "timeoutMs": 2500, "pool": {"min": 2, "max": 16}, "owner": "team-${i % 7}"}'`,
  ].join("\n");

/** The files of the fleet repository for `count` ConfigMaps spread over the namespaces. */
function fleetFiles(count: number): Record<string, string> {
  const files: Record<string, string> = { "fleet.yaml": fleetYaml(true) };
  namespaces.forEach((ns, n) => {
    const docs = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}`];
    for (let i = n; i < count; i += namespaces.length) docs.push(configMapYaml(`settings-${i}`, i));
    files[`${ns}/objects.yaml`] = `${docs.join("\n")}\n`;
  });
  return files;
}

/** The apiserver's request counters (apiserver_request_total) by verb, watches left out. */
async function apiRequests(c: LabClusterInfo): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(`${c.server}/metrics`, { headers: { authorization: `Bearer ${c.token}` }, ca: c.caData }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? "";
    if (verb === "WATCH" || verb === "") continue;
    counts.set(verb, (counts.get(verb) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return counts;
}

/** Requests per verb between two readings, as "GET 12, PATCH 3", and their total. */
function requestsBetween(before: Map<string, number>, after: Map<string, number>): { total: number; text: string } {
  const parts: string[] = [];
  let total = 0;
  for (const [verb, n] of [...after].sort()) {
    const d = n - (before.get(verb) ?? 0);
    if (d > 0) parts.push(`${verb} ${d}`);
    total += d;
  }
  return { total, text: parts.join(", ") || "none" };
}

/** Peak resident set size of a process since it started or since {@link resetPeakRss}, in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  return Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

/** A process's resident memory split into anonymous (heaps, stacks) and file-backed (the node binary's pages), in MiB. */
async function rssSplitMiB(pid: number): Promise<{ anonymous: number; file: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { anonymous: kib("Anonymous") / 1024, file: (kib("Rss") - kib("Anonymous")) / 1024 };
}

/** Resets a process's peak RSS to its current RSS (Linux: clear_refs 5); false when not allowed. */
async function resetPeakRss(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, "5").then(
    () => true,
    () => false,
  );
}

const seed = await mkdtemp(join(tmpdir(), "gitfleet-bench-seed-"));
await writeFile(join(seed, "fleet.yaml"), fleetYaml(false));
console.log("building hub and agent (npm run build)...");
await buildHubAndAgent();
const lab = await startLab({ clusterNames: [cluster], workloads: false, seeds: { fleet: seed } });
let hub: HubProcess | undefined;
const rows: string[][] = [];
const passes: string[][] = [];
const loads: number[] = [];
const hz = await clockTicksPerSecond();
try {
  hub = await startHubProcess(lab);
  const labCluster = lab.info().clusters[0] as LabClusterInfo;
  const repo = join(lab.dir, "bench-repo");
  await run("git", ["clone", "--quiet", lab.info().git.url, repo]);
  const commit = async (files: Record<string, string>, message: string): Promise<string> => {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
    }
    await run("git", ["-C", repo, "add", "-A"]);
    await run("git", ["-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@gitfleet.invalid", "commit", "-q", "-m", message]);
    await run("git", ["-C", repo, "push", "--quiet", "origin", "HEAD:main"]);
    await hub?.webhook();
    return (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
  };
  const synced = async (sha: string, bundles: number): Promise<void> => {
    const api = (hub as HubProcess).api;
    await waitFor(
      async () => {
        const s = await api.get<{ connected?: boolean; observedRevision?: string; bundles?: { sync: string }[] }>(`/clusters/${cluster}`).catch(() => undefined);
        const list = s?.bundles ?? [];
        // A report after a change may hold only the bundles that changed (a delta): count those the hub lists.
        return s?.connected && s.observedRevision === sha && list.length > 0 === bundles > 0 && list.length <= bundles && list.every((b) => b.sync === "synced") ? true : undefined;
      },
      { what: `${cluster} synced at ${sha.slice(0, 12)} with ${bundles} bundles`, timeoutMs: 300_000, intervalMs: 250 },
    );
  };
  const measure = async (label: string, tracked: number, agent: ChildProcess): Promise<ProcessSample> => {
    console.log(`${label}: settling ${settleSeconds} s, then sampling ${seconds} s...`);
    await new Promise((r) => setTimeout(r, settleSeconds * 1_000));
    const before = await apiRequests(labCluster);
    const load0 = loadavg()[0] ?? 0;
    const sample = await sampleProcess(agent.pid ?? 0, seconds);
    loads.push(load0, loadavg()[0] ?? 0);
    const requests = requestsBetween(before, await apiRequests(labCluster));
    const split = await rssSplitMiB(agent.pid ?? 0);
    rows.push([
      label,
      String(tracked),
      sample.cpuPercent.toFixed(2),
      sample.cpuPeakPercent.toFixed(1),
      sample.rssMedianMiB.toFixed(0),
      sample.rssMaxMiB.toFixed(0),
      `${split.anonymous.toFixed(0)} / ${split.file.toFixed(0)}`,
      `${requests.total} (${requests.text})`,
    ]);
    console.log(`  cpu ${sample.cpuPercent.toFixed(2)} % (peak ${sample.cpuPeakPercent.toFixed(1)} %), rss ${sample.rssMedianMiB.toFixed(0)} MiB, api requests ${requests.text}`);
    return sample;
  };

  /** One reconcile pass: from `start` (a commit, or the agent's start) until the hub shows it synced. */
  const pass = async (label: string, objects: number, agent: ChildProcess, work: () => Promise<number | void>, fromStart = false): Promise<number> => {
    const pid = agent.pid ?? 0;
    const reset = fromStart || (await resetPeakRss(pid));
    const ticks0 = fromStart ? 0 : await cpuTicks(pid);
    const t0 = performance.now();
    // The work may say when the pass ended, when it could only see that later.
    const end = (await work()) ?? performance.now();
    const wall = (end - t0) / 1_000;
    const cpu = ((await cpuTicks(pid)) - ticks0) / hz;
    const peak = await peakRssMiB(pid);
    passes.push([label, String(objects), wall.toFixed(1), cpu.toFixed(2), reset ? peak.toFixed(0) : `${peak.toFixed(0)} (since start)`]);
    console.log(`  ${label}: ${wall.toFixed(1)} s, cpu ${cpu.toFixed(2)} s, peak rss ${peak.toFixed(0)} MiB`);
    return wall;
  };

  let agent = await hub.startAgent(cluster, "bench=at-rest", agentEnv);
  await synced((await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim(), 0);
  await measure("nothing to enforce", 0, agent);

  let many = "";
  const appliedIn = await pass(`apply ${objectCount} ConfigMaps (webhook to synced)`, objectCount + namespaces.length, agent, async () => {
    many = await commit(fleetFiles(objectCount), `${objectCount} ConfigMaps`);
    await synced(many, namespaces.length);
  });
  console.log(`${objectCount} ConfigMaps applied and reported synced in ${appliedIn.toFixed(1)} s`);
  const tracked = objectCount + namespaces.length;
  await measure(`${objectCount} ConfigMaps, the process that applied them`, tracked, agent);

  await stopChild(agent);
  await waitFor(async () => ((await hub?.api.get<{ connected?: boolean }>(`/clusters/${cluster}`))?.connected === false ? true : undefined), {
    what: "the hub sees the agent gone",
    timeoutMs: 60_000,
  });
  agent = await hub.startAgent(cluster, "bench=at-rest", agentEnv);
  // The hub shows the cluster synced from before at once; the restarted agent's pass is over when its applies stop too.
  await pass("a restarted agent: start to synced and its applies over", tracked, agent, async () => {
    await synced(many, namespaces.length);
    let last = -1;
    let changedAt = performance.now();
    await waitFor(
      async () => {
        const writes = (await apiRequests(labCluster)).get("APPLY") ?? 0;
        const quiet = writes === last;
        if (!quiet) changedAt = performance.now();
        last = writes;
        return quiet ? true : undefined;
      },
      { what: "the restarted agent's applies over", timeoutMs: 600_000, intervalMs: 5_000 },
    );
    return changedAt;
  }, true);
  await measure(`${objectCount} ConfigMaps, a restarted agent`, tracked, agent);

  const more = fleetFiles(objectCount);
  more[`${namespaces[0]}/one-more.yaml`] = `${configMapYaml("one-more", objectCount)}\n`;
  await pass("one more ConfigMap (webhook to synced)", tracked + 1, agent, async () => synced(await commit(more, "one more ConfigMap"), namespaces.length));
  await measure(`${objectCount} ConfigMaps, after a commit adding one`, tracked + 1, agent);

  const out = [
    table(["phase", "objects watched", "CPU, average (% of a core)", "CPU, highest 1 s (%)", "RSS, median (MiB)", "RSS, max (MiB)", "RSS at the end: anonymous / file-backed (MiB)", `API requests in ${seconds} s (no watches)`], rows),
    "",
    table(["reconcile pass", "objects", "wall (s)", "CPU (s)", "peak RSS during the pass (MiB)"], passes),
    "",
    `Machine: ${machineNote()}; load average during the samples: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} (the machine is shared). ` +
      `The real gitfleet-agent process (built package, default settings: reconcile every 30 s, drift watches on${values["node-options"] ? `, NODE_OPTIONS=${values["node-options"]}` : ""}) and a hub process, one lab cluster without workloads. ` +
      `${objectCount} ConfigMaps (about 400 bytes of data each) in ${namespaces.length} namespaces, one bundle per namespace, drift mode correct; from the webhook to the hub showing them synced took ${appliedIn.toFixed(1)} s. ` +
      `Each phase waits until the hub shows the cluster synced, lets the agent settle for ${settleSeconds} s, then reads utime+stime and VmRSS from /proc every second for ${seconds} s; at the end it splits RSS (smaps_rollup) into anonymous memory (the JavaScript heap, malloc, stacks) and file-backed pages (mostly the node binary's own code, the same for any Node process). ` +
      `API requests are the apiserver's apiserver_request_total over the same window, watches left out; the lab runs no controllers, so nearly all of them are the agent's. ` +
      `A reconcile pass runs from the webhook (or the agent's start) until the hub shows the cluster synced at the commit: its CPU is the agent's utime+stime over that time, its peak the agent's VmHWM, reset (clear_refs) when the pass starts.`,
  ].join("\n");
  console.log(`\n${out}`);
  await writeSection("agent-at-rest", "Agent at rest watching 1,000 objects (`npm run bench:agent-at-rest`)", out);
} finally {
  await hub?.stop();
  await lab.stop();
  await rm(seed, { recursive: true, force: true });
}
