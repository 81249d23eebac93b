// Time from a push (announced by webhook) until every demo cluster is synced,
// and resident memory of the hub and the agents, each run as its own process
// from the built packages (npm run build), the way they run in production.
// Usage: npm run bench:delivery -- [--runs 7]
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { startLab } from "../src/lab/lab.js";
import { waitFor } from "../src/lab/process.js";
import { buildHubAndAgent, startHubProcess, type HubProcess } from "./fleet-processes.js";
import { rssMiB } from "./process-stats.js";
import { machineNote, median, table, writeSection } from "./report.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Number(values.runs);
const clusters = [
  { name: "staging-us", labels: "env=staging,region=us" },
  { name: "prod-us", labels: "env=prod,region=us" },
  { name: "prod-eu", labels: "env=prod,region=eu" },
];

console.log("building hub and agent (npm run build)...");
await buildHubAndAgent();

const seed = await mkdtemp(join(tmpdir(), "gitfleet-bench-seed-"));
await cp(fileURLToPath(new URL("../fixtures/plain-fleet", import.meta.url)), seed, { recursive: true });
const lab = await startLab({ clusterNames: clusters.map((c) => c.name), seeds: { fleet: seed } });
let fleet: HubProcess | undefined;
try {
  const info = lab.info();
  fleet = await startHubProcess(lab);
  const { api } = fleet;
  const agents = [];
  for (const c of clusters) agents.push(await fleet.startAgent(c.name, c.labels));
  const synced = async (sha: string): Promise<boolean> => {
    for (const c of clusters) {
      const s = await api.get<{ observedRevision?: string; bundles?: { sync: string }[] }>(`/clusters/${c.name}`);
      if (s.observedRevision !== sha || !(s.bundles ?? []).length || s.bundles?.some((b) => b.sync !== "synced")) return false;
    }
    return true;
  };
  const repo = join(lab.dir, "bench-repo");
  await run("git", ["clone", "--quiet", info.git.url, repo]);
  const head = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
  await waitFor(() => synced(head), { what: "all clusters synced", timeoutMs: 120_000, intervalMs: 100 });

  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await writeFile(join(repo, "platform", "bench.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n  namespace: observability\ndata:\n  run: "${i}"\n`);
    await run("git", ["-C", repo, "add", "-A"]);
    await run("git", ["-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@gitfleet.invalid", "commit", "-q", "-m", `bench ${i}`]);
    await run("git", ["-C", repo, "push", "--quiet", "origin", "HEAD:main"]);
    const sha = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
    const t0 = performance.now();
    await fleet.webhook();
    await waitFor(() => synced(sha), { what: `run ${i} synced`, timeoutMs: 60_000, intervalMs: 20 });
    times.push(performance.now() - t0);
    console.log(`run ${i + 1}/${runs}: ${(times.at(-1) ?? 0).toFixed(0)} ms`);
  }
  console.log("letting the fleet rest for 20 s before reading memory...");
  await new Promise((r) => setTimeout(r, 20_000));
  const agentRss = await Promise.all(agents.map((a) => rssMiB(a.pid ?? 0)));
  const hubRss = await rssMiB(fleet.child.pid ?? 0);

  const out = [
    table(
      ["measure", "runs", "median", "min", "max"],
      [
        ["webhook → all 3 clusters synced (ms)", String(runs), median(times).toFixed(0), Math.min(...times).toFixed(0), Math.max(...times).toFixed(0)],
        ["agent RSS at rest (MiB)", String(agentRss.length), median(agentRss).toFixed(0), Math.min(...agentRss).toFixed(0), Math.max(...agentRss).toFixed(0)],
        ["hub RSS with 3 clusters (MiB)", "1", hubRss.toFixed(0), "", ""],
      ],
    ),
    "",
    `Machine: ${machineNote()}. Hub and agents run as separate processes from the built packages; each run pushes a commit that changes the platform bundle (all 3 clusters) and calls the webhook; "synced" is read from the hub API (observed revision and every bundle synced), polled every 20 ms.`,
  ].join("\n");
  console.log(`\n${out}`);
  await writeSection("delivery", "Push to synced, and memory (`npm run bench:delivery`)", out);
} finally {
  await fleet?.stop();
  await lab.stop();
  await rm(seed, { recursive: true, force: true });
}
