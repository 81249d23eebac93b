// TypeBox schemas of the drift API: GET /api/v1/drift and GET /api/v1/drift/summary.
import { Type, type Static } from "@fastify/type-provider-typebox";
import { DriftedFieldView, ResourceRefView } from "./status-schemas.js";

/** Most items a drift page may hold, and how many it holds unless asked. */
export const driftPageLimits = { default: 500, max: 5000 } as const;

const Name = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 253, description }));

const filters = {
  clusterSelector: Type.Optional(Type.String({ maxLength: 4096, description: "Kubernetes label selector over cluster labels, e.g. region=eu,env in (prod)." })),
  bundle: Name("Only this bundle."),
  kind: Name("Only objects of this kind (any case), e.g. Deployment."),
  namespace: Name("Only objects in this namespace."),
  name: Name("Only objects with this name."),
  state: Type.Optional(Type.String({ maxLength: 64, description: "drifted, missing or conflict; several separated by commas. Default: all three." })),
  manager: Name("Only objects with a field that this field manager wrote, e.g. kubectl-edit."),
  since: Type.Optional(
    Type.String({ maxLength: 64, description: 'Only drift first seen at or after this: an RFC 3339 time, or a duration back from now ("1h", "30m").' }),
  ),
};

/** Query of GET /api/v1/drift. */
export const DriftQuery = Type.Object(
  {
    ...filters,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: driftPageLimits.max, description: `Most items in the page; default ${driftPageLimits.default}.` }),
    ),
    continue: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: "The `continue` of the previous page." })),
  },
  { additionalProperties: false },
);
/** Query of GET /api/v1/drift. */
export type DriftQuery = Static<typeof DriftQuery>;

/** Query of GET /api/v1/drift/summary. */
export const DriftSummaryQuery = Type.Object(
  {
    groupBy: Type.Union([Type.Literal("cluster"), Type.Literal("bundle"), Type.Literal("kind"), Type.Literal("manager")], {
      description: "What to count drift per.",
    }),
    ...filters,
  },
  { additionalProperties: false },
);
/** Query of GET /api/v1/drift/summary. */
export type DriftSummaryQuery = Static<typeof DriftSummaryQuery>;

const Totals = Type.Object(
  {
    clusters: Type.Integer({ description: "Clusters the selector matched." }),
    clustersDrifted: Type.Integer({ description: "Of those, clusters with at least one object in the result." }),
    objectsDrifted: Type.Integer({ description: "Objects in the whole result, over every page." }),
    clustersStale: Type.Integer({ description: "Clusters the selector matched that are stale: their drift is the last they reported." }),
  },
  { description: "Exact totals of the whole filtered result." },
);

// `nullable` rather than a union with null: the serializer checks every union member against
// each value, which made a page of 500 items several times slower to write.
const Timestamp = Type.Unsafe<string | null>({ type: "string", format: "date-time", nullable: true });

const DriftItem = Type.Object({
  cluster: Type.String(),
  bundle: Type.String(),
  resource: ResourceRefView,
  state: Type.String({ description: "drifted, missing or conflict." }),
  fields: Type.Array(DriftedFieldView),
  fieldsOmitted: Type.Integer({ description: "Drifted fields the agent left out of `fields` to bound its message." }),
  revision: Type.String({ description: "The bundle's revision in that cluster." }),
  firstSeen: Timestamp,
  lastSeen: Timestamp,
  corrections: Type.Integer({ description: "Corrections within the agent's loop-guard window." }),
  stale: Type.Boolean({ description: "The cluster is stale; this is the last drift it reported." }),
});

/** Answer of GET /api/v1/drift. */
export const DriftPage = Type.Object({
  items: Type.Array(DriftItem),
  totals: Totals,
  continue: Type.Unsafe<string | null>({ type: "string", nullable: true, description: "Pass as `continue` for the next page; null on the last one." }),
});

/** Answer of GET /api/v1/drift/summary. */
export const DriftSummary = Type.Object({
  groupBy: Type.String(),
  groups: Type.Array(
    Type.Object({
      key: Type.String({ description: 'The cluster, bundle, kind or manager; "" for objects no manager is named for (e.g. missing ones).' }),
      clusters: Type.Integer(),
      objects: Type.Integer(),
      drifted: Type.Integer(),
      missing: Type.Integer(),
      conflict: Type.Integer(),
    }),
    { description: "Sorted by key." },
  ),
  totals: Totals,
});
