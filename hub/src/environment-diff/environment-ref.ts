// Naming one side of an environment diff: a cluster or a pipeline stage. A bare name is a cluster
// when one has it, else a stage; `cluster:NAME` and `stage:NAME` (or `stage:PIPELINE/NAME`)
// say which. Pure.
import { dnsLabelProblem } from "@gitfleet/proto/rules";
import type { EnvironmentRevision, EnvironmentStage } from "../delivery-contract.js";
import { HubError } from "../errors.js";

/** One side as the caller named it. */
export interface EnvironmentRef {
  /** "any": a bare name, a cluster first, then a stage. */
  readonly kind: "cluster" | "stage" | "any";
  readonly pipeline?: string | undefined;
  readonly name: string;
  /** The text as given, for messages. */
  readonly text: string;
}

/** One side as found at a commit. */
export type FoundEnvironment = { readonly kind: "cluster"; readonly name: string } | { readonly kind: "stage"; readonly stage: EnvironmentStage };

/** Parses `NAME`, `cluster:NAME`, `stage:NAME`, `stage:PIPELINE/NAME` or `PIPELINE/NAME`; throws HubError "invalid-argument". */
export function parseEnvironmentRef(text: string, what: string): EnvironmentRef {
  const colon = text.indexOf(":");
  const prefix = colon < 0 ? undefined : text.slice(0, colon);
  if (prefix !== undefined && prefix !== "cluster" && prefix !== "stage") {
    throw new HubError("invalid-argument", `${what}: "${text}" names neither a cluster nor a stage; use NAME, cluster:NAME, stage:NAME or stage:PIPELINE/NAME`);
  }
  const rest = colon < 0 ? text : text.slice(colon + 1);
  const slash = rest.indexOf("/");
  const pipeline = slash < 0 ? undefined : rest.slice(0, slash);
  const name = slash < 0 ? rest : rest.slice(slash + 1);
  if (pipeline !== undefined && prefix === "cluster") throw new HubError("invalid-argument", `${what}: "${text}": a cluster name has no pipeline part`);
  for (const [part, value] of [["pipeline", pipeline], ["name", name]] as const) {
    const problem = value === undefined ? undefined : dnsLabelProblem(value);
    if (problem !== undefined) throw new HubError("invalid-argument", `${what}: the ${part} "${value}" in "${text}" ${problem}`);
  }
  const kind = prefix ?? (pipeline !== undefined ? "stage" : "any");
  return { kind, pipeline, name, text };
}

/**
 * Finds a named side at a commit: a cluster resolved there, else a stage of its fleet.yaml.
 * Throws HubError "not-found" for neither, "invalid-argument" for a stage name two pipelines share.
 * A bare name that is both adds a note saying how to name the stage.
 */
export function findEnvironment(ref: EnvironmentRef, revision: EnvironmentRevision, notes: string[]): FoundEnvironment {
  const isCluster = ref.kind !== "stage" && revision.clusterNames.includes(ref.name);
  const stages = ref.kind === "cluster" ? [] : revision.stages.filter((s) => s.name === ref.name && (ref.pipeline === undefined || s.pipeline === ref.pipeline));
  const at = revision.commit.slice(0, 12);
  if (isCluster) {
    if (ref.kind === "any" && stages.length > 0) notes.push(`${ref.name} is a cluster and a stage; compared the cluster (name the stage as stage:${ref.name})`);
    return { kind: "cluster", name: ref.name };
  }
  const [stage, other] = stages;
  if (stage !== undefined && other === undefined) return { kind: "stage", stage };
  if (stage !== undefined) {
    const pipelines = stages.map((s) => s.pipeline).join(", ");
    throw new HubError("invalid-argument", `stage ${ref.name} is in pipelines ${pipelines}; name one as stage:PIPELINE/${ref.name}`);
  }
  const what = ref.kind === "cluster" ? "no cluster" : ref.kind === "stage" ? "no stage" : "no cluster or stage";
  const inPipeline = ref.pipeline === undefined ? "" : ` in pipeline ${ref.pipeline}`;
  throw new HubError("not-found", `${what} named ${ref.name}${inPipeline} at commit ${at}`);
}
