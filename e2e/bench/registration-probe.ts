// Probe: registers clusters through the real gRPC Register against a hub process and prints
// the registration rate per step and the hub's resident memory.
// Usage: node --conditions=@gitfleet/source --import tsx e2e/bench/registration-probe.ts --clusters 3000 --step 500
//   [--concurrency 16] [--prof DIR (a CPU profile of the hub)] [--snapshot DIR (a heap snapshot of the hub after the run)]
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AgentService, createClient } from "@gitfleet/proto";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { credentials } from "@grpc/grpc-js";
import { createUser } from "@nats-io/nkeys";
import { startLab } from "../src/lab/lab.js";
import { startHubProcess } from "./fleet-processes.js";
import { rssMiB, cpuTicks } from "./process-stats.js";

const { values } = parseArgs({ options: { clusters: { type: "string", default: "2000" }, step: { type: "string", default: "500" }, concurrency: { type: "string", default: "32" }, prof: { type: "string" }, snapshot: { type: "string" } } });
const total = Number(values.clusters);
const step = Number(values.step);
const concurrency = Number(values.concurrency);
const seed = await mkdtemp(join(tmpdir(), "gitfleet-probe-seed-"));
await cp(fileURLToPath(new URL("../fixtures/plain-fleet", import.meta.url)), seed, { recursive: true });
const lab = await startLab({ clusters: 0, seeds: { fleet: seed } });
// --cpu-prof may not go in NODE_OPTIONS: the hub process takes it from GITFLEET_BENCH_HUB_PROF.
if (values.prof) process.env["GITFLEET_BENCH_HUB_PROF"] = values.prof;
const env: NodeJS.ProcessEnv = { NODE_OPTIONS: values.snapshot ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${values.snapshot}` : "" };
const hub = await startHubProcess(lab, { env });
try {
  const client = createClient(AgentService, hub.grpcAddress, credentials.createSsl(Buffer.from(hub.caPem)));
  const token = await hub.api.post<{ secret: string }>("/registration-tokens", { ttl: "2h", maxUses: total });
  const pid = hub.child.pid ?? 0;
  const rss0 = await rssMiB(pid);
  console.log(`hub RSS before: ${rss0.toFixed(0)} MiB`);
  const regions = ["us", "eu", "ap"];
  let next = 0;
  let retries = 0;
  for (let done = 0; done < total; done += step) {
    const end = Math.min(total, done + step);
    // The agents' keys are made before the clock starts: nkeys derives them in JavaScript, which
    // would make this process, not the hub, the bound.
    const keys = new Map(Array.from({ length: end - done }, (_, k) => [done + k, { natsUserPublicKey: createUser().getPublicKey(), signingPublicKey: createUser().getPublicKey() }]));
    const t0 = performance.now();
    const c0 = await cpuTicks(pid);
    const worker = async (): Promise<void> => {
      while (next < end) {
        const i = next++;
        for (;;) {
          try {
            await register(i);
            break;
          } catch (err) {
            if ((err as { code?: number }).code !== 14) throw err;
            retries++;
          }
        }
      }
    };
    const register = (i: number) =>
        client.register({
          token: token.secret,
          clusterName: `sim-${i}`,
          labels: {},
          agentVersion: PRODUCT_VERSION,
          kubernetesVersion: "v1.36.0",
          keys: keys.get(i),
        });
    await Promise.all(Array.from({ length: concurrency }, worker));
    const s = (performance.now() - t0) / 1000;
    const cpu = ((await cpuTicks(pid)) - c0) / 100 / s;
    console.log(`${done}..${end}: ${((end - done) / s).toFixed(1)} reg/s, hub CPU ${(cpu * 100).toFixed(0)}%, RSS ${(await rssMiB(pid)).toFixed(0)} MiB, ${retries} refused as contended so far`);
  }
  await new Promise((r) => setTimeout(r, 10_000));
  const rss = await rssMiB(pid);
  console.log(`hub RSS after 10 s rest: ${rss.toFixed(0)} MiB, ${(((rss - rss0) * 1024) / total).toFixed(1)} KiB per cluster; load ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  void regions;
  if (values.snapshot) {
    process.kill(pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 30_000));
  }
  client.close();
} finally {
  await hub.stop();
  await lab.stop();
}
