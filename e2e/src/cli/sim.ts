// `npm run sim -- --clusters N`: runs N simulated clusters (the real agent on an in-memory object
// store, real gRPC and NATS) against a running hub, or against a lab and hub of its own (--lab).
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startFleet, type Fleet } from "../fleet/fleet.js";
import { startSimFleet, type SimFleet, type SimFleetOptions } from "../sim/index.js";

const usage = `usage: npm run sim -- --clusters N [options]

  --clusters N          simulated clusters to run
  --processes P         worker processes (default min(8, ceil(N / 500)))
  --channels C          gRPC channels: "per-cluster" (default, as real agents) or a number of
                        channels per process that the clusters' streams share
  --prefix NAME         cluster names are NAME-1..NAME-N (default "sim")
  --labels k=v,...      labels every cluster asks for (each also gets sim-shard=<n mod 100>)
  --jitter SHARE        heartbeat jitter, 0..1 (default 0.1)
  --duration SECONDS    stop after this long (default: run until Ctrl-C)

  against a running hub:
  --hub HOST:PORT       the hub's agent gRPC address
  --token TOKEN         a registration token with N uses left
  --hub-ca FILE         CA of the hub's gRPC TLS (e.g. the demo's ca.pem); or
  --insecure            TLS without verifying the hub (labs only); neither: plaintext

  or on a lab of its own:
  --lab                 start NATS, the Git server and a hub (no kube-apiservers) with a
                        one-bundle fleet repository, and a token for the clusters`;

const { values } = parseArgs({
  options: {
    clusters: { type: "string" },
    processes: { type: "string" },
    channels: { type: "string", default: "per-cluster" },
    prefix: { type: "string", default: "sim" },
    labels: { type: "string", default: "" },
    jitter: { type: "string", default: "0.1" },
    duration: { type: "string" },
    hub: { type: "string" },
    token: { type: "string" },
    "hub-ca": { type: "string" },
    insecure: { type: "boolean", default: false },
    lab: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

const say = (line: string): void => console.log(`[sim] ${line}`);

function wholeNumber(text: string | undefined, what: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be a whole number of at least ${min}, got "${text ?? ""}"`);
  return n;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const [key, value] = pair.split("=");
    if (!key || value === undefined) throw new Error(`--labels takes k=v pairs separated by commas, got "${pair}"`);
    labels[key] = value;
  }
  return labels;
}

/** The revision most clusters report now, and how many report it. */
function converged(sim: SimFleet): { revision: string; count: number } {
  const counts = new Map<string, number>();
  for (const revision of sim.revisions().values()) counts.set(revision, (counts.get(revision) ?? 0) + 1);
  let best = { revision: "", count: 0 };
  for (const [revision, count] of counts) if (count > best.count) best = { revision, count };
  return best;
}

async function main(): Promise<number> {
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const clusters = wholeNumber(values.clusters, "--clusters", 1);
  const base: Omit<SimFleetOptions, "grpcAddress" | "registrationToken"> = {
    clusters,
    ...(values.processes ? { processes: wholeNumber(values.processes, "--processes", 1) } : {}),
    channels: values.channels === "per-cluster" ? "per-cluster" : wholeNumber(values.channels, "--channels", 1),
    namePrefix: values.prefix,
    labels: parseLabels(values.labels),
    heartbeatJitter: Number(values.jitter),
  };
  let fleet: Fleet | undefined;
  let seed: string | undefined;
  let options: SimFleetOptions;
  if (values.lab) {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-sim-seed-"));
    await cp(fileURLToPath(new URL("../../fixtures/sim-fleet", import.meta.url)), seed, { recursive: true });
    say("starting NATS, the Git server and a hub (no kube-apiservers)");
    fleet = await startFleet({ clusters: [], seed, logLevel: "warn", progress: (line) => say(line) });
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "24h", maxUses: clusters, description: "simulator" });
    say(`hub up: API ${fleet.hubUrl} (admin token ${fleet.adminToken}), agent gRPC ${fleet.grpcAddress}`);
    options = { ...base, grpcAddress: fleet.grpcAddress, caPem: fleet.tls.certPem, registrationToken: token.secret };
  } else {
    if (!values.hub || !values.token) throw new Error("give --hub and --token of a running hub, or --lab to start one");
    options = {
      ...base,
      grpcAddress: values.hub,
      registrationToken: values.token,
      ...(values["hub-ca"] ? { caPem: await readFile(values["hub-ca"]) } : {}),
      insecureSkipVerify: values.insecure,
    };
  }

  const started = Date.now();
  const sim = await startSimFleet(options);
  say(`${clusters} clusters in ${(await sim.stats()).length} processes, channels ${String(options.channels)}`);
  const done = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => done.resolve());
  if (values.duration) setTimeout(() => done.resolve(), wholeNumber(values.duration, "--duration", 1) * 1000);
  const timer = setInterval(() => {
    void sim.stats().then((stats) => {
      const rss = stats.reduce((n, s) => n + s.rssBytes, 0) / 2 ** 20;
      const at = converged(sim);
      const errors = sim.errors();
      say(
        `${((Date.now() - started) / 1000).toFixed(0)}s: registered ${sim.registered()}/${clusters}, connected ${sim.connected()}, ` +
          `converged ${at.count} at ${at.revision.slice(0, 12) || "-"}, workers ${rss.toFixed(0)} MiB RSS` +
          (errors.size > 0 ? `, ${errors.size} failed (${[...errors.values()][0]})` : ""),
      );
    });
  }, 5_000);
  await done.promise;
  clearInterval(timer);
  say("stopping");
  await sim.stop();
  await fleet?.stop();
  if (seed) await rm(seed, { recursive: true, force: true });
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`sim: ${(err as Error).message}\n\n${usage}`);
  process.exitCode = 1;
}
