// High availability figures (npm run bench:ha): 3 hub processes on a 3-node NATS lab.
// - Failover: the delivery leader killed with SIGKILL, a commit pushed at once; time until a
//   surviving replica serves the new commit's resolution, and until every agent runs it.
// - Reconnect: a hub replica killed; time until every simulated cluster's stream is up again
//   on the others (the agents reach the replicas through one address).
// - Convergence over 300 ms latency + 5% dropped connections on the agents' links to the hubs
//   and NATS, against the same fleet without faults.
// Options: --failovers 9 --reconnects 5 --simulated 30 --commits 5 --only failover,reconnect,links
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { waitFor } from "../src/lab/process.js";
import { startSimFleet } from "../src/sim/index.js";
import { startStoryFleet, runSlowLinks, type StoryFleet } from "../src/chaos/stories.js";
import type { HubReplica } from "../src/chaos/harness.js";
import { machineNote, median, table, writeSection } from "./report.js";

const { values } = parseArgs({
  options: {
    failovers: { type: "string", default: "9" },
    reconnects: { type: "string", default: "5" },
    simulated: { type: "string", default: "30" },
    commits: { type: "string", default: "5" },
    only: { type: "string", default: "failover,reconnect,links" },
    "no-write": { type: "boolean" },
  },
});
const only = new Set((values.only ?? "").split(","));
const started = Date.now();
const say = (line: string): void => console.log(`[bench:ha ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`);
const loads: number[] = [];
const sampleLoad = setInterval(() => loads.push(loadavg()[0] ?? 0), 5_000);
const s = (ms: number): string => (ms / 1000).toFixed(1);
const rows: string[][] = [];
const linkRows: string[][] = [];

async function leaderOf(story: StoryFleet): Promise<HubReplica> {
  return await waitFor(
    async () => {
      for (const h of story.fleet.running()) if ((await h.readyz())?.body["role"] === "leader") return h;
      return undefined;
    },
    { what: "a delivery leader", timeoutMs: 120_000, intervalMs: 100 },
  );
}

const leaseTtl = "6s";
if (only.has("failover") || only.has("reconnect")) {
  const story = await startStoryFleet(["edge-1", "edge-2"], { hubs: 3, heartbeat: "5s", leaseTtl, progress: say });
  const { fleet } = story;
  try {
    if (only.has("failover")) {
      const published: number[] = [];
      const applied: number[] = [];
      for (let i = 0; i < Number(values.failovers); i++) {
        const leader = await leaderOf(story);
        const killedAt = Date.now();
        await leader.kill();
        const sha = await story.bump();
        // Published: a surviving replica's API serves the new commit's resolution.
        await waitFor(
          async () => {
            for (const h of fleet.running()) {
              const b = await h.api.get<{ commit: string | null }>("/bundles").catch(() => undefined);
              if (b?.commit === sha) return true;
            }
            await fleet.webhook();
            return undefined;
          },
          { what: `commit ${sha.slice(0, 12)} published after the leader died`, timeoutMs: 180_000, intervalMs: 100 },
        );
        published.push(Date.now() - killedAt);
        await waitFor(
          async () => {
            for (const c of story.ledger.agentClusters) if ((await fleet.api.get<{ observedRevision?: string }>(`/clusters/${c}`)).observedRevision !== sha) return undefined;
            return true;
          },
          { what: `every cluster at ${sha.slice(0, 12)}`, timeoutMs: 180_000, intervalMs: 100 },
        );
        applied.push(Date.now() - killedAt);
        say(`failover ${i + 1}: ${leader.name} killed; published after ${s(published.at(-1) ?? 0)} s, applied after ${s(applied.at(-1) ?? 0)} s`);
        await leader.start();
      }
      rows.push([
        `Failover (lease ${leaseTtl}): leader killed → next commit published`,
        `${published.length}`,
        `${s(median(published))} s`,
        `${s(Math.min(...published))}–${s(Math.max(...published))} s`,
      ]);
      rows.push(["Failover: leader killed → every agent runs the next commit", `${applied.length}`, `${s(median(applied))} s`, `${s(Math.min(...applied))}–${s(Math.max(...applied))} s`]);
    }
    if (only.has("reconnect")) {
      const n = Number(values.simulated);
      if (n > 64) throw new Error("at most 64 simulated clusters (one token's allowed sim-shard values)");
      const token = await fleet.api.post<{ secret: string }>("/registration-tokens", {
        ttl: "1h",
        maxUses: n,
        // The simulator labels each cluster with its shard.
        allowedLabels: { "sim-shard": Array.from({ length: n }, (_, i) => String(i)) },
      });
      const sim = await startSimFleet({ grpcAddress: fleet.agentAddress, caPem: fleet.caPem, registrationToken: token.secret, clusters: n, processes: 1, namePrefix: "sim", workerStderr: "ignore" });
      try {
        await sim.waitFor((f) => f.connected() === n, 300_000, "every simulated cluster connected");
        const times: number[] = [];
        for (let i = 0; i < Number(values.reconnects); i++) {
          const victim = fleet.running()[i % fleet.running().length];
          if (!victim) break;
          const killedAt = Date.now();
          await victim.kill();
          // Every stream up again: the simulator's view and the hubs' view (clusters connected, not stale).
          await sim.waitFor((f) => f.connected() < n, 30_000, "the killed replica's streams to drop").catch(() => undefined);
          await sim.waitFor((f) => f.connected() === n, 300_000, "every simulated cluster reconnected");
          const dropped = Date.now() - killedAt;
          times.push(dropped);
          say(`reconnect ${i + 1}: ${victim.name} killed; all ${n} streams up again after ${s(dropped)} s`);
          await victim.start();
          // Spread the streams over every replica again before the next kill.
          await sim.disconnectWave(1, 500);
          await sim.waitFor((f) => f.connected() === n, 300_000, "every simulated cluster connected");
        }
        rows.push([`Reconnect: hub replica killed → all ${n} agents' streams up on the others`, `${times.length}`, `${s(median(times))} s`, `${s(Math.min(...times))}–${s(Math.max(...times))} s`]);
      } finally {
        await sim.stop();
      }
    }
  } finally {
    await fleet.stop();
  }
}

if (only.has("links")) {
  const story = await startStoryFleet(["edge-1", "edge-2", "edge-3"], { hubs: 3, heartbeat: "5s", links: { agentHub: true, agentNats: true }, progress: say });
  try {
    const clean: number[] = [];
    for (let i = 0; i < Number(values.commits); i++) {
      const t = Date.now();
      const sha = await story.bump();
      await waitFor(
        async () => {
          for (const c of story.ledger.agentClusters) if ((await story.fleet.api.get<{ observedRevision?: string }>(`/clusters/${c}`)).observedRevision !== sha) return undefined;
          return true;
        },
        { what: `every cluster at ${sha.slice(0, 12)}`, timeoutMs: 180_000, intervalMs: 100 },
      );
      clean.push(Date.now() - t);
    }
    say(`without faults: ${clean.map(s).join(", ")} s`);
    const lossy = await runSlowLinks(story, Number(values.commits), say);
    if (lossy.report.problems.length) say(`PROBLEMS: ${lossy.report.problems.join("; ")}`);
    const ms = lossy.convergeS.map((x) => x * 1000);
    linkRows.push(["Convergence (3 clusters), links without faults: commit → every cluster synced", `${clean.length}`, `${s(median(clean))} s`, `${s(Math.min(...clean))}–${s(Math.max(...clean))} s`]);
    linkRows.push(["Convergence (3 clusters), 300 ms latency + 5% dropped connections", `${ms.length}`, `${s(median(ms))} s`, `${s(Math.min(...ms))}–${s(Math.max(...ms))} s`]);
  } finally {
    await story.fleet.stop();
  }
}
clearInterval(sampleLoad);

// The lab's NATS as the hubs saw it: a cluster of nodes when the lab runs one.
const natsNote = "3 hub processes on the lab's NATS (a 3-node JetStream cluster with 3 replicas when the lab runs one)";
const section = (what: string, list: string[][]): string =>
  [
    `${natsNote}; agents reach the hubs through one address (a TCP balancer standing in for a Service${what}). Medians.`,
    "",
    table(["Measure", "Runs", "Median", "Range"], list),
    "",
    `Machine: ${machineNote()}; 1-minute load average during the run: median ${median(loads.length ? loads : [0]).toFixed(1)} (the machine is shared).`,
  ].join("\n");
if (rows.length) {
  const out = section("", rows);
  console.log(`\n${out}`);
  if (!values["no-write"]) await writeSection("ha", "High availability: failover and reconnect (`npm run bench:ha`)", out);
}
if (linkRows.length) {
  const out = section(", behind toxiproxy links", linkRows);
  console.log(`\n${out}`);
  if (!values["no-write"]) await writeSection("ha-links", "High availability: convergence over slow and lossy links (`npm run bench:ha -- --only links`)", out);
}
process.exit(0);
