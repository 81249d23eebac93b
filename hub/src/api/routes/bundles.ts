// /api/v1/bundles: the bundles of fleet.yaml at the last good commit, their targets, the clusters
// each target took, and each cluster's state and errors.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BundleErrorSource, FleetBundleSource } from "../../delivery-contract.js";
import { HubError } from "../../errors.js";
import type { DriftIndex } from "../../drift/index.js";
import type { ClusterStore } from "../../store/clusters.js";
import { requireRole, type ApiAuthenticator } from "../auth.js";
import { bundleDetail, bundleSummary, type BundleViewSources } from "../bundle-views.js";
import { BundleDetail, BundleList, BundleNameParams, ErrorBody } from "../schemas.js";

/** Options of {@link bundleRoutes}. */
export interface BundleRoutesOptions {
  clusters: ClusterStore;
  /** Each cluster's bundle states and staleness, from memory. */
  drift: DriftIndex;
  bundleErrors: BundleErrorSource;
  fleet: FleetBundleSource;
  auth: ApiAuthenticator;
}

const security = [{ bearer: [] }];

/** Bundle routes (viewer). */
export const bundleRoutes: FastifyPluginAsyncTypebox<BundleRoutesOptions> = (app, options) => {
  const viewer = requireRole(options.auth, "viewer");
  // One pass over the cluster index per request, not one per cluster.
  const sources = (): BundleViewSources => {
    const names = new Map(options.clusters.list().map((c) => [c.id, c.name]));
    return {
      clusterName: (id) => names.get(id),
      bundle: (id, name) => options.drift.bundle(id, name),
      stale: (id) => options.drift.isStale(id),
      errors: (id) => options.bundleErrors.errorsFor(id),
    };
  };

  app.get(
    "/bundles",
    {
      onRequest: viewer,
      schema: {
        summary: "List the bundles of fleet.yaml with their targets, the clusters each target takes, and a count of their states",
        tags: ["bundles"],
        security,
        response: { 200: BundleList, 401: ErrorBody },
      },
    },
    () => {
      const fleet = options.fleet.bundles();
      if (fleet === undefined) return Promise.resolve({ commit: null, items: [] });
      const view = sources();
      return Promise.resolve({
        commit: fleet.commit,
        ...(fleet.error !== undefined ? { error: fleet.error } : {}),
        items: fleet.bundles.map((bundle) => bundleSummary(bundle, view)),
      });
    },
  );

  app.get(
    "/bundles/:name",
    {
      onRequest: viewer,
      schema: {
        summary: "Show a bundle: its targets, and per cluster the target it matched, the desired and applied digests, sync, health and errors",
        tags: ["bundles"],
        security,
        params: BundleNameParams,
        response: { 200: BundleDetail, 401: ErrorBody, 404: ErrorBody },
      },
    },
    (request) => {
      const fleet = options.fleet.bundles();
      const bundle = fleet?.bundles.find((b) => b.name === request.params.name);
      if (fleet === undefined || bundle === undefined) {
        const where = fleet === undefined ? "no commit of the fleet repository is resolved yet" : `fleet.yaml at commit ${fleet.commit} has no such bundle`;
        throw new HubError("not-found", `bundle ${request.params.name} is not known: ${where}`);
      }
      return Promise.resolve(bundleDetail(bundle, fleet.commit, sources()));
    },
  );
  return Promise.resolve();
};

