// Lab start time, warm (binaries cached) and cold (Go build cache and binary
// cache empty; module downloads cached), for 1 and 3 clusters, and the
// resident memory of one kube-apiserver. Usage:
//   npm run bench:lab -- [--runs 5] [--cold]
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLab } from "../src/lab/lab.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, cold: { type: "boolean" } } });
const runs = Number(values.runs);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function timeStart(clusters: number): Promise<{ ms: number; rss: number[] }> {
  const t0 = performance.now();
  const lab = await startLab({ clusters, progress: (l) => console.log(`    ${l}`) });
  const ms = performance.now() - t0;
  const rss = await Promise.all(lab.clusters.map((c) => rssMiB(c.process.pid)));
  await lab.stop();
  return { ms, rss };
}

const rows: string[][] = [];
const rss: number[] = [];
if (values.cold) {
  for (const clusters of [1, 3]) {
    const scratch = await mkdtemp(join(tmpdir(), "gitfleet-bench-cold-"));
    process.env["GOCACHE"] = join(scratch, "gocache");
    process.env["GITFLEET_CACHE_DIR"] = join(scratch, "bin");
    console.log(`cold start, ${clusters} cluster(s)`);
    const r = await timeStart(clusters);
    rows.push([`cold (build + start)`, String(clusters), "1", (r.ms / 1000).toFixed(1)]);
    await rm(scratch, { recursive: true, force: true });
  }
  delete process.env["GOCACHE"];
  delete process.env["GITFLEET_CACHE_DIR"];
}
for (const clusters of [1, 3]) {
  const times: number[] = [];
  await timeStart(clusters); // builds anything missing; not counted
  for (let i = 0; i < runs; i++) {
    console.log(`warm start ${i + 1}/${runs}, ${clusters} cluster(s)`);
    const r = await timeStart(clusters);
    times.push(r.ms);
    rss.push(...r.rss);
  }
  rows.push([`warm`, String(clusters), String(runs), (median(times) / 1000).toFixed(1)]);
}

const out = [
  table(["start", "clusters", "runs", "median time to ready (s)"], rows),
  "",
  table(["process", "samples", "median RSS right after ready (MiB)"], [["kube-apiserver + embedded etcd", String(rss.length), median(rss).toFixed(0)]]),
  "",
  `Machine: ${machineNote()}. Cold runs start with an empty Go build cache and binary cache (Go module downloads cached).`,
].join("\n");
console.log(`\n${out}`);
await writeSection("lab-start", "Lab start (`npm run bench:lab`)", out);
