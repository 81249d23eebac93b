// The messages between the simulator's parent process and its worker processes (IPC, JSON).
// The parent sends one "start" with the worker's clusters, then commands, each answered by a
// reply with the same id; workers push progress (counts and timing events) on their own.

/** One simulated cluster a worker runs. */
export interface SimClusterSpec {
  name: string;
  labels: Record<string, string>;
}

/** How a worker reaches the hub and runs its clusters. */
export interface SimWorkerConfig {
  grpcAddress: string;
  /** CA certificates (PEM) of the hub's gRPC TLS; plaintext when absent (and not insecure). */
  caPem?: string | undefined;
  /** TLS without verifying the hub's certificate (labs only). */
  insecureSkipVerify?: boolean | undefined;
  registrationToken: string;
  clusters: SimClusterSpec[];
  /** "per-cluster": one gRPC channel per cluster (as real agents); a number: that many channels shared by the worker's clusters. */
  channels: "per-cluster" | number;
  /** Re-enforce period of each simulated agent. */
  reconcileIntervalMs: number;
  /** Each wait of an agent of 1 s or more is stretched or shortened by up to this share (0..1). */
  heartbeatJitter: number;
  /** Clusters starting (registering) at once in this worker. */
  startConcurrency: number;
  /** pino level of the simulated agents' logs (written to stderr); default "silent". */
  logLevel: string;
}

/** A command of the parent; every command is answered by a {@link SimReply}. */
export type SimCommand =
  | { cmd: "drift"; share: number; objects: number }
  | { cmd: "failHealth"; share: number }
  | { cmd: "restoreHealth" }
  | { cmd: "disconnectWave"; share: number; downMs: number }
  | { cmd: "stopAnswering"; share: number }
  | { cmd: "resumeAnswering" }
  | { cmd: "stats" }
  | { cmd: "stop" };

/** What the parent sends. */
export type ParentMessage = { type: "start"; config: SimWorkerConfig } | { type: "command"; id: number; command: SimCommand };

/** Resource use of one worker process. */
export interface WorkerStats {
  pid: number;
  clusters: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** CPU time used so far (user + system), in seconds. */
  cpuSeconds: number;
}

/** A timing event of one cluster. */
export type SimEvent =
  /** Register answered: startedAt is when the cluster began registering. */
  | { kind: "registered"; name: string; startedAt: number; at: number }
  /** The cluster sent a status report carrying this observed revision for the first time. */
  | { kind: "revision"; name: string; revision: string; at: number }
  | { kind: "error"; name: string; message: string; at: number };

/** What a worker sends. */
export type WorkerMessage =
  | { type: "progress"; registered: number; connected: number; events: SimEvent[] }
  | { type: "reply"; id: number; ok: true; clusters: string[]; stats?: WorkerStats }
  | { type: "reply"; id: number; ok: false; error: string };
