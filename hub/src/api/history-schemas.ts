// TypeBox schemas of a cluster's history: GET /api/v1/clusters/{name}/history.
import { Type, type Static } from "@fastify/type-provider-typebox";

/** How many entries a history answer holds unless asked, and at most. */
export const historyLimits = { default: 20, max: 1000 } as const;

/** Query of GET /api/v1/clusters/{name}/history. */
export const ClusterHistoryQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: historyLimits.max, description: `Most entries, newest first; default ${historyLimits.default}. The hub keeps a bounded number per cluster.` }),
    ),
  },
  { additionalProperties: false },
);
/** Query of GET /api/v1/clusters/{name}/history. */
export type ClusterHistoryQuery = Static<typeof ClusterHistoryQuery>;

/** One revision a cluster reached. */
export const HistoryEntryView = Type.Object({
  revision: Type.String({ description: "The commit the cluster's desired state came from." }),
  reachedAt: Type.String({ format: "date-time", description: "When the cluster's agent reported it." }),
  subject: Type.Optional(Type.String({ description: "The commit's subject; absent for a commit the hub did not fetch." })),
  author: Type.Optional(Type.String({ description: "The commit's author; for a promotion, the API token's name." })),
  email: Type.Optional(Type.String()),
  committedAt: Type.Optional(Type.String({ format: "date-time", description: "The commit's author date." })),
  promotion: Type.Optional(Type.String({ description: "The promotion that made the commit (its Gitfleet-Promotion trailer)." })),
  bundles: Type.Array(
    Type.Object({
      name: Type.String(),
      digest: Type.String(),
      since: Type.String({ format: "date-time", description: "Since when the cluster has run this digest." }),
    }),
  ),
});

/** Answer of GET /api/v1/clusters/{name}/history. */
export const ClusterHistory = Type.Object({ cluster: Type.String(), items: Type.Array(HistoryEntryView) });
/** Answer of GET /api/v1/clusters/{name}/history. */
export type ClusterHistory = Static<typeof ClusterHistory>;
