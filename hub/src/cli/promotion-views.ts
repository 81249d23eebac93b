// What the promotion and pipeline APIs answer, as the CLI reads it, and how it prints the parts
// the promote, promotion and pipeline commands share: gates, promoted values and diffs.
import { renderTable } from "./output.js";

/** One gate of a stage and why it did not pass. */
export interface GateResultView {
  gate: string;
  passed: boolean;
  message: string;
  clusters?: string[];
}

/** A stage's gates evaluated at one moment, with the clusters they read. */
export interface GateEvaluationView {
  stage: string;
  commit?: string;
  passed: boolean;
  gates: GateResultView[];
  clusters?: { name: string; synced: boolean; healthy: boolean; drifted: number; stale: boolean; revision?: string }[];
  evaluatedAt?: string;
}

/** One promoted value: an image, a field or a whole file. */
export interface PromotedValueView {
  kind: string;
  file: string;
  key: string;
  value?: string | undefined;
}

/** One file's unified diff. */
export interface FileDiffView {
  file: string;
  diff: string;
}

/** A promotion (or a rollback) as the hub records it. */
export interface PromotionView {
  id: string;
  kind: "promotion" | "rollback";
  pipeline: string;
  bundle?: string;
  from: { stage: string; commit?: string };
  to: { stage: string };
  author: string;
  automatic?: boolean;
  state: string;
  createdAt: string;
  updatedAt?: string;
  values?: PromotedValueView[];
  diff?: FileDiffView[];
  gates?: GateEvaluationView;
  commit?: string;
  parent?: string;
  rollbackOf?: string;
  rolledBackBy?: string;
  verification?: { deadline?: string; verifiedAt?: string; message?: string; clusters?: { name: string; state: string; message?: string }[] };
  message?: string;
  transitions?: { state: string; at: string; message?: string }[];
}

/** The answer to a dry run: what a promotion would do, with nothing written. */
export interface DryRunView {
  dryRun: true;
  gates?: GateEvaluationView;
  values?: PromotedValueView[];
  diff?: FileDiffView[];
}

/** One stage of `GET /pipelines/{name}`. */
export interface PipelineStageView {
  name: string;
  target?: string;
  values?: PromotedValueView[];
  revision?: string;
  clusters?: { total?: number; synced?: number; healthy?: number; drifted?: number; stale?: number };
  lastPromotion?: { id: string; kind?: string; state: string; from?: string; author?: string; automatic?: boolean; commit?: string; updatedAt?: string } | null;
  gates?: GateEvaluationView;
}

/** Why auto-promotion of a pipeline is held. */
export interface PipelineHoldView {
  since?: string;
  reason?: string;
  promotion?: string;
  rollback?: string;
}

/** `GET /pipelines/{name}`; `held` is the hold, or null. */
export interface PipelineView {
  name: string;
  bundle?: string;
  commit?: string;
  held?: PipelineHoldView | null;
  stages: PipelineStageView[];
}

/** One item of `GET /pipelines`. */
export interface PipelineSummaryView {
  name: string;
  bundle?: string;
  stages: string[];
  held: boolean;
}

/** Promotion states after which nothing changes any more. */
export const finalStates: ReadonlySet<string> = new Set(["verified", "failed", "rolled-back"]);

/** A commit's short form, or "-". */
export const shortSha = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : "-");

/** "registry.example.com/web:1.5.0" for an image, "config.yaml data.version=2" for a field. */
export function valueText(v: PromotedValueView): string {
  if (v.kind === "image") return v.value ?? `${v.key} (none)`;
  if (v.kind === "file") return `${v.file} ${v.value === undefined ? "(absent)" : `sha256:${v.value.slice(0, 12)}`}`;
  return `${v.file} ${v.key}=${v.value ?? "(absent)"}`;
}

/** The values of a list, comma-separated, or "-". */
export const valuesText = (values: readonly PromotedValueView[] | undefined): string =>
  values && values.length > 0 ? values.map(valueText).join(", ") : "-";

/** The gates as a table: one row per gate, PASS or FAIL with its message. */
export function gatesText(evaluation: GateEvaluationView): string {
  const head = `gates of ${evaluation.stage}${evaluation.commit ? ` at ${shortSha(evaluation.commit)}` : ""}: ${evaluation.passed ? "passed" : "NOT passed"}`;
  if (evaluation.gates.length === 0) return head;
  const table = renderTable(evaluation.gates, [
    { header: "GATE", value: (g) => g.gate },
    { header: "RESULT", value: (g) => (g.passed ? "pass" : "FAIL") },
    { header: "MESSAGE", value: (g) => g.message || "-" },
  ]);
  return `${head}\n${indent(table)}`;
}

/** Every file's diff, one after another. */
export function diffText(diff: readonly FileDiffView[] | undefined): string {
  if (!diff || diff.length === 0) return "no change";
  return diff.map((d) => d.diff.trimEnd()).join("\n");
}

/** The gate evaluation in a refusal's body (`{error, gates}` or `{error: {gates}}`), if any. */
export function refusalGates(body: unknown): GateEvaluationView | undefined {
  const b = body as { gates?: GateEvaluationView; error?: { gates?: GateEvaluationView; details?: { gates?: GateEvaluationView } } } | undefined;
  const gates = b?.gates ?? b?.error?.gates ?? b?.error?.details?.gates;
  return gates && Array.isArray(gates.gates) ? gates : undefined;
}

/** Indents every line by two spaces. */
export const indent = (text: string): string =>
  text
    .split("\n")
    .map((l) => (l ? `  ${l}` : l))
    .join("\n");
