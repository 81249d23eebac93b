// A synthetic fleet for the drift scenarios and the drift benchmark: cluster records and the
// whole status of each cluster, with a fixed share of drifted objects, and what the drift API
// must answer for it.
import {
  create,
  DriftMode,
  DriftState,
  HealthState,
  StatusReportSchema,
  SyncState,
  timestampFromDate,
  type StatusReport,
} from "@gitfleet/proto";
import type { ClusterRecord } from "@gitfleet/hub";

/** The shape of a synthetic fleet. */
export interface DriftFleetShape {
  clusters: number;
  bundles: number;
  /** Objects per bundle. */
  objects: number;
  /** One object in `driftEvery` drifts. */
  driftEvery: number;
  /** One cluster in `staleEvery` was last heard from a day ago. */
  staleEvery: number;
}

/** The benchmark's fleet: 10,000 clusters, 20 bundles of 10 objects, 1% of objects drifted. */
export const benchmarkFleet: DriftFleetShape = { clusters: 10_000, bundles: 20, objects: 10, driftEvery: 100, staleEvery: 100 };

const regions = ["eu", "us", "ap"] as const;
const kinds = [
  { group: "apps", kind: "Deployment" },
  { group: "", kind: "Service" },
  { group: "", kind: "ConfigMap" },
  { group: "batch", kind: "Job" },
  { group: "networking.k8s.io", kind: "Ingress" },
] as const;
const revision = "5f0c6a1e2d3b4c5a69788796a5b4c3d2e1f00112";
const managers = ["kubectl-edit", "kubectl-client-side-apply", "hpa-controller"] as const;

const pad = (n: number) => String(n).padStart(5, "0");

/** The id, name and labels of cluster `i`. */
export function fleetCluster(i: number): { id: string; name: string; labels: Record<string, string> } {
  return { id: `cbench${pad(i)}aaaaaaaaaaaaaaa`.slice(0, 21), name: `cluster-${pad(i)}`, labels: { region: regions[i % 3] ?? "eu", env: i % 2 ? "prod" : "staging" } };
}

/** Cluster `i`'s record as the hub stores it; heard from at `now`, or a day before for stale ones. */
export function fleetClusterRecord(shape: DriftFleetShape, i: number, now: Date): ClusterRecord {
  const stale = i % shape.staleEvery === shape.staleEvery - 1;
  return {
    ...fleetCluster(i),
    registeredAt: now.toISOString(),
    lastSeen: new Date(now.getTime() - (stale ? 86_400_000 : 0)).toISOString(),
    connected: !stale,
    credentialEpoch: 0,
    natsUserPublicKey: "",
    signingPublicKey: "",
    agentVersion: "bench",
    kubernetesVersion: "v1.36.0",
    observedRevision: revision,
    observedGeneration: 1,
    registrationTokenId: "tbench",
    credentialsExpireAt: null,
    session: null,
  };
}

/**
 * The drift state of object `j` of bundle `b` in cluster `i`: one in `driftEvery` of each cluster's
 * objects (exactly, when bundles × objects is a multiple of it), spread over bundles and kinds by
 * the cluster's number; one in ten of those missing and one in ten in conflict.
 */
export function fleetDriftState(shape: DriftFleetShape, i: number, b: number, j: number): DriftState {
  if ((i * 37 + b * shape.objects + j) % shape.driftEvery !== 0) return DriftState.IN_SYNC;
  const pick = (i + b) % 10;
  return pick === 3 ? DriftState.MISSING : pick === 7 ? DriftState.CONFLICT : DriftState.DRIFTED;
}

/** The whole status of cluster `i`. */
export function fleetStatus(shape: DriftFleetShape, i: number, now: Date): StatusReport {
  const seen = timestampFromDate(now);
  return create(StatusReportSchema, {
    observedRevision: revision,
    observedGeneration: 1n,
    agentVersion: "bench",
    reportedAt: seen,
    bundles: Array.from({ length: shape.bundles }, (_, b) => {
      const resources = Array.from({ length: shape.objects }, (_, j) => {
        const state = fleetDriftState(shape, i, b, j);
        const { group, kind } = kinds[j % kinds.length] ?? kinds[0];
        const manager = managers[(i + j) % managers.length] ?? "kubectl";
        const drifting = state !== DriftState.IN_SYNC;
        return {
          group,
          version: "v1",
          kind,
          namespace: `team-${b}`,
          name: `app-${j}`,
          sync: drifting ? SyncState.OUT_OF_SYNC : SyncState.SYNCED,
          health: HealthState.HEALTHY,
          driftState: state,
          drift:
            state === DriftState.DRIFTED || state === DriftState.CONFLICT
              ? [
                  { path: "/spec/replicas", desired: "3", live: String(4 + (i % 5)), manager },
                  { path: "/metadata/labels/team", desired: `"team-${b}"`, live: '"ops"', manager },
                ]
              : [],
          ...(drifting ? { driftFirstSeen: seen, driftLastSeen: seen } : {}),
        };
      });
      const count = (s: DriftState) => resources.filter((r) => r.driftState === s).length;
      return {
        name: `bundle-${String(b).padStart(2, "0")}`,
        digest: `${revision}${b}`,
        revision,
        sync: SyncState.SYNCED,
        health: HealthState.HEALTHY,
        healthRevision: revision,
        driftMode: b % 2 ? DriftMode.REPORT : DriftMode.CORRECT,
        resources,
        resourceCount: resources.length,
        driftedCount: resources.length - count(DriftState.IN_SYNC),
        missingCount: count(DriftState.MISSING),
        conflictCount: count(DriftState.CONFLICT),
      };
    }),
  });
}

/** What the drift API must list for the clusters `selected` picks, in its order: "cluster/bundle/kind/name state". */
export function expectedDrift(shape: DriftFleetShape, selected: (labels: Record<string, string>) => boolean): string[] {
  const out: Array<{ key: string; sort: string[] }> = [];
  const stateNames: Partial<Record<DriftState, string>> = { [DriftState.DRIFTED]: "drifted", [DriftState.MISSING]: "missing", [DriftState.CONFLICT]: "conflict" };
  for (let i = 0; i < shape.clusters; i++) {
    const cluster = fleetCluster(i);
    if (!selected(cluster.labels)) continue;
    for (let b = 0; b < shape.bundles; b++) {
      for (let j = 0; j < shape.objects; j++) {
        const state = stateNames[fleetDriftState(shape, i, b, j)];
        if (state === undefined) continue;
        const { group, kind } = kinds[j % kinds.length] ?? kinds[0];
        const bundle = `bundle-${String(b).padStart(2, "0")}`;
        out.push({ key: `${cluster.name}/${bundle}/${kind}/app-${j} ${state}`, sort: [cluster.name, bundle, group, kind, `team-${b}`, `app-${j}`] });
      }
    }
  }
  const compare = (a: string[], b: string[]): number => {
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return (a[k] ?? "") < (b[k] ?? "") ? -1 : 1;
    return 0;
  };
  return out.sort((a, b) => compare(a.sort, b.sort)).map((e) => e.key);
}
