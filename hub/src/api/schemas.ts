// TypeBox schemas of the admin API: validation at the edge and the OpenAPI document.
import { Type, type Static } from "@fastify/type-provider-typebox";
import { BundleStateView } from "./status-schemas.js";

/** Every error body: `{ error: { code, message } }`. */
export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { description: "An error: a machine-readable code and a message that says what to do." },
);

const Labels = Type.Record(Type.String(), Type.String(), { description: "Kubernetes-style labels." });
const AllowedLabels = Type.Record(Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 64 }), {
  description:
    'Label keys an agent may set at registration besides the preset labels, each with the values it may take ("*": any value). Keys not named here are refused.',
});
const Timestamp = Type.String({ format: "date-time" });

/** Body of POST /api/v1/registration-tokens. */
export const CreateTokenBody = Type.Object(
  {
    ttl: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Integer({ minimum: 1 })], {
        description: 'How long the token can be used: seconds, or units like "1h", "30m"; default "1h".',
      }),
    ),
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Registrations allowed; default 1." })),
    labels: Type.Optional({ ...Labels, description: "Preset labels: every cluster registered with the token gets them, and no agent can change them." }),
    allowedLabels: Type.Optional(AllowedLabels),
    description: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
/** The validated body of POST /api/v1/registration-tokens. */
export type CreateTokenBody = Static<typeof CreateTokenBody>;

/** A registration token as the API shows it (never its secret or hash). */
export const TokenView = Type.Object({
  id: Type.String(),
  description: Type.String(),
  labels: Labels,
  allowedLabels: AllowedLabels,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  maxUses: Type.Integer(),
  uses: Type.Integer(),
  revoked: Type.Boolean(),
  revokedAt: Type.Optional(Timestamp),
  state: Type.Union([Type.Literal("active"), Type.Literal("expired"), Type.Literal("revoked"), Type.Literal("used-up")]),
  clusterIds: Type.Array(Type.String(), { description: "Clusters registered with the token." }),
});
/** A registration token as the API shows it. */
export type TokenView = Static<typeof TokenView>;

/** Answer of POST /api/v1/registration-tokens: the token with its secret, shown this once. */
export const CreatedTokenView = Type.Intersect([
  TokenView,
  Type.Object({ secret: Type.String({ description: "The token secret (gf_reg_...); shown only in this response." }) }),
]);

/** Path parameters of /api/v1/registration-tokens/{id}. */
export const TokenIdParams = Type.Object({ id: Type.String({ pattern: "^t[a-z2-7]{20}$" }) });

/** A cluster in lists. */
export const ClusterSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  labels: Labels,
  registeredAt: Timestamp,
  lastSeen: Type.Union([Timestamp, Type.Null()]),
  connected: Type.Boolean({ description: "A Connect stream is open and the agent was heard from recently." }),
  stale: Type.Boolean({
    description: "The agent was not heard from for three heartbeat intervals (or never was): its bundles' sync and health show as unknown.",
  }),
  observedRevision: Type.String(),
  agentVersion: Type.String(),
  kubernetesVersion: Type.String(),
});
/** A cluster in lists. */
export type ClusterSummary = Static<typeof ClusterSummary>;

const ConditionView = Type.Object({
  type: Type.String(),
  status: Type.String(),
  reason: Type.String(),
  message: Type.String(),
});

const BundleErrorView = Type.Object({
  bundle: Type.String(),
  target: Type.Optional(Type.String({ description: "The bundle's target the cluster matched." })),
  message: Type.String(),
  reason: Type.Optional(Type.String()),
  commit: Type.Optional(Type.String()),
  path: Type.Optional(Type.String()),
  file: Type.Optional(Type.String()),
  line: Type.Optional(Type.Integer()),
});

/** One cluster with its reported state. */
export const ClusterDetail = Type.Intersect([
  ClusterSummary,
  Type.Object({
    variables: Type.Record(Type.String(), Type.String(), { description: "The cluster's own variables for substitution (not for secrets)." }),
    observedGeneration: Type.Integer(),
    credentialsExpireAt: Type.Union([Timestamp, Type.Null()]),
    reportedAt: Type.Union([Timestamp, Type.Null()]),
    bundles: Type.Array(BundleStateView),
    conditions: Type.Array(ConditionView),
    errors: Type.Array(BundleErrorView, { description: "Errors of the hub's delivery for this cluster." }),
  }),
]);
/** One cluster with its reported state. */
export type ClusterDetail = Static<typeof ClusterDetail>;

/** A bundle of a cluster in lists: its reported sync, health and drifted objects, no resources. */
export const ClusterBundleCell = Type.Object({
  name: Type.String(),
  sync: Type.String({ description: "unknown while the cluster is stale." }),
  health: Type.String({ description: "unknown while the cluster is stale." }),
  revision: Type.String(),
  drifted: Type.Integer({ description: "Objects drifted, missing or in conflict." }),
});

/** A cluster in lists, with its bundles when asked for (`bundles=true`). */
export const ClusterListItem = Type.Intersect([ClusterSummary, Type.Object({ bundles: Type.Optional(Type.Array(ClusterBundleCell)) })]);

/** Answer of GET /api/v1/clusters. */
export const ClusterList = Type.Object({
  items: Type.Array(ClusterListItem),
  total: Type.Optional(Type.Integer({ description: "Clusters the selector matched, on every page." })),
  continue: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: "Pass as `continue` for the next page; null on the last one." })),
});
/** Answer of GET /api/v1/registration-tokens. */
export const TokenList = Type.Object({ items: Type.Array(TokenView) });
/** Query of GET /api/v1/clusters. */
export const ClusterListQuery = Type.Object({
  selector: Type.Optional(Type.String({ maxLength: 4096, description: "Kubernetes label selector, e.g. env=prod,region in (eu,us)." })),
  clusterSelector: Type.Optional(Type.String({ maxLength: 4096, description: "The same as `selector`, named as the drift API names it; give one of them." })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Most clusters on a page; without it, every cluster on one page." })),
  continue: Type.Optional(Type.String({ maxLength: 512, description: "The `continue` of the previous page." })),
  bundles: Type.Optional(Type.Boolean({ description: "Add each cluster's bundles with sync, health and drifted objects (the overview grid)." })),
});
/** Path parameters of /api/v1/clusters/{name}. */
export const ClusterNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });

// `nullable` rather than a union with null: the API coerces types, and would turn null into "" for a union.
const StringOrNull = Type.Unsafe<string | null>({ type: "string", nullable: true, maxLength: 4096 });
const PatchMap = (what: string) =>
  Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 317 }), StringOrNull, {
      description: `${what}: a string sets a key, null removes it, keys not named stay as they are (JSON merge patch).`,
    }),
  );

/** Body of PATCH /api/v1/clusters/{name}. */
export const UpdateClusterBody = Type.Object(
  {
    labels: PatchMap("Labels"),
    variables: PatchMap("Variables for substitution in the cluster's bundles; they override a target's variables"),
  },
  { additionalProperties: false },
);
/** The validated body of PATCH /api/v1/clusters/{name}. */
export type UpdateClusterBody = Static<typeof UpdateClusterBody>;

/** Answer of DELETE /api/v1/clusters/{name}. */
export const DeletedClusterView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  natsCredentialsValidUntil: Type.Union([Timestamp, Type.Null()]),
  note: Type.String(),
});
/** Answer of DELETE /api/v1/clusters/{name}. */
export type DeletedClusterView = Static<typeof DeletedClusterView>;

/** Answer of the webhook. */
export const Accepted = Type.Object({ accepted: Type.Boolean() });
/** Answer of /healthz and /readyz. */
export const Health = Type.Object({
  status: Type.String({ description: '"ok" (/healthz), "ready" or "not ready" (/readyz).' }),
  role: Type.Optional(
    Type.Union([Type.Literal("leader"), Type.Literal("follower")], {
      description: "The replica's delivery role: the leader follows Git and publishes desired state; followers serve the same API from its view.",
    }),
  ),
  checks: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description:
        'Check name to "ok" or what is wrong: nats (connected), clusters and status (stores loaded), git (the fleet repository reachable, or the last fetch error; reported but does not make the replica unready).',
    }),
  ),
});

/** GET /api/v1/version: the hub's version and the agent versions it registers. */
export const VersionView = Type.Object({
  product: Type.Literal("gitfleet"),
  version: Type.String({ description: "The hub's version, the one `gitfleet-hub --version` prints." }),
  acceptedAgentVersions: Type.String({ description: 'Agent versions Register accepts, e.g. "0.1.x or 0.2.x".' }),
});
/** GET /api/v1/version. */
export type VersionView = Static<typeof VersionView>;

const BundleClusterView = Type.Object({
  name: Type.String(),
  id: Type.String(),
  target: Type.String(),
  state: Type.String({
    description:
      "error (the hub could not resolve the bundle for this cluster; see errors), stale (the cluster was not heard from for three heartbeats), " +
      "pending (the agent has not applied the desired digest yet), or the agent's sync state at the desired digest: synced, out-of-sync, applying, failed.",
  }),
  desiredDigest: Type.Optional(Type.String({ description: "Digest the cluster should apply; absent while the bundle fails for it." })),
  digest: Type.Optional(Type.String({ description: "Digest the agent last applied." })),
  revision: Type.Optional(Type.String({ description: "Commit the agent's applied payload came from." })),
  sync: Type.Optional(Type.String({ description: "unknown while the cluster is stale." })),
  health: Type.Optional(Type.String({ description: "unknown while the cluster is stale." })),
  lastReported: Type.Optional(Type.Object({ sync: Type.String(), health: Type.String() }, { description: "Only while the cluster is stale." })),
  message: Type.Optional(Type.String()),
  errors: Type.Array(BundleErrorView),
});

const BundleTargetView = Type.Object({
  name: Type.String(),
  clusterSelector: Type.String({ description: 'kubectl selector syntax; "" matches every cluster.' }),
  overlay: Type.String(),
  variables: Type.Record(Type.String(), Type.String()),
  clusters: Type.Array(Type.String(), { description: "Names of the clusters whose first matching target this is." }),
});

const IgnoreRuleView = Type.Union([
  Type.String({ description: 'A JSON pointer ignored on every object of the bundle; a "*" segment matches any key or list index.' }),
  Type.Object(
    {
      path: Type.String({ description: "JSON pointer of the field." }),
      group: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
    },
    { description: "A JSON pointer ignored on the objects the other fields match (absent fields match any)." },
  ),
]);

/** A bundle in GET /api/v1/bundles. */
export const BundleSummary = Type.Object({
  name: Type.String(),
  path: Type.String(),
  namespace: Type.Optional(Type.String()),
  drift: Type.String(),
  prune: Type.Boolean(),
  ignore: Type.Array(IgnoreRuleView, { description: "Fields drift detection and correction leave alone, as fleet.yaml writes them." }),
  targets: Type.Array(BundleTargetView),
  clusterCount: Type.Integer({ description: "Clusters the bundle goes to." }),
  states: Type.Record(Type.String(), Type.Integer(), { description: "How many of its clusters are in each state, e.g. {synced: 3, error: 1}." }),
});
/** A bundle in GET /api/v1/bundles. */
export type BundleSummary = Static<typeof BundleSummary>;

/** Answer of GET /api/v1/bundles/{name}: the bundle with the state of each of its clusters. */
export const BundleDetail = Type.Intersect([
  BundleSummary,
  Type.Object({ commit: Type.String({ description: "The commit the bundle was resolved at." }), clusters: Type.Array(BundleClusterView) }),
]);
/** Answer of GET /api/v1/bundles/{name}. */
export type BundleDetail = Static<typeof BundleDetail>;

/** Answer of GET /api/v1/bundles. */
export const BundleList = Type.Object({
  commit: Type.Union([Type.String(), Type.Null()], { description: "The last commit resolved; null before the first." }),
  error: Type.Optional(Type.String({ description: "Why the head commit is not resolved (e.g. fleet.yaml invalid); bundles show the last good one." })),
  items: Type.Array(BundleSummary),
});
/** Answer of GET /api/v1/bundles. */
export type BundleList = Static<typeof BundleList>;

/** Path parameters of /api/v1/bundles/{name}. */
export const BundleNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
