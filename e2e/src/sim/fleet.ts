// The simulator's parent side: spreads N simulated clusters over worker processes, collects
// their progress and timings, and drives them (drift, failing health, disconnect waves,
// clusters that stop answering). Used by `npm run sim`, the fleet benchmark and chaos tests.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ParentMessage, SimClusterSpec, SimCommand, SimWorkerConfig, WorkerMessage, WorkerStats } from "./protocol.js";

/** Options of {@link startSimFleet}. */
export interface SimFleetOptions {
  /** The hub's gRPC address, "host:port" (a host name matching its certificate when TLS is verified). */
  grpcAddress: string;
  /** CA certificates (PEM) of the hub's gRPC TLS; without it (and without insecureSkipVerify) the channel is plaintext. */
  caPem?: string | Buffer | undefined;
  /** TLS without verifying the hub's certificate (labs only). */
  insecureSkipVerify?: boolean;
  /** A registration token with at least `clusters` uses left. */
  registrationToken: string;
  /** Number of simulated clusters. */
  clusters: number;
  /** Worker processes; default min(8, ceil(clusters / 500)). */
  processes?: number;
  /** Cluster names are `<namePrefix>-<n>`, n from 1; default "sim". */
  namePrefix?: string;
  /**
   * Labels of every cluster (besides the token's), or labels per cluster index (0-based).
   * Each cluster also gets `sim-shard: <index mod 100>`, so a selector can target 1% of the fleet.
   */
  labels?: Record<string, string> | ((index: number) => Record<string, string>);
  /** Each heartbeat (and other wait of 1 s or more) varies by up to this share; default 0.1. */
  heartbeatJitter?: number;
  /**
   * gRPC channels: "per-cluster" (default; one channel per cluster, as real agents) or a number of
   * channels per worker process that its clusters' streams share (HTTP/2 multiplexing).
   */
  channels?: "per-cluster" | number;
  /** Re-enforce period of each simulated agent; default 5 minutes (changes arrive by watch). */
  reconcileIntervalMs?: number;
  /** Clusters registering at once in each worker; default 8. */
  startConcurrency?: number;
  /** pino level of the simulated agents (their logs go to the workers' stderr); default "silent". */
  logLevel?: string;
  /** Where worker stderr goes (a file descriptor, or inherited or dropped); default inherited. */
  workerStderr?: "inherit" | "ignore" | number;
}

/** Registration timing of one cluster. */
export interface RegistrationTiming {
  /** When the cluster's agent started (ms since the epoch). */
  startedAt: number;
  /** When Register answered. */
  registeredAt: number;
}

/** A running simulated fleet. */
export interface SimFleet {
  /** Number of simulated clusters. */
  readonly clusters: number;
  /** Names of the clusters, in order. */
  readonly names: readonly string[];
  /** Clusters whose Register was answered (or that had an identity already). */
  registered(): number;
  /** Clusters whose Connect stream is up (and that answer). */
  connected(): number;
  /** The newest revision each cluster reported. */
  revisions(): Map<string, string>;
  /** When each cluster first reported `revision` (ms since the epoch). */
  firstReported(revision: string): Map<string, number>;
  /** Registration timings by cluster. */
  registrations(): Map<string, RegistrationTiming>;
  /** Errors of clusters that could not start (by cluster). */
  errors(): Map<string, string>;
  /** Polls `pred` every 200 ms until it is true; rejects after `timeoutMs`, saying what was awaited. */
  waitFor(pred: (fleet: SimFleet) => boolean, timeoutMs: number, what?: string): Promise<void>;
  /** Changes `objects` (default 1) objects in a share (0..1) of the clusters; returns the clusters changed. */
  drift(share: number, objects?: number): Promise<string[]>;
  /** Makes the workloads of a share of the clusters fail their rollout; returns the clusters. */
  failHealth(share: number): Promise<string[]>;
  /** Heals every cluster {@link SimFleet.failHealth} broke. */
  restoreHealth(): Promise<string[]>;
  /** Stops the agents of a share of the clusters and starts them again after `downMs`. */
  disconnectWave(share: number, downMs: number): Promise<string[]>;
  /** A share of the clusters stops sending and reading on its stream, without closing it. */
  stopAnswering(share: number): Promise<string[]>;
  /** Every cluster answers again. */
  resumeAnswering(): Promise<string[]>;
  /** Resource use of each worker process. */
  stats(): Promise<WorkerStats[]>;
  /** Stops every cluster and worker. */
  stop(): Promise<void>;
}

interface Worker {
  child: ChildProcess;
  registered: number;
  connected: number;
  exited: boolean;
}

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** Starts the workers and their clusters; resolves once every worker has been told to start. */
export function startSimFleet(options: SimFleetOptions): Promise<SimFleet> {
  const total = options.clusters;
  const processes = Math.max(1, Math.min(total, options.processes ?? Math.min(8, Math.ceil(total / 500))));
  const prefix = options.namePrefix ?? "sim";
  const labelsOf = (index: number): Record<string, string> => ({
    "sim-shard": String(index % 100),
    ...(typeof options.labels === "function" ? options.labels(index) : (options.labels ?? {})),
  });
  const specs: SimClusterSpec[] = Array.from({ length: total }, (_, i) => ({ name: `${prefix}-${i + 1}`, labels: labelsOf(i) }));
  const latest = new Map<string, string>();
  const byRevision = new Map<string, Map<string, number>>();
  const registrations = new Map<string, RegistrationTiming>();
  const errors = new Map<string, string>();
  const pending = new Map<number, { resolve: (m: Extract<WorkerMessage, { type: "reply"; ok: true }>) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stopping: Promise<void> | undefined;

  const onMessage = (worker: Worker, message: WorkerMessage): void => {
    if (message.type === "progress") {
      worker.registered = message.registered;
      worker.connected = message.connected;
      for (const event of message.events) {
        if (event.kind === "registered") registrations.set(event.name, { startedAt: event.startedAt, registeredAt: event.at });
        else if (event.kind === "revision") {
          latest.set(event.name, event.revision);
          let at = byRevision.get(event.revision);
          if (!at) byRevision.set(event.revision, (at = new Map<string, number>()));
          if (!at.has(event.name)) at.set(event.name, event.at);
        } else errors.set(event.name, event.message);
      }
      return;
    }
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.ok) waiting.resolve(message);
    else waiting.reject(new Error(`a simulator worker failed: ${message.error}`));
  };

  const simProfileDir = process.env["GITFLEET_BENCH_SIM_PROF"];
  const workers: Worker[] = [];
  for (let p = 0; p < processes; p++) {
    const child = fork(workerPath, [], {
      // GITFLEET_BENCH_SIM_PROF=<dir>: a CPU profile of each worker, written there when it stops.
      execArgv: ["--conditions=@gitfleet/source", "--import", import.meta.resolve("tsx"), ...(simProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${simProfileDir}`] : [])],
      stdio: ["ignore", "inherit", options.workerStderr ?? "inherit", "ipc"],
    });
    const worker: Worker = { child, registered: 0, connected: 0, exited: false };
    child.on("message", (m: WorkerMessage) => onMessage(worker, m));
    child.on("exit", () => {
      worker.exited = true;
      worker.connected = 0;
    });
    workers.push(worker);
    const config: SimWorkerConfig = {
      grpcAddress: options.grpcAddress,
      caPem: options.caPem === undefined ? undefined : options.caPem.toString(),
      insecureSkipVerify: options.insecureSkipVerify,
      registrationToken: options.registrationToken,
      // Clusters dealt round-robin, so every worker gets a slice of every shard.
      clusters: specs.filter((_, i) => i % processes === p),
      channels: options.channels ?? "per-cluster",
      reconcileIntervalMs: options.reconcileIntervalMs ?? 300_000,
      heartbeatJitter: options.heartbeatJitter ?? 0.1,
      startConcurrency: options.startConcurrency ?? 8,
      logLevel: options.logLevel ?? "silent",
    };
    child.send({ type: "start", config } satisfies ParentMessage);
  }

  type Reply = Extract<WorkerMessage, { type: "reply"; ok: true }>;
  // One command per live worker; `cmd` may differ by worker (its part of a share).
  const command = async (cmd: SimCommand | ((worker: number) => SimCommand)): Promise<Reply[]> =>
    await Promise.all(
      workers.flatMap((w, index) =>
        w.exited
          ? []
          : [
              new Promise<Reply>((resolve, reject) => {
                const id = nextId++;
                pending.set(id, { resolve, reject });
                w.child.send({ type: "command", id, command: typeof cmd === "function" ? cmd(index) : cmd } satisfies ParentMessage);
              }),
            ],
      ),
    );
  const names = async (cmd: SimCommand | ((worker: number) => SimCommand)): Promise<string[]> => (await command(cmd)).flatMap((r) => r.clusters);
  // round(share × clusters) clusters in all, dealt to the workers in proportion to their clusters.
  const counts = (share: number): number[] => {
    const wanted = Math.round(Math.min(1, Math.max(0, share)) * total);
    const sizes = workers.map((_, p) => specs.filter((__, i) => i % processes === p).length);
    const exact = sizes.map((size) => (wanted * size) / total);
    const parts = exact.map(Math.floor);
    let left = wanted - parts.reduce((a, b) => a + b, 0);
    for (const p of exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i)) {
      if (left-- <= 0) break;
      parts[p] = (parts[p] ?? 0) + 1;
    }
    return parts;
  };
  const dealt = (share: number, make: (count: number) => SimCommand): Promise<string[]> => {
    const parts = counts(share);
    return names((worker) => make(parts[worker] ?? 0));
  };

  const fleet: SimFleet = {
    clusters: total,
    names: specs.map((s) => s.name),
    registered: () => workers.reduce((n, w) => n + w.registered, 0),
    connected: () => workers.reduce((n, w) => n + w.connected, 0),
    revisions: () => new Map(latest),
    firstReported: (revision) => new Map(byRevision.get(revision) ?? []),
    registrations: () => new Map(registrations),
    errors: () => new Map(errors),
    async waitFor(pred, timeoutMs, what = "the simulated fleet") {
      const deadline = Date.now() + timeoutMs;
      while (!pred(fleet)) {
        const dead = workers.find((w) => w.exited);
        if (dead && !stopping) throw new Error(`waiting for ${what}: simulator worker ${dead.child.pid} exited`);
        if (Date.now() > deadline) {
          const failed = [...errors].slice(0, 3).map(([name, message]) => `${name}: ${message}`);
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} (registered ${fleet.registered()}, connected ${fleet.connected()} of ${total})` +
              (failed.length > 0 ? `; ${errors.size} clusters failed to start, e.g. ${failed.join("; ")}` : ""),
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    drift: (share, objects = 1) => dealt(share, (count) => ({ cmd: "drift", count, objects })),
    failHealth: (share) => dealt(share, (count) => ({ cmd: "failHealth", count })),
    restoreHealth: () => names({ cmd: "restoreHealth" }),
    disconnectWave: (share, downMs) => dealt(share, (count) => ({ cmd: "disconnectWave", count, downMs })),
    stopAnswering: (share) => dealt(share, (count) => ({ cmd: "stopAnswering", count })),
    resumeAnswering: () => names({ cmd: "resumeAnswering" }),
    stats: async () => (await command({ cmd: "stats" })).flatMap((r) => (r.stats ? [r.stats] : [])),
    stop() {
      stopping ??= (async () => {
        await Promise.race([command({ cmd: "stop" }).catch(() => []), new Promise((r) => setTimeout(r, 30_000))]);
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((resolve) => {
                if (w.exited) return resolve();
                w.child.once("exit", () => resolve());
                w.child.kill("SIGTERM");
                setTimeout(() => w.child.kill("SIGKILL"), 5_000).unref();
              }),
          ),
        );
        for (const waiting of pending.values()) waiting.reject(new Error("the simulated fleet stopped"));
        pending.clear();
      })();
      return stopping;
    },
  };
  return Promise.resolve(fleet);
}
