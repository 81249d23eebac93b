// TypeBox schemas of what agents report, as the API shows it: bundle and resource states with
// their drift. Shared by the cluster detail and the drift API.
import { Type, type Static } from "@fastify/type-provider-typebox";

const Timestamp = Type.String({ format: "date-time" });

/** A Kubernetes object named by its apiVersion, kind, namespace and name. */
export const ResourceRefView = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  namespace: Type.String({ description: '"" for cluster-scoped objects.' }),
  name: Type.String(),
});

/** One drifted field. */
export const DriftedFieldView = Type.Object({
  path: Type.String({ description: "JSON pointer (RFC 6901) of the field." }),
  desired: Type.String({ description: 'The value in Git, JSON-encoded; "" when absent or redacted.' }),
  live: Type.String({ description: 'The value in the cluster, JSON-encoded; "" when absent or redacted.' }),
  manager: Type.String({ description: 'The field manager that wrote the live value (e.g. kubectl-edit); "" when none owns it.' }),
  redacted: Type.Optional(Type.Boolean({ description: "The values are withheld (fields of Secrets never leave the cluster)." })),
  truncated: Type.Optional(Type.Boolean({ description: "A value was cut to bound the agent's message; the cluster has the rest." })),
});

/** Sync and health, shown as unknown while the cluster is stale. */
const ReportedState = {
  sync: Type.String({ description: "synced, out-of-sync, applying, failed, pruned, unspecified; unknown while the cluster is stale." }),
  health: Type.String({ description: "healthy, progressing, degraded, missing, unknown or unspecified; unknown while the cluster is stale." }),
  lastReported: Type.Optional(
    Type.Object(
      { sync: Type.String(), health: Type.String() },
      { description: "Only while the cluster is stale: the sync and health it last reported, which may no longer hold." },
    ),
  ),
};

const DriftStateText = Type.String({ description: "in-sync, drifted, missing, conflict, or unspecified (not assessed)." });

/** One object of a bundle in a cluster. */
export const ResourceStateView = Type.Object({
  resource: ResourceRefView,
  ...ReportedState,
  drift: DriftStateText,
  fields: Type.Array(DriftedFieldView, { description: "The drifted fields, by path." }),
  fieldsOmitted: Type.Integer({ description: "Drifted fields the agent left out of `fields` to bound its message." }),
  firstSeen: Type.Union([Timestamp, Type.Null()], { description: "When the current drift state was first seen." }),
  lastSeen: Type.Union([Timestamp, Type.Null()]),
  corrections: Type.Integer({ description: "Corrections of the object within the agent's loop-guard window." }),
  message: Type.String(),
});

/** One bundle in a cluster. */
export const BundleStateView = Type.Object({
  name: Type.String(),
  digest: Type.String(),
  revision: Type.String(),
  ...ReportedState,
  healthRevision: Type.String({ description: 'The revision whose rollout `health` describes; "" when never applied.' }),
  driftMode: Type.String({ description: "correct, report, or unspecified." }),
  message: Type.String(),
  resourceCount: Type.Integer(),
  driftedCount: Type.Integer({ description: "Objects drifted, missing or in conflict." }),
  missingCount: Type.Integer(),
  conflictCount: Type.Integer(),
  omittedResources: Type.Integer({ description: "Objects in sync and healthy left out of `resources` to bound the report; counted above." }),
  lastAppliedAt: Type.Union([Timestamp, Type.Null()]),
  resources: Type.Array(ResourceStateView),
});
/** One bundle in a cluster. */
export type BundleStateView = Static<typeof BundleStateView>;
