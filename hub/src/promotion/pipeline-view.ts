// Where a pipeline stands, stage by stage: the values each stage runs, its clusters' revision and
// counts, the last promotion into it, whether its gates pass now and why not, and the hold.
import type { EditEngine, GateResult, PipelineSpec, PromotedValue, PromotionRecord, PromotionState, PromotionStore, StageStates } from "./contracts.js";
import type { HeadCache } from "./head-cache.js";
import type { PipelineHold, PipelineHolds } from "./holds.js";
import { pipelineOf } from "./service.js";

/** One stage as GET /api/v1/pipelines/{name} shows it. */
export interface StageView {
  name: string;
  target: string;
  overlay: string;
  auto: boolean;
  rollback: "manual" | "auto";
  /** The promotable values the stage's overlay holds at the head commit. */
  values: PromotedValue[];
  /** The commit the hub resolved the stage's clusters at. */
  revision: string;
  clusters: { total: number; synced: number; healthy: number; drifted: number; stale: number };
  lastPromotion: { id: string; kind: "promotion" | "rollback"; state: PromotionState; from: string; author: string; automatic: boolean; commit?: string; updatedAt: string } | null;
  /** The gates before a promotion out of this stage, evaluated now. */
  gates: { passed: boolean; gates: GateResult[]; evaluatedAt: string };
}

/** A pipeline as GET /api/v1/pipelines/{name} shows it. */
export interface PipelineView {
  name: string;
  bundle: string;
  /** The head commit of the fleet repository the values were read at. */
  commit: string;
  /** Why auto-promotion is held, or null. */
  held: PipelineHold | null;
  stages: StageView[];
}

/** A pipeline in the list of GET /api/v1/pipelines. */
export interface PipelineSummary {
  name: string;
  bundle: string;
  stages: string[];
  held: boolean;
}

/** The pipeline views. */
export interface PipelineViews {
  list(): Promise<PipelineSummary[]>;
  /** HubError "not-found" for an unknown pipeline. */
  get(name: string): Promise<PipelineView>;
  /** Lifts the pipeline's hold; answers its view. */
  resume(name: string): Promise<PipelineView>;
}

/** Options of {@link createPipelineViews}. */
export interface PipelineViewsOptions {
  heads: HeadCache;
  stages: StageStates;
  records: PromotionStore;
  holds: PipelineHolds;
  edits: Pick<EditEngine, "stageValues">;
}

function lastInto(records: readonly PromotionRecord[], stage: string): StageView["lastPromotion"] {
  let last: PromotionRecord | undefined;
  for (const r of records) if (r.to.stage === stage && (!last || r.id > last.id)) last = r;
  if (!last) return null;
  return {
    id: last.id,
    kind: last.kind,
    state: last.state,
    from: last.from.stage,
    author: last.author,
    automatic: last.automatic,
    ...(last.commit !== undefined ? { commit: last.commit } : {}),
    updatedAt: last.updatedAt,
  };
}

/** Creates the pipeline views. */
export function createPipelineViews(options: PipelineViewsOptions): PipelineViews {
  const { heads, stages, records, holds, edits } = options;

  const view = async (pipeline: PipelineSpec, commit: string, files: ReadonlyMap<string, Uint8Array>): Promise<PipelineView> => {
    const [held, promotions] = await Promise.all([holds.get(pipeline.name), records.list({ pipeline: pipeline.name })]);
    return {
      name: pipeline.name,
      bundle: pipeline.bundle,
      commit,
      held: held ?? null,
      stages: pipeline.stages.map((stage) => {
        const evaluation = stages.evaluate(pipeline, stage.name);
        const cs = evaluation.clusters;
        return {
          name: stage.name,
          target: stage.target,
          overlay: stage.overlay,
          auto: stage.auto,
          rollback: stage.rollback,
          values: edits.stageValues({ pipeline, stage: stage.name, files }),
          revision: evaluation.commit,
          clusters: {
            total: cs.length,
            synced: cs.filter((c) => c.synced).length,
            healthy: cs.filter((c) => c.healthy).length,
            drifted: cs.filter((c) => c.drifted > 0).length,
            stale: cs.filter((c) => c.stale).length,
          },
          lastPromotion: lastInto(promotions, stage.name),
          gates: { passed: evaluation.passed, gates: evaluation.gates, evaluatedAt: evaluation.evaluatedAt },
        };
      }),
    };
  };

  const get = async (name: string) => {
    const head = await heads.get();
    return await view(pipelineOf(head, name), head.commit, head.files);
  };

  return {
    async list() {
      const head = await heads.get();
      return await Promise.all(
        head.fleet.pipelines.map(async (p) => ({ name: p.name, bundle: p.bundle, stages: p.stages.map((s) => s.name), held: (await holds.get(p.name)) !== undefined })),
      );
    },
    get,
    async resume(name) {
      pipelineOf(await heads.get(), name);
      await holds.resume(name);
      return await get(name);
    },
  };
}
