// Conversions from stored records to what the API shows.
import { ConditionStatus, timestampDate, type StatusReport } from "@gitfleet/proto";
import type { BundleError } from "../delivery-contract.js";
import { clusterStale, type ClusterRecord } from "../store/clusters.js";
import type { RegistrationToken } from "../store/registration-tokens.js";
import type { ClusterDetail, ClusterSummary, TokenView } from "./schemas.js";
import { bundleStateView, enumName } from "./status-views.js";

/**
 * The API view of a token at `now`: everything but the hash and pending uses, plus its state and
 * `clusterIds`, the clusters registered with it (see {@link clustersByToken}).
 */
export function tokenView(token: RegistrationToken, now: Date, clusterIds: readonly string[]): TokenView {
  const state: TokenView["state"] = token.revoked
    ? "revoked"
    : Date.parse(token.expiresAt) <= now.getTime()
      ? "expired"
      : token.uses >= token.maxUses
        ? "used-up"
        : "active";
  return {
    id: token.id,
    description: token.description,
    labels: token.labels,
    allowedLabels: token.allowedLabels ?? {},
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    maxUses: token.maxUses,
    uses: token.uses,
    revoked: token.revoked,
    ...(token.revokedAt !== undefined ? { revokedAt: token.revokedAt } : {}),
    state,
    clusterIds: [...clusterIds],
  };
}

/** The ids of the clusters registered with each token, oldest first. */
export function clustersByToken(clusters: readonly ClusterRecord[]): Map<string, string[]> {
  const sorted = [...clusters].sort((a, b) => a.registeredAt.localeCompare(b.registeredAt) || a.id.localeCompare(b.id));
  const byToken = new Map<string, string[]>();
  for (const cluster of sorted) {
    const ids = byToken.get(cluster.registrationTokenId);
    if (ids) ids.push(cluster.id);
    else byToken.set(cluster.registrationTokenId, [cluster.id]);
  }
  return byToken;
}

/**
 * The API view of a cluster. `connected` also needs a recent lastSeen, so a
 * replica that died with streams open cannot leave clusters connected forever.
 */
export function clusterSummary(cluster: ClusterRecord, now: Date, staleAfterMs: number): ClusterSummary {
  const stale = clusterStale(cluster, now, staleAfterMs);
  return {
    id: cluster.id,
    name: cluster.name,
    labels: cluster.labels,
    registeredAt: cluster.registeredAt,
    lastSeen: cluster.lastSeen,
    connected: cluster.connected && !stale,
    stale,
    observedRevision: cluster.observedRevision,
    agentVersion: cluster.agentVersion,
    kubernetesVersion: cluster.kubernetesVersion,
  };
}

/** A cluster with its latest status report and the delivery part's errors. */
export function clusterDetail(
  cluster: ClusterRecord,
  report: StatusReport | undefined,
  errors: readonly BundleError[],
  now: Date,
  staleAfterMs: number,
): ClusterDetail {
  const summary = clusterSummary(cluster, now, staleAfterMs);
  return {
    ...summary,
    variables: cluster.variables ?? {},
    observedGeneration: cluster.observedGeneration,
    credentialsExpireAt: cluster.credentialsExpireAt,
    reportedAt: report?.reportedAt ? timestampDate(report.reportedAt).toISOString() : null,
    bundles: (report?.bundles ?? []).map((b) => bundleStateView(b, summary.stale)),
    conditions: (report?.conditions ?? []).map((c) => ({
      type: c.type,
      status: enumName(ConditionStatus, c.status),
      reason: c.reason,
      message: c.message,
    })),
    errors: errors.map(bundleErrorView),
  };
}

/** A delivery error as the API shows it: only the documented fields, without undefined ones. */
export function bundleErrorView(e: BundleError): ClusterDetail["errors"][number] {
  return {
    bundle: e.bundle,
    ...(e.target !== undefined ? { target: e.target } : {}),
    message: e.message,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.commit !== undefined ? { commit: e.commit } : {}),
    ...(e.path !== undefined ? { path: e.path } : {}),
    ...(e.file !== undefined ? { file: e.file } : {}),
    ...(e.line !== undefined ? { line: e.line } : {}),
  };
}
