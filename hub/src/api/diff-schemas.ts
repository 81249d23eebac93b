// TypeBox schemas of the environment diff API: GET /api/v1/diff.
import { Type, type Static } from "@fastify/type-provider-typebox";

const Environment = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 140, description }));

/** Query of GET /api/v1/diff: `from` and `to` (with `revision`), or `cluster` and `revisions`. */
export const DiffQuery = Type.Object(
  {
    from: Environment("A cluster or a stage: NAME (a cluster first, then a stage), cluster:NAME, stage:NAME or stage:PIPELINE/NAME."),
    to: Environment("The other side, named as `from`."),
    revision: Type.Optional(
      Type.String({ pattern: "^[0-9a-fA-F]{4,40}$", description: "The commit both sides are rendered at (a whole or abbreviated sha); default the last good commit." }),
    ),
    cluster: Environment("With `revisions`: the cluster whose desired state is compared at two commits."),
    revisions: Type.Optional(
      Type.String({ minLength: 1, maxLength: 90, description: "A..B: the commits to compare the cluster at; A.. compares A with the last good commit." }),
    ),
  },
  { additionalProperties: false },
);
/** Query of GET /api/v1/diff. */
export type DiffQuery = Static<typeof DiffQuery>;

const Side = Type.Object({
  kind: Type.String({ description: "cluster or stage." }),
  name: Type.String(),
  pipeline: Type.Optional(Type.String({ description: "The stage's pipeline." })),
  commit: Type.String({ description: "The commit the side was rendered at." }),
  cluster: Type.String({ description: "The cluster whose render was compared: the cluster itself, or the one that stands for the stage." }),
  clusters: Type.Array(Type.String(), { description: "The stage's clusters (the cluster alone for a cluster)." }),
  uniform: Type.Boolean({ description: "Whether all of `clusters` get the same render as `cluster`." }),
});

const Field = Type.Object({
  path: Type.String({ description: "JSON pointer (RFC 6901); a list item's index is the one on the `to` side (on `from` for an item only it has)." }),
  field: Type.String({ description: "The same field for people, list items merged by key named by it: spec.template.spec.containers[name=web].image." }),
  from: Type.Optional(Type.Unknown({ description: "The value on the `from` side; absent when the field is absent there, or redacted." })),
  to: Type.Optional(Type.Unknown({ description: "The value on the `to` side; absent when the field is absent there, or redacted." })),
  redacted: Type.Optional(Type.Boolean({ description: "The values are withheld (fields of Secrets other than their metadata)." })),
});

const ObjectItem = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  namespace: Type.String({ description: '"" for cluster-scoped objects.' }),
  name: Type.String(),
  change: Type.String({ description: "added (only `to` has it), removed (only `from` has it) or changed." }),
  bundle: Type.String(),
  fields: Type.Array(Field, { description: "The differing fields of a changed object; empty for added and removed ones." }),
});

/** Answer of GET /api/v1/diff. */
export const DiffView = Type.Object({
  from: Side,
  to: Side,
  bundles: Type.Array(Type.String(), { description: "The bundles compared: every bundle of two clusters, the pipeline's bundle as soon as one side is a stage." }),
  objects: Type.Array(ObjectItem, { description: "Objects that differ, sorted by apiVersion, kind, namespace and name." }),
  counts: Type.Object({ added: Type.Integer(), removed: Type.Integer(), changed: Type.Integer(), unchanged: Type.Integer() }),
  notes: Type.Array(Type.String(), { description: "How the sides were chosen, when the reader should know (a name that is a cluster and a stage, a stage whose clusters differ)." }),
});
