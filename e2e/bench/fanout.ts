// `npm run bench:fanout -- --clusters 1000,10000 --runs 3`: the hub's fan-out of one commit that
// changes every cluster's desired state, against the raw JetStream baseline of the same keys and
// bytes, on a real nats-server. The hub's publisher runs in this process with the real signer;
// Git and resolution are left out, so the figure is the pointer and chunk writes alone (what the
// fleet issue's "fan-out ≤ 2× raw JetStream" goal compares).
//
// For each size and each way of publishing: a fresh bucket, the fleet published at commit A (not
// timed), then commit B (web changes for every cluster) timed from the first write to the last
// pointer, and to the end of clean-up (superseded chunks removed). Medians of --runs.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BundlePayloadSchema, create, encodeBundlePayload, generateDesiredSigningKey } from "@gitfleet/proto";
import { activeKeySigner, createPublisher, openDesiredBucket, type ClusterResolution, type DesiredBucket, type Publisher } from "@gitfleet/hub/delivery";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { ensureBinary } from "../src/lab/binaries.js";
import { startNats } from "../src/lab/nats.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "1000,10000" },
    runs: { type: "string", default: "3" },
    "no-write": { type: "boolean", default: false },
  },
});
const sizes = values.clusters.split(",").map((n) => Number(n.trim()));
const runs = Math.max(1, Number(values.runs));
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--clusters takes whole numbers, e.g. 1000,10000; got ${values.clusters}`);

const logger = pino({ level: "silent" });
const signingKey = generateDesiredSigningKey();
const signer = activeKeySigner(() => signingKey);
const source = { repository: "https://git.example/fleet.git", branch: "main" };

/** Two bundles of about the demo's size: base (unchanged) and web (its colour changes). */
async function bundle(name: string, color: string) {
  const objects = Array.from({ length: 3 }, (_, i) =>
    new TextEncoder().encode(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${name}-${i}`, namespace: "default" }, data: { color, note: "x".repeat(120) } })),
  );
  const payload = create(BundlePayloadSchema, { name, objects });
  const encoded = await encodeBundlePayload(payload);
  return { name, target: "default", overlay: `apps/${name}`, payload, digest: encoded.digest, size: encoded.size };
}

async function fleetAt(ids: readonly string[], color: string): Promise<ClusterResolution[]> {
  const bundles = [await bundle("base", "fixed"), await bundle("web", color)];
  const assignments = bundles.map((b) => ({ bundle: b.name, target: b.target, overlay: b.overlay }));
  return ids.map((clusterId) => ({ clusterId, bundles, errors: [], assignments }));
}

/** Runs `task` over `items`, `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

interface Way {
  label: string;
  /** Publishes the fleet; calls `pointerWritten` as each cluster's pointer is in. */
  publish(pub: Publisher, commit: string, fleet: readonly ClusterResolution[], pointerWritten: () => void): Promise<void>;
}

const ways: Way[] = [
  {
    // What delivery did before publishAll: each cluster's clean-up inside its publish, 8 in flight.
    label: "publish() per cluster, clean-up inline, 8 in flight",
    publish: (pub, commit, fleet, written) =>
      forEachLimit(fleet, 8, async (cluster) => {
        await pub.publish(commit, cluster);
        written();
      }),
  },
  { label: "publishAll, 8 in flight", publish: (pub, commit, fleet, written) => pub.publishAll(commit, fleet, { concurrency: 8, onResult: written }) },
  { label: "publishAll, 32 in flight (default)", publish: (pub, commit, fleet, written) => pub.publishAll(commit, fleet, { onResult: written }) },
  { label: "publishAll, 64 in flight", publish: (pub, commit, fleet, written) => pub.publishAll(commit, fleet, { concurrency: 64, onResult: written }) },
];

interface Sample {
  lastPointerMs: number;
  doneMs: number;
}

const dir = await mkdtemp(join(tmpdir(), "gitfleet-fanout-"));
const nats = await startNats({ binary: await ensureBinary("nats-server", (line) => console.log(line)), dir });
// The client settings of the hub's own connection (hub/src/nats-connection.ts), for both sides.
const nc: NatsConnection = await connect({ servers: nats.url, authenticator: credsAuthenticator(await readFile(nats.adminCredsPath)), noAsyncTraces: true });
let bucketCount = 0;

async function freshBucket(): Promise<DesiredBucket> {
  return openDesiredBucket(nc, { bucket: `fanout_${++bucketCount}` });
}

async function measureWay(way: Way, ids: readonly string[]): Promise<Sample & { keys: Array<{ key: string; value: Uint8Array }> }> {
  const bucket = await freshBucket();
  const pub = createPublisher({ bucket, source, logger, signer });
  await pub.publishAll("a".repeat(40), await fleetAt(ids, "blue"));
  const fleet = await fleetAt(ids, "green");
  let pointers = 0;
  let lastPointerMs = 0;
  const t0 = performance.now();
  await way.publish(pub, "b".repeat(40), fleet, () => {
    if (++pointers === ids.length) lastPointerMs = performance.now() - t0;
  });
  const doneMs = performance.now() - t0;
  if (pointers !== ids.length) throw new Error(`${way.label}: ${pointers} of ${ids.length} pointers written`);
  // What commit B wrote, for the baseline: the new web chunks and every pointer.
  const keys: Array<{ key: string; value: Uint8Array }> = [];
  for (const id of ids) {
    for (const key of [`${id}.desired`, `${id}.bundles.web.${fleet[0]?.bundles[1]?.digest ?? ""}.0`]) {
      const e = await bucket.kv.get(key);
      if (e && e.operation === "PUT") keys.push({ key, value: e.value.slice() });
    }
  }
  await bucket.kv.destroy();
  return { lastPointerMs, doneMs, keys };
}

/** The same keys and bytes put into a fresh bucket of the same kind, chunks first, 32 at a time. */
async function baseline(keys: ReadonlyArray<{ key: string; value: Uint8Array }>): Promise<number> {
  const bucket = await freshBucket();
  const ordered = [...keys.filter((e) => !e.key.endsWith(".desired")), ...keys.filter((e) => e.key.endsWith(".desired"))];
  const t0 = performance.now();
  await forEachLimit(ordered, 32, async (e) => {
    await bucket.kv.put(e.key, e.value);
  });
  const ms = performance.now() - t0;
  await bucket.kv.destroy();
  return ms;
}

const s = (ms: number): string => (ms / 1000).toFixed(2);
const results: Array<{ n: number; rows: Array<{ label: string; lastPointerMs: number; doneMs: number }>; baselineMs: number; keys: number; bytes: number; load: string }> = [];
const started = performance.now();
try {
  for (const n of sizes) {
    const ids = Array.from({ length: n }, (_, i) => `c${String(i).padStart(6, "0")}`);
    const loadBefore = loadavg()[0] ?? 0;
    const rows: Array<{ label: string; lastPointerMs: number; doneMs: number }> = [];
    let keys: Array<{ key: string; value: Uint8Array }> = [];
    const baselines: number[] = [];
    for (const way of ways) {
      const samples: Sample[] = [];
      for (let r = 0; r < runs; r++) {
        const sample = await measureWay(way, ids);
        samples.push(sample);
        keys = sample.keys;
        console.log(`[fanout] ${n} clusters, ${way.label}, run ${r + 1}: last pointer ${s(sample.lastPointerMs)} s, done ${s(sample.doneMs)} s`);
      }
      rows.push({ label: way.label, lastPointerMs: median(samples.map((x) => x.lastPointerMs)), doneMs: median(samples.map((x) => x.doneMs)) });
    }
    for (let r = 0; r < runs; r++) {
      baselines.push(await baseline(keys));
      console.log(`[fanout] ${n} clusters, raw baseline run ${r + 1}: ${s(baselines.at(-1) ?? 0)} s (${keys.length} keys)`);
    }
    const load = `${loadBefore.toFixed(1)}–${(loadavg()[0] ?? 0).toFixed(1)}`;
    results.push({ n, rows, baselineMs: median(baselines), keys: keys.length, bytes: keys.reduce((sum, e) => sum + e.value.length, 0), load });
  }
} finally {
  await nc.close();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}

const header = ["clusters", "way of publishing", "first write → last pointer (s)", "→ clean-up done (s)", "last pointer ÷ raw baseline"];
const body: string[][] = [];
for (const r of results) {
  for (const row of r.rows) body.push([String(r.n), row.label, s(row.lastPointerMs), s(row.doneMs), `${(row.lastPointerMs / r.baselineMs).toFixed(1)}×`]);
  body.push([String(r.n), `raw JetStream: the same ${r.keys} keys (${(r.bytes / 2 ** 20).toFixed(1)} MiB), kv.put 32 at a time`, s(r.baselineMs), "", "1.0×"]);
}
const out = [
  table(header, body),
  "",
  `Machine: ${machineNote()}; load average ${results.map((r) => `${r.load} at ${r.n}`).join(", ")} (the machine is shared). Medians of ${runs} runs. One nats-server (file storage), the hub's publisher in the benchmark's process with the real Ed25519 pointer signer; each cluster has two bundles (3 ConfigMaps each) and commit B changes one of them, so each cluster gets one new chunk and one new pointer and loses one superseded chunk. Git fetch and resolution are not included (\`npm run bench:fleet\` measures the whole loop). Total ${((performance.now() - started) / 60_000).toFixed(1)} min.`,
].join("\n");
console.log(`\n${out}`);
if (!values["no-write"]) await writeSection("fanout", "Fan-out against raw JetStream (`npm run bench:fanout`)", out);
