// The hub's Prometheus metrics, in a registry of its own (not prom-client's global one), so that
// several hubs can run in one process (tests) without sharing counters. Gauges that describe the
// fleet are read at scrape time from the in-memory indexes; the hooks below count what happens.
// Every label set is bounded: no cluster, object or sink names, no URLs. docs/metrics.md lists
// every metric.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { clusterStates, type FleetTally } from "../drift/index.js";

/** What the scrape-time gauges read. */
export interface HubMetricSources {
  /** The fleet counted by the drift index. */
  tally(): FleetTally;
  /** Connect streams open on this replica. */
  openStreams(): number;
  /** Readiness checks that make the hub unready: name to "ok" or what is wrong. */
  readiness(): Record<string, string>;
  /** True while this replica holds the delivery leader lease; absent: 0. */
  deliveryLeader?(): boolean;
}

/** The outcome label of a timed step. */
export type StepOutcome = "success" | "failure";

/** Where NATS errors come from (bounded). */
export type NatsErrorKind = "disconnect" | "error" | "publish";

/** Git operations that can fail (bounded). */
export type GitOperation = "fetch" | "push";

/** Durations of the delivery steps, observed by the delivery part. */
export interface DeliveryMetrics {
  /** A whole resolve of a commit for every cluster (render included). */
  resolved(seconds: number, outcome: StepOutcome): void;
  /** One overlay rendered (plain folder or kustomize). */
  rendered(seconds: number, outcome: StepOutcome): void;
  /** One cluster's desired state published (written or found unchanged). */
  published(seconds: number, outcome: StepOutcome): void;
  /** A fetch of the fleet repository failed. */
  gitError(operation: GitOperation): void;
}

/** The hub's metrics: hooks for the parts, and the text a scrape returns. */
export interface HubMetrics {
  readonly registry: Registry;
  readonly delivery: DeliveryMetrics;
  natsError(kind: NatsErrorKind): void;
  gitError(operation: GitOperation): void;
  /** A promotion or rollback reached a state worth counting. */
  promotion(kind: "promotion" | "rollback", outcome: "committed" | "verified" | "failed" | "rolled-back"): void;
  /** A notification delivery attempt ended (`sinkType`: webhook, slack, ...). */
  notification(sinkType: string, outcome: string): void;
  /** Connects the scrape-time gauges to the running hub; until then they read as empty. */
  bind(sources: HubMetricSources): void;
  /** The exposition text of a scrape. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** Buckets (seconds) for steps that take from milliseconds (a cached render) to a minute (kustomize, a large fleet). */
export const stepBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Options of {@link createHubMetrics}. */
export interface HubMetricsOptions {
  /** The hub's version, exported as gitfleet_hub_info{version}. */
  version: string;
  /** Export process_* and nodejs_* metrics too; default true. */
  defaultMetrics?: boolean;
}

/** Creates the hub's registry with every metric registered. */
export function createHubMetrics(options: HubMetricsOptions): HubMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let sources: HubMetricSources | undefined;
  // Computed once per scrape, before the collectors run.
  let tally: FleetTally | undefined;

  new Gauge({ name: "gitfleet_hub_info", help: "Always 1; the hub's version as a label.", labelNames: ["version"], registers }).set({ version: options.version }, 1);
  new Gauge({
    name: "gitfleet_hub_ready",
    help: "1 when the hub is ready (NATS connected, stores loaded), else 0.",
    registers,
    collect() {
      const checks = sources?.readiness() ?? { started: "no" };
      this.set(Object.values(checks).every((v) => v === "ok") ? 1 : 0);
    },
  });
  new Gauge({
    name: "gitfleet_hub_delivery_leader",
    help: "1 while this hub replica holds the delivery leader lease (follows Git and publishes desired state), else 0.",
    registers,
    collect() {
      this.set(sources?.deliveryLeader?.() === true ? 1 : 0);
    },
  });
  new Gauge({
    name: "gitfleet_clusters",
    help: "Registered clusters by state: synced, out-of-sync, failed, pending (no status yet), stale (silent for 3 heartbeats).",
    labelNames: ["state"],
    registers,
    collect() {
      for (const state of clusterStates) this.set({ state }, tally?.clusters[state] ?? 0);
    },
  });
  new Gauge({
    name: "gitfleet_bundles",
    help: "Bundles in clusters by the sync and health state their agents reported (unknown for stale clusters).",
    labelNames: ["sync", "health"],
    registers,
    collect() {
      this.reset();
      for (const [key, count] of tally?.bundles ?? []) {
        const [sync = "", health = ""] = key.split("\t");
        this.set({ sync, health }, count);
      }
    },
  });
  new Gauge({
    name: "gitfleet_drifted_objects",
    help: "Objects drifted, missing or in conflict across the fleet, as the agents last reported them.",
    labelNames: ["state"],
    registers,
    collect() {
      for (const state of ["drifted", "missing", "conflict"] as const) this.set({ state }, tally?.drifted[state] ?? 0);
    },
  });
  new Gauge({
    name: "gitfleet_grpc_streams_open",
    help: "Agent Connect streams open on this hub replica.",
    registers,
    collect() {
      this.set(sources?.openStreams() ?? 0);
    },
  });

  const histogram = (name: string, help: string): Histogram<"outcome"> =>
    new Histogram({ name, help, labelNames: ["outcome"], buckets: stepBuckets, registers });
  const resolve = histogram("gitfleet_resolve_duration_seconds", "Time to resolve a commit for every cluster, renders included.");
  const render = histogram("gitfleet_render_duration_seconds", "Time to render one overlay (plain folder or kustomize).");
  const publish = histogram("gitfleet_publish_duration_seconds", "Time to publish one cluster's desired state to JetStream.");
  const natsErrors = new Counter({ name: "gitfleet_nats_errors_total", help: "NATS errors: disconnects, client errors and failed publishes.", labelNames: ["kind"], registers });
  const gitErrors = new Counter({ name: "gitfleet_git_errors_total", help: "Failed Git operations on the fleet repository: fetch (delivery) and push (promotions).", labelNames: ["operation"], registers });
  const promotions = new Counter({ name: "gitfleet_promotions_total", help: "Promotions and rollbacks by outcome: committed, verified, failed, rolled-back.", labelNames: ["kind", "outcome"], registers });
  const notifications = new Counter({
    name: "gitfleet_notification_deliveries_total",
    help: "Notification delivery attempts by sink type and outcome: delivered, failed (retried), given-up, deduplicated.",
    labelNames: ["sink_type", "outcome"],
    registers,
  });
  // Series that alerts use exist from the start, at 0, so rate() and increase() see the first error.
  for (const kind of ["disconnect", "error", "publish"]) natsErrors.inc({ kind }, 0);
  for (const operation of ["fetch", "push"]) gitErrors.inc({ operation }, 0);
  for (const outcome of ["committed", "verified", "failed", "rolled-back"]) promotions.inc({ kind: "promotion", outcome }, 0);

  const gitError = (operation: GitOperation): void => gitErrors.inc({ operation });
  return {
    registry,
    delivery: {
      resolved: (seconds, outcome) => resolve.observe({ outcome }, seconds),
      rendered: (seconds, outcome) => render.observe({ outcome }, seconds),
      published(seconds, outcome) {
        publish.observe({ outcome }, seconds);
        if (outcome === "failure") natsErrors.inc({ kind: "publish" });
      },
      gitError,
    },
    natsError: (kind) => natsErrors.inc({ kind }),
    gitError,
    promotion: (kind, outcome) => promotions.inc({ kind, outcome }),
    notification: (sinkType, outcome) => notifications.inc({ sink_type: sinkType, outcome }),
    bind(next) {
      sources = next;
    },
    async scrape() {
      tally = sources?.tally();
      try {
        return await registry.metrics();
      } finally {
        tally = undefined;
      }
    },
    contentType: registry.contentType,
  };
}
