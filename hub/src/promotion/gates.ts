// The gates of a stage, evaluated over the state of its clusters: synced at the hub's resolved
// commit, healthy at the revision they applied, free of drift, soaked, and enough of them. Each
// gate passes or says why not, naming clusters and objects. Pure: stage-state.ts gathers the input.
import { HealthState, SyncState } from "@gitfleet/proto";
import { formatDuration } from "@gitfleet/proto/rules";
import { bundleStanding, type IndexedBundle } from "../drift/index.js";
import { describeResource } from "../fleet-events/index.js";
import type { GateSpec } from "../delivery/index.js";

/** The gates a stage can have; `synced` and `min-clusters` always apply. */
export type GateName = "synced" | "healthy" | "no-drift" | "soak" | "min-clusters";

/** One gate's outcome. */
export interface GateResult {
  gate: GateName;
  passed: boolean;
  /** Why it passed, or exactly why not, e.g. "prod-us-2 not synced at 4f0b60f (at 91ac2e3)". */
  message: string;
  /** Names of the clusters it failed for. */
  clusters: string[];
}

/** One cluster of a stage as the gates saw it. */
export interface StageClusterView {
  name: string;
  synced: boolean;
  healthy: boolean;
  /** Objects of the pipeline's bundle drifted, missing or in conflict. */
  drifted: number;
  stale: boolean;
  /** The commit the cluster's bundle was applied from. */
  revision?: string;
  /** When the cluster reached the desired digest (ISO), when known. */
  since?: string;
}

/** The gates of a stage at one moment: the evidence a promotion keeps. */
export interface GateEvaluation {
  stage: string;
  /** The hub's resolved commit: what "synced" is measured against ("" before the first). */
  commit: string;
  passed: boolean;
  gates: GateResult[];
  clusters: StageClusterView[];
  /** ISO time of the evaluation. */
  evaluatedAt: string;
}

/** An object of a cluster's bundle that is not healthy, with the agent's message. */
export interface UnhealthyResource {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  health: HealthState;
  message: string;
}

/** What the gates read of one cluster of the stage. */
export interface StageClusterState {
  id: string;
  name: string;
  /** The digest the hub wants the cluster to run; undefined while the bundle fails for it. */
  desiredDigest: string | undefined;
  /** Why the hub cannot render the bundle for the cluster, when it cannot. */
  errors: readonly string[];
  /** The pipeline bundle's state as the cluster last reported it. */
  bundle: IndexedBundle | undefined;
  stale: boolean;
  /** The bundle's objects that are not healthy; only needed for synced clusters that are not healthy. */
  unhealthy: readonly UnhealthyResource[];
  /** When the cluster reached `desiredDigest` (ISO), when known. */
  since: string | undefined;
}

/** Input of {@link evaluateGates}. */
export interface GateInput {
  stage: string;
  bundle: string;
  commit: string;
  spec: GateSpec;
  clusters: readonly StageClusterState[];
  now: Date;
  /** Set when the stage cannot be evaluated at all (nothing resolved, bundle or target missing): every gate fails with it. */
  blocked?: string | undefined;
  /** Evaluate only these gates (verification needs synced and healthy only); default the stage's. */
  only?: readonly GateName[] | undefined;
}

/** Clusters named in one message at most; the rest are counted. */
const namedClusters = 5;
/** Unhealthy objects named per cluster at most. */
const namedObjects = 2;

/** A commit as messages show it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

/** The gates that apply to a stage, in the order they are shown. */
export function stageGates(spec: GateSpec): GateName[] {
  return [
    "min-clusters",
    "synced",
    ...(spec.healthy ? (["healthy"] as const) : []),
    ...(spec.noDrift ? (["no-drift"] as const) : []),
    ...(spec.soakMs > 0 ? (["soak"] as const) : []),
  ];
}

/** Evaluates a stage's gates over its clusters; see the file comment. */
export function evaluateGates(input: GateInput): GateEvaluation {
  const clusters = [...input.clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const judged = clusters.map((c) => ({ state: c, ...bundleStanding(c.desiredDigest, c.bundle, c.stale) }));
  const gates = (input.only ?? stageGates(input.spec)).map((gate): GateResult => {
    if (input.blocked !== undefined) return { gate, passed: false, message: input.blocked, clusters: [] };
    return gateCheckers[gate](input, judged);
  });
  return {
    stage: input.stage,
    commit: input.commit,
    passed: gates.every((g) => g.passed),
    gates,
    clusters: judged.map(({ state, synced, healthy }) => ({
      name: state.name,
      synced,
      healthy,
      drifted: state.bundle?.drifted ?? 0,
      stale: state.stale,
      ...(state.bundle ? { revision: state.bundle.revision } : {}),
      ...(state.since !== undefined && synced ? { since: state.since } : {}),
    })),
    evaluatedAt: input.now.toISOString(),
  };
}

interface Judged {
  state: StageClusterState;
  synced: boolean;
  healthy: boolean;
}

type Checker = (input: GateInput, clusters: readonly Judged[]) => GateResult;

const gateCheckers: Record<GateName, Checker> = {
  "min-clusters": (input, clusters) => {
    const need = input.spec.minClusters;
    const have = clusters.length;
    const message = `${input.stage} has ${countOf(have)}; the gate needs at least ${need}`;
    return { gate: "min-clusters", passed: have >= need, message, clusters: [] };
  },

  synced: (input, clusters) => {
    const at = shortCommit(input.commit);
    const failing = clusters.filter((c) => !c.synced);
    if (failing.length === 0) return passed("synced", `${countOf(clusters.length)} synced at ${at}`);
    return failed("synced", failing, (c) => `${c.state.name} not synced at ${at} (${whyNotSynced(c.state, input.bundle)})`);
  },

  healthy: (input, clusters) => {
    const failing = clusters.filter((c) => !c.healthy);
    if (failing.length === 0) return passed("healthy", `${countOf(clusters.length)} healthy at ${shortCommit(input.commit)}`);
    return failed("healthy", failing, (c) => whyNotHealthy(c, input.bundle));
  },

  "no-drift": (input, clusters) => {
    const failing = clusters.filter((c) => c.state.stale || c.state.bundle === undefined || c.state.bundle.drifted > 0);
    if (failing.length === 0) return passed("no-drift", `no drift in ${countOf(clusters.length)}`);
    return failed("no-drift", failing, ({ state }) => {
      if (state.stale) return `${state.name} is stale: its drift is not known`;
      if (state.bundle === undefined) return `${state.name} has not reported ${input.bundle} yet`;
      const n = state.bundle.drifted;
      return `${state.name}: ${n} ${n === 1 ? "object" : "objects"} drifted`;
    });
  },

  soak: (input, clusters) => {
    const soakMs = input.spec.soakMs;
    const at = shortCommit(input.commit);
    const nowMs = input.now.getTime();
    const unready = clusters.filter((c) => !c.healthy || c.state.since === undefined);
    if (unready.length > 0) {
      return failed("soak", unready, ({ state, healthy }) =>
        healthy ? `${state.name}: when it reached ${at} is not known yet` : `${state.name} is not synced and healthy at ${at}; the soak has not started`,
      );
    }
    const elapsed = clusters.map((c) => ({ c, ms: Math.max(0, nowMs - Date.parse(c.state.since ?? "")) }));
    const soaking = elapsed.filter((e) => e.ms < soakMs);
    if (soaking.length === 0) return passed("soak", `every cluster ran ${at} for at least ${formatDuration(soakMs)}`);
    const least = Math.min(...soaking.map((e) => e.ms));
    return {
      gate: "soak",
      passed: false,
      message: `soaking: ${formatDuration(least)} of ${formatDuration(soakMs)} at ${at}`,
      clusters: soaking.map((e) => e.c.state.name),
    };
  },
};

function passed(gate: GateName, message: string): GateResult {
  return { gate, passed: true, message, clusters: [] };
}

function failed(gate: GateName, failing: readonly Judged[], describe: (c: Judged) => string): GateResult {
  const shown = failing.slice(0, namedClusters).map(describe);
  const more = failing.length - shown.length;
  return {
    gate,
    passed: false,
    message: `${shown.join("; ")}${more > 0 ? `; and ${more} more ${more === 1 ? "cluster" : "clusters"}` : ""}`,
    clusters: failing.map((c) => c.state.name),
  };
}

function countOf(n: number): string {
  return n === 1 ? "1 cluster" : `${n} clusters`;
}

function whyNotSynced(state: StageClusterState, bundle: string): string {
  const reported = state.bundle;
  if (state.desiredDigest === undefined) return `the hub cannot render ${bundle} for it${state.errors[0] ? `: ${state.errors[0]}` : ""}`;
  if (state.stale) return `stale${reported ? `; last reported ${shortCommit(reported.revision)}` : ""}`;
  if (reported === undefined) return `${bundle} not reported yet`;
  if (reported.digest !== state.desiredDigest) return `at ${shortCommit(reported.revision)}`;
  if (reported.sync === SyncState.FAILED) return `applying it failed${reported.message ? `: ${reported.message}` : ""}`;
  return `${syncName(reported.sync)}${reported.message ? `: ${reported.message}` : ""}`;
}

function whyNotHealthy({ state, synced }: Judged, bundle: string): string {
  const reported = state.bundle;
  if (!synced || reported === undefined) return `${state.name} not synced`;
  if (reported.healthRevision !== reported.revision) return `${state.name}: health not assessed yet at ${shortCommit(reported.revision)}`;
  const objects = [...state.unhealthy].sort((a, b) => healthRank(a.health) - healthRank(b.health));
  if (objects.length === 0) return `${state.name}: ${bundle} is ${healthName(reported.health)}${reported.message ? `: ${reported.message}` : ""}`;
  const shown = objects.slice(0, namedObjects).map((o) => {
    const what = describeResource(o);
    return o.message ? `${what} ${o.message}` : `${what} ${healthName(o.health)}`;
  });
  const more = objects.length - shown.length;
  return `${state.name}: ${shown.join(", ")}${more > 0 ? ` (and ${more} more)` : ""}`;
}

// Degraded objects explain a failure best; then those still progressing.
function healthRank(health: HealthState): number {
  return health === HealthState.DEGRADED ? 0 : health === HealthState.PROGRESSING ? 1 : health === HealthState.MISSING ? 2 : 3;
}

function healthName(health: HealthState): string {
  return (HealthState[health] ?? "UNKNOWN").toLowerCase();
}

function syncName(sync: SyncState): string {
  return (SyncState[sync] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}
