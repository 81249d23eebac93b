// Verification of promotions that are rolling out: `verified` once the target stage's clusters
// are synced and healthy at the promotion commit, `failed` when they fail or the stage's
// deadline passes. A promotion into a stage with `rollback: auto` that fails is rolled back
// (by "gitfleet"), and its pipeline's auto-promotion is held until someone resumes it.
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { AUTOMATIC_AUTHOR } from "./commit-message.js";
import type { GateEvaluation, PromotionRecord, PromotionStore, StageStates } from "./contracts.js";
import type { HeadCache } from "./head-cache.js";
import type { PipelineHolds } from "./holds.js";
import { startLoop, type BackgroundLoop } from "./loop.js";
import { advance, updateRecord, type PromotionEvent } from "./record-writer.js";
import type { PromotionService } from "./service.js";

/** Options of {@link startVerifier}. */
export interface VerifierOptions {
  records: PromotionStore;
  stages: StageStates;
  heads: HeadCache;
  holds: PipelineHolds;
  service: Pick<PromotionService, "rollback">;
  logger: Logger;
  now: () => Date;
  /** How often rolling-out promotions are checked; default 2 s. */
  intervalMs?: number;
  onEvent?: ((event: PromotionEvent) => void) | undefined;
}

type Verification = NonNullable<PromotionRecord["verification"]>;

/** Each cluster of the target stage as verification last saw it. */
export function clusterStates(evaluation: GateEvaluation): NonNullable<Verification["clusters"]> {
  return evaluation.clusters.map((c) => {
    const state = c.stale ? "stale" : !c.synced ? "not-synced" : !c.healthy ? "unhealthy" : "healthy";
    const failed = evaluation.gates.filter((g) => !g.passed && g.clusters.includes(c.name)).map((g) => g.message);
    return { name: c.name, state, ...(failed.length ? { message: failed.join("; ") } : {}) };
  });
}

/** One verification pass over the promotions rolling out. */
export function createVerifierPass(options: VerifierOptions): () => Promise<void> {
  const { records, stages, heads, holds, service, now } = options;
  const logger = options.logger.child({ component: "promotion-verifier" });

  const settle = async (record: PromotionRecord, state: "verified" | "failed", verification: Verification, message?: string) => {
    const settled = await updateRecord(records, record.id, (r) =>
      r.state === "rolling-out" ? advance({ ...r, verification: { ...r.verification, ...verification } }, state, now(), message) : undefined,
    );
    if (!settled) return undefined;
    logger.info({ promotion: record.id, pipeline: record.pipeline, stage: record.to.stage, state, message }, `promotion ${state}`);
    options.onEvent?.({ type: state === "verified" ? "promotion-verified" : "promotion-failed", promotion: settled });
    return settled;
  };

  const rollBack = async (failed: PromotionRecord, reason: string) => {
    // Held first, so no auto-promotion slips in between the failure and the rollback.
    const hold = { pipeline: failed.pipeline, since: now().toISOString(), promotion: failed.id, reason: `promotion ${failed.id} into ${failed.to.stage} failed verification: ${reason}` };
    await holds.hold(hold);
    try {
      const rollback = await service.rollback({ id: failed.id, author: AUTOMATIC_AUTHOR, automatic: true });
      if (!("dryRun" in rollback)) await holds.hold({ ...hold, rollback: rollback.id, reason: `${hold.reason}; rolled back by ${rollback.id}` });
    } catch (err) {
      logger.error({ err, promotion: failed.id }, "the automatic rollback failed; the pipeline stays held");
      await holds.hold({ ...hold, reason: `${hold.reason}; the automatic rollback failed: ${messageOf(err)}` });
    }
  };

  const verify = async (record: PromotionRecord): Promise<void> => {
    const at = now();
    const deadline = record.verification?.deadline ?? record.updatedAt;
    const head = await heads.get();
    const pipeline = head.fleet.pipelines.find((p) => p.name === record.pipeline);
    const stage = pipeline?.stages.find((s) => s.name === record.to.stage);
    if (!pipeline || !stage || record.commit === undefined) {
      await settle(record, "failed", { deadline, message: "its pipeline or stage is no longer in fleet.yaml" }, `cannot verify: pipeline ${record.pipeline} has no stage ${record.to.stage} any more`);
      return;
    }
    const outcome = stages.verifyAt(pipeline, stage.name, record.commit);
    const clusters = clusterStates(outcome.evaluation);
    if (outcome.done) {
      await settle(record, "verified", { deadline, verifiedAt: at.toISOString(), clusters, message: `every cluster of ${stage.name} is synced and healthy at ${record.commit.slice(0, 7)}` });
      return;
    }
    // Until the deadline, `failed` only says why it is not done yet.
    const why = outcome.failed ?? (outcome.evaluation.gates.filter((g) => !g.passed).map((g) => g.message).join("; ") || `no cluster of ${stage.name} reported ${record.commit.slice(0, 7)} yet`);
    if (at.getTime() < Date.parse(deadline)) {
      if (why !== record.verification?.message || JSON.stringify(clusters) !== JSON.stringify(record.verification.clusters ?? [])) {
        await updateRecord(records, record.id, (r) => (r.state === "rolling-out" ? { ...r, verification: { deadline, ...r.verification, message: why, clusters } } : undefined));
      }
      return;
    }
    const message = `not synced and healthy at ${record.commit.slice(0, 7)} by the deadline ${deadline}: ${why}`;
    const failed = await settle(record, "failed", { deadline, message, clusters }, message);
    if (failed && failed.kind === "promotion" && stage.rollback === "auto") await rollBack(failed, message);
  };

  return async () => {
    const rolling = await records.list({ state: "rolling-out" });
    for (const record of rolling) {
      try {
        await verify(record);
      } catch (err) {
        logger.warn({ err, promotion: record.id }, "could not verify a promotion; trying again at the next pass");
      }
    }
  };
}

/** Starts the loop; its owner stops it. */
export function startVerifier(options: VerifierOptions): BackgroundLoop {
  return startLoop({ name: "promotion verifier", intervalMs: options.intervalMs ?? 2_000, logger: options.logger, pass: createVerifierPass(options) });
}
