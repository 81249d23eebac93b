// Fleet-wide drift queries at 10,000 clusters (20 bundles of 10 objects each, 1% of objects
// drifted), answered by a real hub over HTTP from its drift index, and the memory that index takes.
// The statuses go the real way: another replica's status store writes them to the status bucket
// of a real nats-server, and the hub indexes them from its watch. Needs --expose-gc (the npm
// script passes it). Usage: npm run bench:drift -- [--clusters 10000] [--runs 200]
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bucketNames, createDriftIndex, createHub, createStatusStore, parseApiToken, type Hub, type HubOptions } from "@gitfleet/hub";
import { Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { pino } from "pino";
import { ensureBinary } from "../src/lab/binaries.js";
import { startNats } from "../src/lab/nats.js";
import { waitFor } from "../src/lab/process.js";
import { benchmarkFleet, fleetCluster, fleetClusterRecord, fleetStatus, type DriftFleetShape } from "../src/hub/drift-fleet.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({ options: { clusters: { type: "string", default: "10000" }, runs: { type: "string", default: "200" } } });
const shape: DriftFleetShape = { ...benchmarkFleet, clusters: Number(values.clusters) };
const runs = Number(values.runs);
const gc = globalThis.gc;
if (!gc) throw new Error("run with node --expose-gc (npm run bench:drift does)");
const logger = pino({ level: "warn" });
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

/** Heap and array buffers (where the stored statuses' bytes live) after a full collection. */
const memory = (): number => {
  gc();
  gc();
  const usage = process.memoryUsage();
  if (process.env["BENCH_DEBUG"]) console.log(`heap ${kib(usage.heapUsed)} KiB, array buffers ${kib(usage.arrayBuffers)} KiB, external ${kib(usage.external)} KiB`);
  return usage.heapUsed + usage.arrayBuffers;
};

/** Runs `task` `count` times with at most `width` at once. */
async function pool(count: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await task(next++);
  }));
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const started = new Date();

// The index alone, fed directly: what it costs per cluster, apart from the stored statuses.
const indexMemory = (() => {
  const before = memory();
  const index = createDriftIndex({ staleAfterMs: 1_800_000 });
  for (let i = 0; i < shape.clusters; i++) {
    index.putCluster(fleetClusterRecord(shape, i, started));
    index.putStatus(fleetCluster(i).id, fleetStatus(shape, i, started));
  }
  const held = memory() - before;
  console.log(`drift index alone: ${index.stats().objects} drifted objects, ${kib(held / shape.clusters)} KiB per cluster`);
  return held;
})();

const dir = await mkdtemp(join(tmpdir(), "gitfleet-bench-drift-"));
const nats = await startNats({ binary: await ensureBinary("nats-server", (line) => console.log(line)), dir });
const adminToken = "bench-admin-token-0123456789-abcdefghij";
let hub: Hub | undefined;
try {
  const creds = await readFile(nats.adminCredsPath, "utf8");
  const admin = await connect({ servers: nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)) });
  const hubOptions: HubOptions = {
    logger,
    nats: { servers: nats.url, creds },
    account: { publicKey: nats.accountPublicKey },
    agentAccount: { publicKey: nats.agentAccountPublicKey, signingSeed: nats.agentSigningSeed },
    httpAddress: "127.0.0.1:0",
    grpcAddress: "127.0.0.1:0",
    apiTokens: [parseApiToken(adminToken, "admin", "bench")],
    // Stale after 30 minutes: only the clusters the fleet makes stale (1%) are.
    heartbeatIntervalSeconds: 600,
  };
  // A first start creates the hub's buckets; the cluster records go in while no hub runs, as a
  // restarted hub finds them.
  hub = createHub(hubOptions);
  await hub.start();
  await hub.stop();
  const kvm = new Kvm(admin);
  const clustersKv = await kvm.open(bucketNames.clusters);
  await pool(shape.clusters, 64, (i) => clustersKv.put(fleetCluster(i).id, JSON.stringify(fleetClusterRecord(shape, i, started))));
  hub = createHub(hubOptions);
  await hub.start();
  const base = `http://127.0.0.1:${hub.httpPort}/api/v1`;
  // The whole body, unparsed: what is timed is the hub's answer, not the client's JSON parsing.
  const fetchBody = async (path: string): Promise<ArrayBuffer> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.arrayBuffer();
  };
  const get = async (path: string): Promise<unknown> => JSON.parse(new TextDecoder().decode(await fetchBody(path)));
  const withoutStatus = memory();

  // Another replica writes every status; this hub sees them only through its watch.
  const statusKv = await kvm.open(bucketNames.status);
  const expected = (shape.clusters * shape.bundles * shape.objects) / shape.driftEvery;
  const t0 = performance.now();
  // In a function of its own, so nothing of the writer is reachable when memory is measured.
  await (async () => {
    const writer = createStatusStore({ kv: statusKv, logger });
    await pool(shape.clusters, 64, (i) => writer.put(fleetCluster(i).id, fleetStatus(shape, i, started)));
    await writer.stop();
  })();
  const written = performance.now() - t0;
  await waitFor(async () => ((await get("/drift?limit=1")) as { totals: { objectsDrifted: number } }).totals.objectsDrifted === expected, {
    what: `all ${expected} drifted objects in the hub's index`,
    timeoutMs: 600_000,
    intervalMs: 50,
  });
  const indexed = performance.now() - t0;
  const storedBytes = (await statusKv.status()).size;
  const hubMemory = memory() - withoutStatus;
  console.log(`statuses written in ${(written / 1000).toFixed(1)} s, all indexed after ${(indexed / 1000).toFixed(1)} s`);

  const items = (b: unknown): string => `${(b as { items: unknown[] }).items.length} items`;
  const groups = (b: unknown): string => `${(b as { groups: unknown[] }).groups.length} groups`;
  // The goal is for a selector query and a summary; the other rows show what larger answers cost.
  const queries: Array<{ path: string; goal: boolean; size: (body: unknown) => string }> = [
    { path: "/drift?clusterSelector=region%3Deu", goal: true, size: items },
    { path: "/drift/summary?groupBy=cluster&clusterSelector=region%3Deu", goal: true, size: groups },
    { path: "/drift?clusterSelector=region%3Deu,env%3Dprod&state=conflict", goal: false, size: items },
    { path: "/drift/summary?groupBy=manager", goal: false, size: groups },
    { path: "/drift?clusterSelector=region%3Deu&limit=5000", goal: false, size: items },
  ];
  const rows: string[][] = [];
  const loads: number[] = [];
  for (const query of queries) {
    loads.push(loadavg()[0] ?? 0);
    const answer = await get(query.path);
    for (let i = 0; i < 20; i++) await fetchBody(query.path);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fetchBody(query.path);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
    console.log(`${query.path}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    const goal = query.goal ? (p99 <= 50 ? "met" : "**missed**") : "-";
    rows.push([`\`GET /api/v1${query.path}\``, query.size(answer), String(runs), p50.toFixed(1), p99.toFixed(1), (times.at(-1) ?? 0).toFixed(1), goal]);
  }
  await admin.close();

  const fleet = `${shape.clusters.toLocaleString("en")} clusters × ${shape.bundles} bundles × ${shape.objects} objects, 1 in ${shape.driftEvery} objects drifted (${expected.toLocaleString("en")}), 1 in ${shape.staleEvery} clusters stale`;
  const out = [
    `Fleet: ${fleet}. Each query runs over HTTP against a real hub (20 warm-up calls, then ${runs}); the goal is p99 ≤ 50 ms.`,
    "",
    table(["query", "answer", "runs", "p50 (ms)", "p99 (ms)", "max (ms)", "goal p99 ≤ 50 ms"], rows),
    "",
    table(
      ["measure", "value"],
      [
        [`statuses written by another replica (${shape.clusters.toLocaleString("en")} KV puts, 64 at a time)`, `${(written / 1000).toFixed(1)} s`],
        ["… and all of them in this hub's index, through its watch", `${(indexed / 1000).toFixed(1)} s`],
        ["stored status per cluster (gzipped protobuf, average)", `${kib(storedBytes / shape.clusters)} KiB`],
        ["drift index alone, per cluster (heap after GC)", `${kib(indexMemory / shape.clusters)} KiB`],
        ["hub memory per cluster for statuses: compressed copies and drift index (heap and buffers after GC)", `${kib(hubMemory / shape.clusters)} KiB`],
      ],
    ),
    "",
    `Machine: ${machineNote()}; 1-minute load average while timing: median ${median(loads).toFixed(1)}, max ${Math.max(...loads).toFixed(1)} (the machine is shared). One process holds the hub, the writing status store and the load generator; nats-server runs beside it. The drift index keeps each cluster's name, labels, bundle states and drifted objects (objects in sync take no room); the status store keeps each status as its compressed bytes and decodes one only when read.`,
  ].join("\n");
  console.log(`\n${out}`);
  await writeSection("drift", `Fleet-wide drift queries at ${shape.clusters.toLocaleString("en")} clusters (\`npm run bench:drift\`)`, out);
} finally {
  await hub?.stop();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
