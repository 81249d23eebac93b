// Lab start time, warm (binaries cached) and cold (Go build cache and binary cache empty; module
// downloads cached), for 1 and 3 clusters, with and without workloads (kube-controller-manager,
// kube-scheduler and kwok beside each apiserver), and the resident memory of each process of a
// cluster. Usage:
//   npm run bench:lab -- [--runs 5] [--cold] [--settle 30]
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLab, type Lab } from "../src/lab/lab.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    cold: { type: "boolean" },
    // Seconds to leave the last lab of each kind running before sampling memory again: the
    // controller manager's informers fill up after the start.
    settle: { type: "string", default: "30" },
  },
});
const runs = Number(values.runs);
const settleMs = Number(values.settle) * 1000;

/** The kind of a lab process, from the name the lab gives it ("kube-scheduler cluster-1"). */
const kindOf = (name: string): string => name.split(" ")[0] ?? name;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** RSS of every cluster process, by kind. */
async function sample(lab: Lab, into: Map<string, number[]>): Promise<void> {
  for (const p of lab.clusters.flatMap((c) => c.processes)) {
    const list = into.get(kindOf(p.name)) ?? [];
    list.push(await rssMiB(p.pid));
    into.set(kindOf(p.name), list);
  }
}

interface Config {
  clusters: number;
  workloads: boolean;
}

async function timeStart(config: Config, memory?: { ready: Map<string, number[]>; settled?: Map<string, number[]> }): Promise<number> {
  const t0 = performance.now();
  const lab = await startLab({ ...config, progress: (l) => console.log(`    ${l}`) });
  const ms = performance.now() - t0;
  try {
    if (memory) await sample(lab, memory.ready);
    if (memory?.settled) {
      // Measuring steady-state memory, not waiting for a condition.
      await new Promise((r) => setTimeout(r, settleMs));
      await sample(lab, memory.settled);
    }
  } finally {
    await lab.stop();
  }
  return ms;
}

const label = (c: Config): string => (c.workloads ? "with workloads" : "without workloads");
const rows: string[][] = [];
const loads: number[] = [];

if (values.cold) {
  for (const config of [
    { clusters: 1, workloads: false },
    { clusters: 1, workloads: true },
  ]) {
    const scratch = await mkdtemp(join(tmpdir(), "gitfleet-bench-cold-"));
    process.env["GOCACHE"] = join(scratch, "gocache");
    process.env["GITFLEET_CACHE_DIR"] = join(scratch, "bin");
    console.log(`cold start, ${config.clusters} cluster(s), ${label(config)}`);
    const ms = await timeStart(config);
    rows.push(["cold (build + start)", label(config), String(config.clusters), "1", (ms / 1000).toFixed(1)]);
    await rm(scratch, { recursive: true, force: true });
  }
  delete process.env["GOCACHE"];
  delete process.env["GITFLEET_CACHE_DIR"];
}

const ready = new Map<string, number[]>();
const settled = new Map<string, number[]>();
for (const workloads of [false, true]) {
  for (const clusters of [1, 3]) {
    const config = { clusters, workloads };
    const times: number[] = [];
    await timeStart(config); // builds anything missing; not counted
    for (let i = 0; i < runs; i++) {
      console.log(`warm start ${i + 1}/${runs}, ${clusters} cluster(s), ${label(config)}`);
      loads.push(loadavg()[0] ?? 0);
      const last = i === runs - 1 && clusters === 1;
      times.push(await timeStart(config, { ready, ...(last ? { settled } : {}) }));
    }
    rows.push(["warm", label(config), String(clusters), String(runs), (median(times) / 1000).toFixed(1)]);
  }
}

const kinds = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];
const memoryRows = kinds
  .filter((k) => ready.has(k))
  .map((k) => [
    k === "kube-apiserver" ? "kube-apiserver + embedded etcd" : k,
    String(ready.get(k)?.length ?? 0),
    median(ready.get(k) ?? []).toFixed(0),
    settled.has(k) ? median(settled.get(k) ?? []).toFixed(0) : "-",
  ]);
const added = (m: Map<string, number[]>): string =>
  kinds
    .slice(1)
    .reduce((sum, k) => sum + (m.has(k) ? median(m.get(k) ?? []) : 0), 0)
    .toFixed(0);
memoryRows.push(["workloads per cluster (the three above)", "", added(ready), settled.size ? added(settled) : "-"]);

const out = [
  table(["start", "lab", "clusters", "runs", "median time to ready (s)"], rows),
  "",
  table(
    [
      "process (one per cluster)",
      "samples",
      "median RSS right after ready (MiB)",
      `RSS ${settleMs / 1000} s later, last 1-cluster lab (MiB)`,
    ],
    memoryRows,
  ),
  "",
  `Machine: ${machineNote()}; load average while timing: median ${median(loads).toFixed(1)}, ` +
    `max ${Math.max(...loads).toFixed(1)} (the machine is shared). ` +
    "A lab with workloads is ready when each cluster's fake nodes are Ready, the scheduler is healthy and the " +
    "`default` ServiceAccount exists." +
    (values.cold ? " Cold runs start with an empty Go build cache and binary cache (Go module downloads cached)." : ""),
].join("\n");
console.log(`\n${out}`);
await writeSection("lab-start", "Lab start (`npm run bench:lab`)", out);
