// The agent's Prometheus metrics, served on its probe server at /metrics. A registry of its own
// (not prom-client's global one), so that several agents can run in one process (tests). State
// gauges read the agent at scrape time; the reconciler reports durations. Labels are bounded:
// the bundle label of the apply histogram takes the bundle names of fleet.yaml (a handful per
// cluster), never object names. docs/metrics.md lists every metric.
import { HealthState, SyncState } from "@gitfleet/proto";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ReconcileReport } from "./reconcile.js";

/** What the reconciler reports to metrics. */
export interface ReconcileMetrics {
  /** A reconcile pass ended (`failure`: it threw). */
  passed(seconds: number, outcome: "success" | "failure"): void;
  /** A bundle was applied in a pass, with the sync state it ended in. */
  bundleApplied(bundle: string, seconds: number, sync: SyncState): void;
}

/** What the scrape-time gauges read. */
export interface AgentMetricSources {
  lastReport(): ReconcileReport | undefined;
  /** Objects the drift monitor holds, by drift state ("drifted", "missing", "conflict"). */
  drift(): Record<"drifted" | "missing" | "conflict", number>;
  hubConnected(): boolean;
  leading(): boolean;
}

/** The agent's metrics. */
export interface AgentMetrics {
  readonly registry: Registry;
  readonly reconcile: ReconcileMetrics;
  /** Connects the scrape-time gauges to the agent; until then they read as empty. */
  bind(sources: AgentMetricSources): void;
  /** The exposition text of a scrape. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/** Buckets (seconds) of reconcile passes and bundle applies: a no-op pass takes milliseconds, a first apply with CRDs a minute. */
export const reconcileBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** SyncState.OUT_OF_SYNC -> "out-of-sync", as the hub's API spells it. */
export function stateLabel(names: Record<number, string>, value: number): string {
  return (names[value] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}

/** Creates the agent's registry with every metric registered. */
export function createAgentMetrics(options: { version: string; defaultMetrics?: boolean }): AgentMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let sources: AgentMetricSources | undefined;

  new Gauge({ name: "gitfleet_agent_info", help: "Always 1; the agent's version as a label.", labelNames: ["version"], registers }).set({ version: options.version }, 1);
  const reconcile = new Histogram({
    name: "gitfleet_agent_reconcile_duration_seconds",
    help: "Time of one reconcile pass over the desired state (every bundle, prune included).",
    labelNames: ["outcome"],
    buckets: reconcileBuckets,
    registers,
  });
  const apply = new Histogram({
    name: "gitfleet_agent_bundle_apply_duration_seconds",
    help: "Time to apply one bundle in a pass, by bundle and the sync state it ended in.",
    labelNames: ["bundle", "sync"],
    buckets: reconcileBuckets,
    registers,
  });
  const passes = new Counter({ name: "gitfleet_agent_reconcile_errors_total", help: "Reconcile passes that failed with an error (not a bundle that failed: see gitfleet_agent_bundles).", registers });
  passes.inc(0);
  new Gauge({
    name: "gitfleet_agent_bundles",
    help: "Bundles of the desired state by the sync and health state of the last pass.",
    labelNames: ["sync", "health"],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const bundle of sources?.lastReport()?.bundles ?? []) {
        const key = `${stateLabel(SyncState, bundle.sync)}\t${stateLabel(HealthState, bundle.health)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const [sync = "", health = ""] = key.split("\t");
        this.set({ sync, health }, count);
      }
    },
  });
  new Gauge({
    name: "gitfleet_agent_drifted_objects",
    help: "Objects of this cluster drifted, missing or in conflict, as the drift monitor sees them now.",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = sources?.drift() ?? { drifted: 0, missing: 0, conflict: 0 };
      for (const state of ["drifted", "missing", "conflict"] as const) this.set({ state }, counts[state]);
    },
  });
  new Gauge({
    name: "gitfleet_agent_hub_connected",
    help: "1 while the status stream to the hub is up, else 0.",
    registers,
    collect() {
      this.set(sources?.hubConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: "gitfleet_agent_leader",
    help: "1 while this replica leads (reconciles and reports), else 0.",
    registers,
    collect() {
      this.set(sources?.leading() ? 1 : 0);
    },
  });
  new Gauge({
    name: "gitfleet_agent_last_reconcile_timestamp_seconds",
    help: "When the last reconcile pass finished (Unix time); 0 before the first.",
    registers,
    collect() {
      const finished = sources?.lastReport()?.finishedAt;
      this.set(finished ? Date.parse(finished) / 1000 : 0);
    },
  });

  return {
    registry,
    reconcile: {
      passed(seconds, outcome) {
        reconcile.observe({ outcome }, seconds);
        if (outcome === "failure") passes.inc();
      },
      bundleApplied: (bundle, seconds, sync) => apply.observe({ bundle, sync: stateLabel(SyncState, sync) }, seconds),
    },
    bind(next) {
      sources = next;
    },
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
