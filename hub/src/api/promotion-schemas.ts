// TypeBox schemas of the promotion API: /api/v1/promotions and /api/v1/pipelines.
import { Type, type Static } from "@fastify/type-provider-typebox";

const dnsLabel = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
const Name = (description: string) => Type.String({ minLength: 1, maxLength: 63, pattern: dnsLabel, description });
const Timestamp = Type.String({ format: "date-time" });
const PromotionStateSchema = Type.Union(
  ["pending", "committed", "rolling-out", "verified", "failed", "rolled-back"].map((s) => Type.Literal(s)),
  { description: "pending → committed → rolling-out → verified | failed | rolled-back" },
);

/** Body of POST /api/v1/promotions. */
export const PromoteBody = Type.Object(
  {
    pipeline: Name("The pipeline, as fleet.yaml names it."),
    from: Name("The stage whose values are promoted."),
    to: Name("The stage after `from`."),
    dryRun: Type.Optional(Type.Boolean({ description: "Only show the gates, values, edits and diff; write nothing." })),
  },
  { additionalProperties: false },
);
/** Body of POST /api/v1/promotions. */
export type PromoteBody = Static<typeof PromoteBody>;

/** Body of POST /api/v1/promotions/{id}/rollback. */
export const RollbackBody = Type.Union([
  Type.Object({ dryRun: Type.Optional(Type.Boolean({ description: "Only show what the rollback would write." })) }, { additionalProperties: false }),
  Type.Null(),
]);

/** Query of GET /api/v1/promotions. */
export const PromotionListQuery = Type.Object(
  {
    pipeline: Type.Optional(Name("Only this pipeline's promotions.")),
    state: Type.Optional(PromotionStateSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Most records; default 100." })),
  },
  { additionalProperties: false },
);
/** Query of GET /api/v1/promotions. */
export type PromotionListQuery = Static<typeof PromotionListQuery>;

/** Path of the routes of one promotion. */
export const PromotionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[-a-z0-9]+$" }) });
/** Path of the routes of one pipeline. */
export const PipelineNameParams = Type.Object({ name: Name("The pipeline.") });

const PromotedValueView = Type.Object({
  kind: Type.String({ description: "image, field or file." }),
  file: Type.String({ description: "Repository-relative file." }),
  key: Type.String({ description: 'Image name, field path, or "" for a whole file.' }),
  value: Type.Optional(
    Type.Unsafe<string | undefined>({ type: "string", description: 'E.g. "registry.example.com/web:1.4.2"; a file\'s SHA-256. Absent when the stage has none.' }),
  ),
});

const EditView = Type.Object(
  {
    kind: Type.String({ description: "value or file." }),
    file: Type.String(),
    path: Type.Optional(Type.Unsafe<readonly unknown[]>({ type: "array", items: {}, description: "Map keys, list indexes, or {match, equals} list items." })),
    display: Type.Optional(Type.String({ description: 'E.g. "images[registry.example.com/web].newTag".' })),
    before: Type.Optional(Type.Unknown()),
    after: Type.Optional(Type.Unknown()),
  },
  { description: "One structured edit; absent before/after is an absent key or file." },
);

const FileDiffView = Type.Object({ file: Type.String(), diff: Type.String({ description: "Unified diff." }) });

const GateResultView = Type.Object({
  gate: Type.String({ description: "synced, healthy, no-drift, soak or min-clusters." }),
  passed: Type.Boolean(),
  message: Type.String(),
  clusters: Type.Array(Type.String(), { description: "Clusters it failed for." }),
});

const StageClusterView = Type.Object({
  name: Type.String(),
  synced: Type.Boolean(),
  healthy: Type.Boolean(),
  drifted: Type.Integer(),
  stale: Type.Boolean(),
  revision: Type.Optional(Type.String()),
  since: Type.Optional(Type.String()),
});

/** A stage's gates, evaluated. */
export const GateEvaluationView = Type.Object({
  stage: Type.String(),
  commit: Type.String({ description: "The commit the hub resolved." }),
  passed: Type.Boolean(),
  gates: Type.Array(GateResultView),
  clusters: Type.Array(StageClusterView),
  evaluatedAt: Timestamp,
});

/** A promotion or rollback record. */
export const PromotionView = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: "promotion or rollback." }),
  pipeline: Type.String(),
  bundle: Type.String(),
  from: Type.Object({ stage: Type.String(), commit: Type.String({ description: "The commit the values were read at." }) }),
  to: Type.Object({ stage: Type.String() }),
  author: Type.String({ description: 'The API token\'s name, or "gitfleet" for automatic ones.' }),
  automatic: Type.Boolean(),
  state: Type.String({ description: "pending, committed, rolling-out, verified, failed or rolled-back." }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  values: Type.Array(PromotedValueView, { description: "What the target stage gets." }),
  edits: Type.Array(EditView),
  diff: Type.Array(FileDiffView),
  gates: GateEvaluationView,
  commit: Type.Optional(Type.String()),
  parent: Type.Optional(Type.String()),
  rollbackOf: Type.Optional(Type.String()),
  rolledBackBy: Type.Optional(Type.String()),
  verification: Type.Optional(
    Type.Object({
      deadline: Timestamp,
      verifiedAt: Type.Optional(Timestamp),
      message: Type.Optional(Type.String()),
      clusters: Type.Optional(Type.Array(Type.Object({ name: Type.String(), state: Type.String(), message: Type.Optional(Type.String()) }))),
    }),
  ),
  message: Type.Optional(Type.String({ description: "Why it failed." })),
  transitions: Type.Array(Type.Object({ state: Type.String(), at: Timestamp, message: Type.Optional(Type.String()) })),
});

/** Answer of POST /api/v1/promotions (201) and GET /api/v1/promotions/{id}. */
export const PromotionBody = Type.Object({ promotion: PromotionView });

/** Answer of a dry run (200). */
export const DryRunBody = Type.Object({
  dryRun: Type.Literal(true),
  gates: GateEvaluationView,
  values: Type.Array(PromotedValueView),
  edits: Type.Array(EditView),
  diff: Type.Array(FileDiffView),
});

/** Answer of GET /api/v1/promotions. */
export const PromotionList = Type.Object({ items: Type.Array(PromotionView, { description: "Newest first." }) });

/** A 412 refusal: the error, and the gate evidence when gates did not pass. */
export const GateRefusalBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
  gates: Type.Optional(GateEvaluationView),
});

const HoldView = Type.Object({
  pipeline: Type.String(),
  since: Timestamp,
  reason: Type.String(),
  promotion: Type.Optional(Type.String()),
  rollback: Type.Optional(Type.String()),
});

const StageView = Type.Object({
  name: Type.String(),
  target: Type.String(),
  overlay: Type.String(),
  auto: Type.Boolean(),
  rollback: Type.String(),
  values: Type.Array(PromotedValueView, { description: "The promotable values the stage's overlay holds at the head commit." }),
  revision: Type.String({ description: "The commit the hub resolved the stage's clusters at." }),
  clusters: Type.Object({ total: Type.Integer(), synced: Type.Integer(), healthy: Type.Integer(), drifted: Type.Integer(), stale: Type.Integer() }),
  lastPromotion: Type.Unsafe<object | null>({
    type: "object",
    nullable: true,
    properties: {
      id: { type: "string" },
      kind: { type: "string" },
      state: { type: "string" },
      from: { type: "string" },
      author: { type: "string" },
      automatic: { type: "boolean" },
      commit: { type: "string" },
      updatedAt: { type: "string", format: "date-time" },
    },
    description: "The last promotion or rollback into the stage.",
  }),
  gates: Type.Object(
    { passed: Type.Boolean(), gates: Type.Array(GateResultView), evaluatedAt: Timestamp },
    { description: "The gates before a promotion out of this stage, now." },
  ),
});

/** Answer of GET /api/v1/pipelines/{name} and POST /api/v1/pipelines/{name}/resume. */
export const PipelineView = Type.Object({
  name: Type.String(),
  bundle: Type.String(),
  commit: Type.String({ description: "The head commit the values were read at." }),
  held: Type.Unsafe<object | null>({ ...HoldView, nullable: true, description: "Why auto-promotion is held; null when it is not." }),
  stages: Type.Array(StageView),
});

/** Answer of GET /api/v1/pipelines. */
export const PipelineList = Type.Object({
  items: Type.Array(Type.Object({ name: Type.String(), bundle: Type.String(), stages: Type.Array(Type.String()), held: Type.Boolean() })),
});
