// Auto-promotion: a stage with `auto: true` whose gates pass is promoted to the next stage, by
// "gitfleet", through the same path as a person's promotion. A pass reads gates from memory;
// the repository is read only when gates pass, through the head cache. The same values are
// never promoted twice into a stage: once a promotion of them was committed (and perhaps
// rolled back since), only a person promotes them again.
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { AUTOMATIC_AUTHOR } from "./commit-message.js";
import type { EditEngine, PipelineSpec, PromotedValue, PromotionStore, RepositoryHead, StageStates } from "./contracts.js";
import type { HeadCache } from "./head-cache.js";
import type { PipelineHolds } from "./holds.js";
import { startLoop, type BackgroundLoop } from "./loop.js";
import { applyChanged } from "./snapshot-files.js";
import type { PromotionService } from "./service.js";

/** Options of {@link startAutoPromoter}. */
export interface AutoPromoterOptions {
  service: Pick<PromotionService, "promote">;
  records: PromotionStore;
  stages: StageStates;
  heads: HeadCache;
  holds: PipelineHolds;
  edits: EditEngine;
  logger: Logger;
  now: () => Date;
  /** How often gates are evaluated; default 2 s. */
  intervalMs?: number;
  /** How long to wait before trying a promotion again after the repository or NATS was away; default 30 s. */
  retryAfterMs?: number;
}

/** The values a promotion gives a stage, compared regardless of file. */
export function valuesSignature(values: readonly PromotedValue[]): string {
  return JSON.stringify(values.map((v) => [v.kind, v.key, v.value ?? null]).sort());
}

/** One auto-promotion pass over every pipeline. */
export function createAutoPromotionPass(options: AutoPromoterOptions): () => Promise<void> {
  const { service, records, stages, heads, holds, edits: engine, now } = options;
  const logger = options.logger.child({ component: "auto-promoter" });
  const retryAfterMs = options.retryAfterMs ?? 30_000;
  // Decisions already taken, per stage pair and (resolved commit, head commit): each is tried once.
  const decided = new Map<string, number>();

  // The values promoting `from` to `to` would give `to`, or undefined when nothing differs.
  const wouldGive = (pipeline: PipelineSpec, from: string, to: string, head: RepositoryHead): PromotedValue[] | undefined => {
    const edits = engine.promotionEdits({ pipeline, from, to, files: head.files });
    if (edits.length === 0) return undefined;
    const after = applyChanged(head.files, engine.applyEdits(head.files, edits, "forward").changed);
    return engine.stageValues({ pipeline, stage: to, files: after });
  };

  const promotedBefore = async (pipeline: string, to: string, values: readonly PromotedValue[]): Promise<string | undefined> => {
    const signature = valuesSignature(values);
    const earlier = await records.list({ pipeline });
    return earlier.find((r) => r.kind === "promotion" && r.to.stage === to && r.commit !== undefined && valuesSignature(r.values) === signature)?.id;
  };

  const consider = async (pipeline: PipelineSpec, from: string, to: string): Promise<void> => {
    const gates = stages.evaluate(pipeline, from);
    if (!gates.passed) return;
    const head = await heads.get();
    const key = `${pipeline.name}\0${from}\0${to}\0${gates.commit}\0${head.commit}`;
    const until = decided.get(key);
    if (until !== undefined && until > now().getTime()) return;
    // A held pipeline is looked at again once resumed, so its decision is not kept.
    if (await holds.get(pipeline.name)) return;
    const log = logger.child({ pipeline: pipeline.name, from, to });
    let retry = false;
    try {
      const values = wouldGive(pipeline, from, to, head);
      if (!values) return;
      const earlier = await promotedBefore(pipeline.name, to, values);
      if (earlier) {
        log.info({ promotion: earlier }, "not promoting automatically: these values were promoted into the stage before");
        return;
      }
      const promotion = await service.promote({ pipeline: pipeline.name, from, to, author: AUTOMATIC_AUTHOR, automatic: true });
      if (!("dryRun" in promotion)) {
        log.info({ promotion: promotion.id, commit: promotion.commit }, "promoted automatically");
        heads.invalidate();
      }
    } catch (err) {
      // Refusals (nothing left to promote, gates that changed, a conflict) are decisions too.
      retry = !(err instanceof HubError) || err.code === "unavailable" || err.code === "internal";
      if (retry) log.warn({ err }, "automatic promotion failed; trying again later");
      else log.info({ reason: messageOf(err) }, "automatic promotion refused");
    } finally {
      if (decided.size > 10_000) decided.clear();
      decided.set(key, retry ? now().getTime() + retryAfterMs : Number.POSITIVE_INFINITY);
    }
  };

  return async () => {
    const head = await heads.get();
    for (const pipeline of head.fleet.pipelines) {
      for (let i = 0; i + 1 < pipeline.stages.length; i++) {
        const from = pipeline.stages[i];
        const to = pipeline.stages[i + 1];
        if (!from?.auto || !to) continue;
        try {
          await consider(pipeline, from.name, to.name);
        } catch (err) {
          logger.warn({ err, pipeline: pipeline.name, from: from.name }, "could not consider an automatic promotion");
        }
      }
    }
  };
}

/** Starts the loop; its owner stops it. */
export function startAutoPromoter(options: AutoPromoterOptions): BackgroundLoop {
  return startLoop({ name: "auto-promoter", intervalMs: options.intervalMs ?? 2_000, logger: options.logger, pass: createAutoPromotionPass(options) });
}
