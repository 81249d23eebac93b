// A worker process of the simulator: runs its share of the simulated clusters and obeys the
// parent over IPC (see protocol.ts). Started by startSimFleet with child_process.fork.
import { createHubClient, systemClock } from "@gitfleet/agent";
import type { Clock, HubClient, HubTls } from "@gitfleet/agent";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pino } from "pino";
import type { ParentMessage, SimCommand, SimEvent, SimWorkerConfig, WorkerMessage, WorkerStats } from "./protocol.js";
import { createSimCluster } from "./sim-cluster.js";
import type { SimCluster } from "./sim-cluster.js";

const send = (message: WorkerMessage): void => {
  if (process.connected) process.send?.(message);
};

let clusters: SimCluster[] = [];
let events: SimEvent[] = [];
let progressTimer: NodeJS.Timeout | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

function tlsOf(config: SimWorkerConfig): HubTls {
  if (config.caPem) return { mode: "ca", caPem: Buffer.from(config.caPem) };
  if (config.insecureSkipVerify) return { mode: "insecure-skip-verify" };
  return { mode: "plaintext" };
}

/** A clock whose longer waits (heartbeats, reconcile intervals, back-offs) vary by ±jitter. */
function jitteredClock(jitter: number): Clock {
  if (jitter <= 0) return systemClock;
  return {
    now: () => systemClock.now(),
    sleep: (ms, signal) => systemClock.sleep(ms >= 1_000 ? ms * (1 + jitter * (2 * Math.random() - 1)) : ms, signal),
  };
}

/**
 * Hub clients for the clusters: one channel each (the agent's own createHubClient), or a few
 * shared channels whose Connect streams multiplex over HTTP/2; a cluster closing its client
 * then leaves the shared channel open.
 */
function hubClients(config: SimWorkerConfig): (address: string) => HubClient {
  const tls = tlsOf(config);
  if (config.channels === "per-cluster") return (address) => createHubClient({ address, tls });
  const shared = Array.from({ length: Math.max(1, config.channels) }, () => createHubClient({ address: config.grpcAddress, tls }));
  let next = 0;
  return () => {
    const client = shared[next++ % shared.length] as HubClient;
    return { register: (r, o) => client.register(r, o), connect: (t) => client.connect(t), renew: (r, o) => client.renew(r, o), close: () => {} };
  };
}

function pick(count: number): SimCluster[] {
  const shuffled = [...clusters];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as SimCluster, shuffled[i] as SimCluster];
  }
  return shuffled.slice(0, count);
}

function progress(): void {
  const batch = events;
  events = [];
  send({
    type: "progress",
    registered: clusters.filter((c) => c.registered).length,
    connected: clusters.filter((c) => c.connected).length,
    events: batch,
  });
}

async function start(config: SimWorkerConfig): Promise<void> {
  const logger = pino({ level: config.logLevel }, pino.destination(2));
  const clock = jitteredClock(config.heartbeatJitter);
  const hubClient = hubClients(config);
  clusters = config.clusters.map((spec) =>
    createSimCluster({
      name: spec.name,
      labels: spec.labels,
      grpcAddress: config.grpcAddress,
      registrationToken: config.registrationToken,
      hubClient,
      reconcileIntervalMs: config.reconcileIntervalMs,
      clock,
      logger,
      onRegistered: (startedAt, at) => events.push({ kind: "registered", name: spec.name, startedAt, at }),
      onRevision: (revision, at) => events.push({ kind: "revision", name: spec.name, revision, at }),
    }),
  );
  progressTimer = setInterval(progress, 250);
  // Clusters start a few at a time, as a fleet being onboarded would.
  let index = 0;
  const starter = async (): Promise<void> => {
    while (index < clusters.length) {
      const cluster = clusters[index++] as SimCluster;
      try {
        await cluster.start();
      } catch (err) {
        events.push({ kind: "error", name: cluster.name, message: err instanceof Error ? err.message : String(err), at: Date.now() });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, config.startConcurrency) }, starter));
}

async function run(command: SimCommand): Promise<{ clusters: string[]; stats?: WorkerStats }> {
  switch (command.cmd) {
    case "drift": {
      const chosen = pick(command.count).filter((c) => c.kube.drift(command.objects) > 0);
      return { clusters: chosen.map((c) => c.name) };
    }
    case "failHealth": {
      const chosen = pick(command.count).filter((c) => c.kube.failHealth() > 0);
      return { clusters: chosen.map((c) => c.name) };
    }
    case "restoreHealth":
      return { clusters: clusters.filter((c) => c.kube.restoreHealth() > 0).map((c) => c.name) };
    case "disconnectWave": {
      const chosen = pick(command.count);
      await Promise.all(chosen.map((c) => c.disconnect(command.downMs)));
      return { clusters: chosen.map((c) => c.name) };
    }
    case "stopAnswering": {
      const chosen = pick(command.count);
      for (const c of chosen) c.mute();
      return { clusters: chosen.map((c) => c.name) };
    }
    case "resumeAnswering":
      for (const c of clusters) c.unmute();
      return { clusters: clusters.map((c) => c.name) };
    case "stats": {
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      const delayMs = loopDelay.percentile(99) / 1e6;
      loopDelay.reset();
      return {
        clusters: [],
        stats: { pid: process.pid, clusters: clusters.length, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, eventLoopDelayP99Ms: delayMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 },
      };
    }
    case "stop":
      clearInterval(progressTimer);
      await Promise.allSettled(clusters.map((c) => c.stop()));
      progress();
      return { clusters: clusters.map((c) => c.name) };
  }
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "start") {
    void start(message.config).then(progress);
    return;
  }
  const { id, command } = message;
  run(command).then(
    (result) => send({ type: "reply", id, ok: true, ...result }),
    (err: unknown) => send({ type: "reply", id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

// The parent is gone (killed, or it exited without stopping us): stop as well.
process.on("disconnect", () => {
  void Promise.allSettled(clusters.map((c) => c.stop())).then(() => process.exit(0));
});
// The parent's stop ends with SIGTERM once the clusters stopped: exit normally, so a CPU profile
// (GITFLEET_BENCH_SIM_PROF) is written.
process.on("SIGTERM", () => process.exit(0));
