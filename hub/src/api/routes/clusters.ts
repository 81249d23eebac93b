// /api/v1/clusters: list with a label selector (a page at a time, with bundle states if asked), show one, update its labels and variables,
// delete (revoke) one.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BundleError, BundleErrorSource } from "../../delivery-contract.js";
import { HubError } from "../../errors.js";
import { parseSelector } from "../../labels/selector.js";
import type { ClusterRecord, ClusterStore } from "../../store/clusters.js";
import type { StatusStore } from "../../store/status.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { applyClusterUpdate } from "../cluster-update.js";
import {
  ClusterDetail,
  ClusterList,
  ClusterListQuery,
  ClusterNameParams,
  DeletedClusterView,
  ErrorBody,
  UpdateClusterBody,
} from "../schemas.js";
import { bundleCells, clusterPage } from "../cluster-list.js";
import { clusterDetail, clusterSummary } from "../views.js";

/** Removes a cluster from the fleet and revokes what it holds. */
export type ClusterRemover = (cluster: ClusterRecord) => Promise<DeletedClusterView>;

/** Options of {@link clusterRoutes}. */
export interface ClusterRoutesOptions {
  clusters: ClusterStore;
  status: StatusStore;
  bundleErrors: BundleErrorSource;
  removeCluster: ClusterRemover;
  auth: ApiAuthenticator;
  /** A cluster not heard from for this long is stale (and not connected). */
  staleAfterMs: number;
  now: () => Date;
}

const security = [{ bearer: [] }];

/** Cluster routes. */
export const clusterRoutes: FastifyPluginAsyncTypebox<ClusterRoutesOptions> = (app, options) => {
  const { clusters, status, auth, now, staleAfterMs } = options;
  const viewer = requireRole(auth, "viewer");
  const admin = requireRole(auth, "admin");

  const byName = (name: string): ClusterRecord => {
    const cluster = clusters.getByName(name);
    if (!cluster) throw new HubError("not-found", `cluster ${name} is not registered`);
    return cluster;
  };

  app.get(
    "/clusters",
    {
      onRequest: viewer,
      schema: {
        summary: "List clusters, optionally filtered by a label selector",
        tags: ["clusters"],
        security,
        querystring: ClusterListQuery,
        response: { 200: ClusterList, 400: ErrorBody, 401: ErrorBody },
      },
    },
    (request) => {
      const { selector: text, clusterSelector, limit, continue: after, bundles } = request.query;
      if (text !== undefined && clusterSelector !== undefined && text !== clusterSelector) {
        throw new HubError("invalid-argument", "selector and clusterSelector are the same parameter: give one of them");
      }
      const source = clusterSelector ?? text;
      const selector = source ? parseSelector(source) : undefined;
      const at = now();
      const page = clusterPage(clusters.list(selector), limit, after);
      const items = page.items.map((c) => {
        const summary = clusterSummary(c, at, staleAfterMs);
        return bundles ? { ...summary, bundles: bundleCells(status.get(c.id)?.bundles ?? [], summary.stale) } : summary;
      });
      return Promise.resolve({ items, total: page.total, continue: page.continue });
    },
  );

  app.get(
    "/clusters/:name",
    {
      onRequest: viewer,
      schema: {
        summary: "Show a cluster: labels, connection, observed revision, each bundle's health and drift with per-resource state, and errors",
        tags: ["clusters"],
        security,
        params: ClusterNameParams,
        response: { 200: ClusterDetail, 401: ErrorBody, 404: ErrorBody },
      },
    },
    (request) => {
      const cluster = byName(request.params.name);
      let errors: readonly BundleError[];
      try {
        errors = options.bundleErrors.errorsFor(cluster.id);
      } catch (err) {
        request.log.warn({ err, cluster: cluster.name }, "bundle error source failed");
        errors = [];
      }
      return Promise.resolve(clusterDetail(cluster, status.get(cluster.id), errors, now(), staleAfterMs));
    },
  );

  app.patch(
    "/clusters/:name",
    {
      onRequest: admin,
      schema: {
        summary: "Set or remove labels and variables of a cluster",
        description:
          "A JSON merge patch of the cluster's labels and variables: a string sets a key, null removes it, keys not named stay. " +
          "Labels decide which bundle targets the cluster matches; variables are substituted in its bundles (${name}) and override " +
          "a target's variables of the same name. The hub resolves and publishes the cluster's desired state again at once. " +
          "Variables are visible to every viewer: do not put secrets in them.",
        tags: ["clusters"],
        security,
        params: ClusterNameParams,
        body: UpdateClusterBody,
        response: { 200: ClusterDetail, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const cluster = byName(request.params.name);
      // Validated before the compare-and-set loop, so a bad body never retries.
      applyClusterUpdate(cluster, request.body);
      const updated = await clusters.update(cluster.id, (current) => applyClusterUpdate(current, request.body));
      request.log.info({ cluster: updated.name, labels: updated.labels, variables: Object.keys(updated.variables ?? {}) }, "cluster updated");
      return clusterDetail(updated, status.get(updated.id), options.bundleErrors.errorsFor(updated.id), now(), staleAfterMs);
    },
  );

  app.delete(
    "/clusters/:name",
    {
      onRequest: admin,
      schema: {
        summary: "Delete a cluster and revoke its credentials",
        description:
          "Deletes the record, closes the agent's stream, refuses its gRPC token and purges its desired state. " +
          "When the hub holds the operator signing key and a system account user, its NATS user is revoked at once " +
          "(the agent is disconnected and refused); otherwise its NATS user JWT stays valid until natsCredentialsValidUntil, " +
          "but its key space is empty by then and it grants nothing else.",
        tags: ["clusters"],
        security,
        params: ClusterNameParams,
        response: { 200: DeletedClusterView, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const result = await options.removeCluster(byName(request.params.name));
      request.log.info({ cluster: result.name, clusterId: result.id }, "cluster deleted");
      return result;
    },
  );
  return Promise.resolve();
};
