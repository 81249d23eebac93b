// fleet.yaml's `pipelines`: for a bundle, the stages a change is promoted through in order. Each
// stage writes to the overlay of one target of the bundle, covers that target's clusters (or its
// own selector's), and says what it receives (promote), when a promotion out of it may start
// (gates, auto), and what happens to a promotion into it that fails verification (rollback).
import type { Node } from "yaml";
import { oneOf, readNamed, readSelector, unique } from "./fleet-fields.js";
import { DEFAULT_GATES, NOTHING_PROMOTED, readDuration, readGates, readPromotable, type GateSpec, type PromotableSpec } from "./promotables.js";
import type { ClusterSelector } from "./selector.js";
import type { BundleSpec } from "./fleet-file.js";
import type { Field, YamlFields } from "./yaml-fields.js";

/** One stage of a pipeline, validated, with defaults applied. */
export interface PipelineStageSpec {
  /** DNS label, unique in the pipeline. */
  readonly name: string;
  /** A target of the pipeline's bundle; the stage's promotions write to its overlay. */
  readonly target: string;
  /** The target's overlay folder, repository-relative. */
  readonly overlay: string;
  /** The stage's clusters: its own clusterSelector, else the target's. */
  readonly clusterSelector: ClusterSelector;
  /**
   * What a promotion into this stage moves from the stage before: the stage's own `promote`, else
   * the pipeline's. The first stage receives nothing; it carries the pipeline's `promote`, or the
   * second stage's when the pipeline has none, so its values can be shown.
   */
  readonly promote: PromotableSpec;
  /** Gates before a promotion out of this stage. */
  readonly gates: GateSpec;
  /** Promote to the next stage as soon as this stage's gates pass. Default false. */
  readonly auto: boolean;
  /** What to do with a promotion into this stage that fails verification. Default manual. */
  readonly rollback: "manual" | "auto";
  /** Deadline for the verification of a promotion into this stage. Default 10 minutes. */
  readonly verifyTimeoutMs: number;
  /** Line of the stage's entry in fleet.yaml. */
  readonly line: number;
}

/** One pipeline of fleet.yaml: a bundle's stages in promotion order (at least two). */
export interface PipelineSpec {
  /** DNS label, unique in the file. */
  readonly name: string;
  /** The bundle whose targets the stages write to. */
  readonly bundle: string;
  readonly stages: readonly PipelineStageSpec[];
  /** Line of the pipeline's entry in fleet.yaml. */
  readonly line: number;
}

/** How long a promotion into a stage has to be verified unless the stage says otherwise. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 600_000;

const PIPELINE_FIELDS = ["name", "bundle", "promote", "stages"] as const;
const STAGE_FIELDS = ["name", "target", "clusterSelector", "promote", "gates", "auto", "rollback", "verify"] as const;
const VERIFY_FIELDS = ["timeout"] as const;
const ROLLBACKS: ReadonlyArray<"manual" | "auto"> = ["manual", "auto"];

/**
 * Reads `pipelines`, checking each against the file's bundles. `bundlesComplete` is false when
 * some bundle could not be read: a pipeline naming an unknown bundle is then not reported again.
 */
export function readPipelines(r: YamlFields, field: Field, bundles: readonly BundleSpec[], bundlesComplete: boolean): PipelineSpec[] | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const before = r.count;
  const pipelines = unique(r, items, "pipeline", (item) => readPipeline(r, item.node, item.path, bundles, bundlesComplete));
  return r.count > before ? undefined : pipelines;
}

interface StageDraft {
  readonly stage: Omit<PipelineStageSpec, "promote">;
  readonly promote: PromotableSpec | undefined;
  readonly f: Map<string, Field>;
  readonly node: Node | null;
  readonly path: string;
}

function readPipeline(r: YamlFields, node: Node | null, path: string, bundles: readonly BundleSpec[], bundlesComplete: boolean): PipelineSpec | undefined {
  const named = readNamed(r, node, path, PIPELINE_FIELDS, "a mapping with name, bundle and stages", "a DNS label naming the pipeline");
  if (named === undefined) return undefined;
  const { f, before, name } = named;
  const bundleField = r.require(f, "bundle", node, path, "the bundle whose targets the stages write to");
  const bundleName = bundleField && r.string(bundleField);
  const bundle = bundles.find((b) => b.name === bundleName);
  if (bundleField !== undefined && bundleName !== undefined && bundle === undefined && bundlesComplete) {
    const known = bundles.length === 0 ? "the file has none" : `bundles: ${bundles.map((b) => b.name).join(", ")}`;
    r.add(bundleField.value, bundleField.path, `bundle ${bundleName} is not a bundle of this file; ${known}`);
  }
  const promoteField = f.get("promote");
  const promote = promoteField && readPromotable(r, promoteField);
  const stagesField = r.require(f, "stages", node, path, "the stages in promotion order, at least two");
  const stages = stagesField && readStages(r, stagesField, bundle, promoteField === undefined ? undefined : promote);
  if (r.count > before || name === undefined || bundleName === undefined || stages === undefined) return undefined;
  return { name, bundle: bundleName, stages, line: r.line(node) };
}

function readStages(r: YamlFields, field: Field, bundle: BundleSpec | undefined, pipelinePromote: PromotableSpec | undefined): PipelineStageSpec[] | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const before = r.count;
  const drafts: StageDraft[] = [];
  const byName = unique(r, items, "stage", (item) => {
    const draft = readStage(r, item.node, item.path, bundle);
    if (draft !== undefined) drafts.push(draft);
    return draft?.stage;
  });
  if (items.length < 2) r.add(field.value ?? field.key, field.path, `must list at least 2 stages, in promotion order; got ${items.length}`);
  if (r.count > before || byName.length !== drafts.length) return undefined;
  checkOverlays(r, drafts);
  checkEnds(r, drafts);
  const stages = drafts.map((draft, index): PipelineStageSpec | undefined => {
    if (index === 0) return { ...draft.stage, promote: pipelinePromote ?? drafts[1]?.promote ?? NOTHING_PROMOTED };
    const promote = draft.promote ?? pipelinePromote;
    if (promote === undefined) {
      r.add(draft.node, `${draft.path}.promote`, "is required: the pipeline has no promote of its own, so every stage after the first must say what it receives (images, fields or files)");
      return undefined;
    }
    return { ...draft.stage, promote };
  });
  if (r.count > before) return undefined;
  return stages.filter((stage) => stage !== undefined);
}

function readStage(r: YamlFields, node: Node | null, path: string, bundle: BundleSpec | undefined): StageDraft | undefined {
  const named = readNamed(r, node, path, STAGE_FIELDS, "a mapping with name and target", "a DNS label naming the stage");
  if (named === undefined) return undefined;
  const { f, before, name } = named;
  const targetField = r.require(f, "target", node, path, "a target of the pipeline's bundle, whose overlay the stage writes to");
  const targetName = targetField && r.string(targetField);
  const target = bundle?.targets.find((t) => t.name === targetName);
  if (targetField !== undefined && targetName !== undefined && bundle !== undefined && target === undefined) {
    r.add(targetField.value, targetField.path, `target ${targetName} is not a target of bundle ${bundle.name}; its targets: ${bundle.targets.map((t) => t.name).join(", ")}`);
  }
  const selectorField = f.get("clusterSelector");
  const ownSelector = selectorField && readSelector(r, selectorField);
  const promoteField = f.get("promote");
  const promote = promoteField && readPromotable(r, promoteField);
  const gatesField = f.get("gates");
  const gates = gatesField ? readGates(r, gatesField) : DEFAULT_GATES;
  const autoField = f.get("auto");
  const auto = autoField ? r.boolean(autoField) : false;
  const rollbackField = f.get("rollback");
  const rollback = rollbackField ? oneOf(r, rollbackField, ROLLBACKS) : "manual";
  const verifyField = f.get("verify");
  const verifyTimeoutMs = verifyField ? readVerify(r, verifyField) : DEFAULT_VERIFY_TIMEOUT_MS;
  if (r.count > before || name === undefined || target === undefined || gates === undefined || auto === undefined || rollback === undefined || verifyTimeoutMs === undefined) {
    return undefined;
  }
  const clusterSelector = ownSelector ?? target.clusterSelector;
  const stage = { name, target: target.name, overlay: target.overlay, clusterSelector, gates, auto, rollback, verifyTimeoutMs, line: r.line(node) };
  return { stage, promote, f, node, path };
}

function readVerify(r: YamlFields, field: Field): number | undefined {
  const f = r.fields(field.value, field.path, VERIFY_FIELDS, "a mapping with timeout");
  if (f === undefined) return undefined;
  const timeoutField = f.get("timeout");
  return timeoutField ? readDuration(r, timeoutField, { allowZero: false }) : DEFAULT_VERIFY_TIMEOUT_MS;
}

/** Each stage writes to an overlay of its own: promoting between two stages of one overlay changes nothing. */
function checkOverlays(r: YamlFields, drafts: readonly StageDraft[]): void {
  const seen = new Map<string, StageDraft>();
  for (const draft of drafts) {
    const earlier = seen.get(draft.stage.overlay);
    const targetField = draft.f.get("target");
    if (earlier !== undefined) {
      const what = earlier.stage.target === draft.stage.target ? `target ${draft.stage.target}` : `overlay ${draft.stage.overlay || "."}`;
      r.add(targetField?.value ?? draft.node, `${draft.path}.target`, `stage ${earlier.stage.name} (line ${earlier.stage.line}) already writes to ${what}; each stage needs an overlay of its own`);
    } else {
      seen.set(draft.stage.overlay, draft);
    }
  }
}

/** Nothing is promoted into the first stage, and nothing out of the last: settings for those are mistakes. */
function checkEnds(r: YamlFields, drafts: readonly StageDraft[]): void {
  const first = drafts[0];
  const last = drafts[drafts.length - 1];
  if (first !== undefined) {
    const into = "is the first stage: nothing is promoted into it";
    for (const [key, why] of [
      ["promote", `${into}, so it receives nothing; set promote on the pipeline or on the stages after it`],
      ["verify", `${into}, so there is nothing to verify`],
    ] as const) {
      const field = first.f.get(key);
      if (field !== undefined) r.add(field.key, field.path, `stage ${first.stage.name} ${why}`);
    }
    const rollback = first.f.get("rollback");
    if (rollback !== undefined && first.stage.rollback === "auto") r.add(rollback.value, rollback.path, `stage ${first.stage.name} ${into}, so there is nothing to roll back`);
  }
  const auto = last?.f.get("auto");
  if (last !== undefined && auto !== undefined && last.stage.auto) {
    r.add(auto.value, auto.path, `stage ${last.stage.name} is the last stage: there is no stage after it to promote to automatically`);
  }
}
