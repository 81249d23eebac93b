// The promotion service: promote a pipeline's values from one stage to the next (dry run,
// refusals, gates, one commit, a record), roll a promotion back, and read the records. The
// HTTP routes, the verifier and the auto-promoter all go through it.
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { describeValues } from "./commit-message.js";
import type { PromotionFilter } from "./records.js";
import type {
  Edit,
  EditEngine,
  FleetRepository,
  GateEvaluation,
  PipelineSpec,
  PromotionRecord,
  PromotionStore,
  RepositoryHead,
  StageLock,
  StageStates,
} from "./contracts.js";
import { applyEdits, promotionEdits, stageValues, unifiedDiff } from "./edits/index.js";
import { pendingRecord, writeRecord, type PromotionEvent } from "./record-writer.js";
import { stageLockKey, type DryRun, type PromoteRequest, type RollbackRequest } from "./requests.js";
import { createRollback } from "./rollback.js";
import { applyChanged, diffOf } from "./snapshot-files.js";

/** The promotion service. */
export interface PromotionService {
  /** A dry run, or the promotion's record (rolling-out); refusals are HubErrors (see docs/promotion.md). */
  promote(request: PromoteRequest): Promise<DryRun | PromotionRecord>;
  /** A dry run, or the rollback's own record; the original gets `rolledBackBy` and state rolled-back. */
  rollback(request: RollbackRequest): Promise<DryRun | PromotionRecord>;
  /** A record; HubError "not-found" when there is none. */
  get(id: string): Promise<PromotionRecord>;
  /** Records, newest first. */
  list(filter: PromotionFilter): Promise<PromotionRecord[]>;
}

/** Options of {@link createPromotionService}. */
export interface PromotionServiceOptions {
  repository: FleetRepository;
  /** The gates of each stage, read from the live stores. */
  stages: StageStates;
  records: PromotionStore;
  lock: StageLock;
  /** The edit functions; default the real ones ({@link promotionEditEngine}). */
  edits?: EditEngine | undefined;
  logger: Logger;
  now: () => Date;
  /** How long a promotion waits for another one into the same stage; default 60 s. */
  lockWaitMs?: number;
  onEvent?: ((event: PromotionEvent) => void) | undefined;
  onCommitted?: ((commit: string) => void) | undefined;
}

/** The edit functions of ./edits, as the service takes them. */
export const promotionEditEngine: EditEngine = { stageValues, promotionEdits, applyEdits, unifiedDiff };

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The pipeline named `name` in the head's fleet.yaml; HubError "not-found" naming the ones there are. */
export function pipelineOf(head: RepositoryHead, name: string): PipelineSpec {
  const pipeline = head.fleet.pipelines.find((p) => p.name === name);
  if (pipeline) return pipeline;
  const known = head.fleet.pipelines.map((p) => p.name);
  throw new HubError(
    "not-found",
    `no pipeline ${name} in fleet.yaml at ${head.commit.slice(0, 7)}; ${known.length ? `it has ${known.join(", ")}` : "it has no pipelines"}`,
  );
}

/** Why a stage's gates do not pass, one sentence per failed gate. */
export function gateFailures(gates: GateEvaluation): string {
  return gates.gates
    .filter((g) => !g.passed)
    .map((g) => g.message)
    .join("; ");
}

/** Creates the promotion service. */
export function createPromotionService(options: PromotionServiceOptions): PromotionService {
  const { repository, stages, records, lock, now } = options;
  const engine = options.edits ?? promotionEditEngine;
  const logger = options.logger.child({ component: "promotion" });
  const lockWaitMs = options.lockWaitMs ?? 60_000;
  const deps = { repository, records, edits: engine, logger, now, onEvent: options.onEvent, onCommitted: options.onCommitted };

  /** Everything a promotion decides at one head: the refusals come from here. */
  const prepare = (request: PromoteRequest, head: RepositoryHead) => {
    const pipeline = pipelineOf(head, request.pipeline);
    const names = pipeline.stages.map((s) => s.name);
    const fromIndex = names.indexOf(request.from);
    const toIndex = names.indexOf(request.to);
    for (const [name, index] of [
      [request.from, fromIndex],
      [request.to, toIndex],
    ] as const) {
      if (index < 0) throw new HubError("not-found", `pipeline ${pipeline.name} has no stage ${name}; its stages are ${names.join(" → ")}`);
    }
    const toStage = pipeline.stages[toIndex];
    if (toIndex !== fromIndex + 1 || !toStage) {
      const next = names[fromIndex + 1];
      throw new HubError(
        "invalid-argument",
        `${request.to} is not the stage after ${request.from} in pipeline ${pipeline.name} (${names.join(" → ")}): ${next ? `promote ${request.from} to ${next}` : `${request.from} is the last stage`}`,
      );
    }
    let edits: Edit[];
    try {
      edits = engine.promotionEdits({ pipeline, from: request.from, to: request.to, files: head.files });
    } catch (err) {
      if (err instanceof HubError) throw err;
      throw new HubError("failed-precondition", `cannot promote ${pipeline.name} from ${request.from} to ${request.to}: ${messageOf(err)}`, { cause: err });
    }
    if (edits.length === 0) {
      const running = engine.stageValues({ pipeline, stage: request.to, files: head.files });
      throw new HubError("conflict", `nothing to promote: ${request.to} already runs ${describeValues(running, 400) || "the same values"}`);
    }
    const applied = engine.applyEdits(head.files, edits, "forward");
    const after = applyChanged(head.files, applied.changed);
    return {
      pipeline,
      toStage,
      edits,
      values: engine.stageValues({ pipeline, stage: request.to, files: after }),
      diff: diffOf(engine, head.files, applied.changed),
      gates: stages.evaluate(pipeline, request.from),
    };
  };

  const refuseOnGates = (request: PromoteRequest, gates: GateEvaluation): void => {
    if (gates.passed) return;
    throw new HubError("failed-precondition", `cannot promote ${request.pipeline} from ${request.from} to ${request.to}: the gates of ${request.from} do not pass: ${gateFailures(gates)}`, {
      details: { gates },
    });
  };

  const promote = async (request: PromoteRequest): Promise<DryRun | PromotionRecord> => {
    for (const name of [request.pipeline, request.from, request.to]) {
      if (!dnsLabel.test(name)) throw new HubError("invalid-argument", `"${name}" is not a pipeline or stage name (a DNS label)`);
    }
    if (request.dryRun) {
      const prepared = prepare(request, await repository.head());
      return { dryRun: true, gates: prepared.gates, values: prepared.values, edits: prepared.edits, diff: prepared.diff };
    }
    // Decided again under the lock, on the head as it is then: a promotion that waited sees the
    // one before it and has nothing left to promote.
    return await lock.withLock(
      stageLockKey(request.pipeline, request.to),
      async () => {
        const head = await repository.head();
        const prepared = prepare(request, head);
        refuseOnGates(request, prepared.gates);
        const record = pendingRecord(
          {
            kind: "promotion",
            pipeline: prepared.pipeline.name,
            bundle: prepared.pipeline.bundle,
            from: { stage: request.from, commit: head.commit },
            to: { stage: request.to },
            request,
            prepared,
          },
          now,
        );
        return await writeRecord(deps, record, prepared.toStage.verifyTimeoutMs);
      },
      { waitMs: lockWaitMs },
    );
  };

  const get = (id: string): Promise<PromotionRecord> => records.get(id);

  return {
    promote,
    rollback: createRollback({ ...deps, stages, lock, lockWaitMs, get }),
    get,
    async list(filter) {
      return await records.list(filter);
    },
  };
}
