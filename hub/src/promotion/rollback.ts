// Rolling a promotion back: the reverse of its structured edits, written like a promotion of its
// own (kind "rollback", pointing at the original), so later unrelated commits never block it.
// A later change to one of the promoted values by someone else does: it is named, not undone.
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import type { Edit, EditEngine, FleetRepository, GateEvaluation, PromotionRecord, PromotionStore, StageLock, StageStates } from "./contracts.js";
import { advance, describeConflict, pendingRecord, updateRecord, writeRecord, type PromotionEvent } from "./record-writer.js";
import { applyChanged, diffOf } from "./snapshot-files.js";
import { stageLockKey, type DryRun, type RollbackRequest } from "./requests.js";

/** The parts a rollback uses. */
export interface RollbackDeps {
  repository: FleetRepository;
  records: PromotionStore;
  edits: EditEngine;
  stages: StageStates;
  lock: StageLock;
  lockWaitMs: number;
  logger: Logger;
  now: () => Date;
  get(id: string): Promise<PromotionRecord>;
  onEvent?: ((event: PromotionEvent) => void) | undefined;
  onCommitted?: ((commit: string) => void) | undefined;
}

const defaultVerifyTimeoutMs = 600_000;

/** An edit that undoes `edit`. */
export function reverseEdit(edit: Edit): Edit {
  return { ...edit, before: edit.after, after: edit.before } as Edit;
}

// Refuses what cannot be rolled back, whatever the repository holds.
function refuse(record: PromotionRecord): void {
  if (record.rolledBackBy !== undefined || record.state === "rolled-back") {
    throw new HubError("conflict", `promotion ${record.id} was already rolled back${record.rolledBackBy ? ` by ${record.rolledBackBy}` : ""}`);
  }
  if (record.kind === "rollback") {
    throw new HubError("conflict", `${record.id} is itself a rollback (of ${record.rollbackOf ?? "?"}); promote again instead of rolling it back`);
  }
  if (record.commit === undefined) {
    throw new HubError("conflict", `promotion ${record.id} was never committed (it is ${record.state}); there is nothing to roll back`);
  }
}

/** Creates the rollback operation of the promotion service. */
export function createRollback(deps: RollbackDeps): (request: RollbackRequest) => Promise<DryRun | PromotionRecord> {
  const { repository, records, edits: engine, stages, now } = deps;

  const prepare = async (id: string) => {
    const original = await deps.get(id);
    refuse(original);
    const head = await repository.head();
    const pipeline = head.fleet.pipelines.find((p) => p.name === original.pipeline);
    const stage = pipeline?.stages.find((s) => s.name === original.to.stage);
    const reversed = original.edits.map(reverseEdit);
    const applied = engine.applyEdits(head.files, original.edits, "reverse");
    if (applied.conflicts.length > 0) {
      throw new HubError(
        "conflict",
        `cannot roll back ${id}: a later commit changed what it promoted: ${applied.conflicts.map(describeConflict).join("; ")}. Promote the value you want instead.`,
      );
    }
    if (applied.alreadyApplied || applied.changed.size === 0) {
      throw new HubError("conflict", `nothing to roll back: ${original.to.stage} already runs what it ran before ${id}`);
    }
    const after = applyChanged(head.files, applied.changed);
    const gates: GateEvaluation =
      pipeline && stage
        ? stages.evaluate(pipeline, stage.name)
        : { stage: original.to.stage, commit: head.commit, passed: true, gates: [], clusters: [], evaluatedAt: now().toISOString() };
    return {
      original,
      head,
      verifyTimeoutMs: stage?.verifyTimeoutMs ?? defaultVerifyTimeoutMs,
      edits: reversed,
      values: pipeline && stage ? engine.stageValues({ pipeline, stage: stage.name, files: after }) : [],
      diff: diffOf(engine, head.files, applied.changed),
      gates,
    };
  };

  return async (request) => {
    if (request.dryRun) {
      const prepared = await prepare(request.id);
      return { dryRun: true, gates: prepared.gates, values: prepared.values, edits: prepared.edits, diff: prepared.diff };
    }
    const first = await deps.get(request.id);
    refuse(first);
    return await deps.lock.withLock(
      stageLockKey(first.pipeline, first.to.stage),
      async () => {
        const prepared = await prepare(request.id);
        const { original } = prepared;
        const record = pendingRecord(
          {
            kind: "rollback",
            pipeline: original.pipeline,
            bundle: original.bundle,
            // The values come back from the stage as it was before the promotion.
            from: { stage: original.to.stage, commit: original.parent ?? prepared.head.commit },
            to: { stage: original.to.stage },
            request,
            prepared,
            rollbackOf: original.id,
          },
          now,
        );
        const rollback = await writeRecord(deps, record, prepared.verifyTimeoutMs);
        const rolledBack = await updateRecord(records, original.id, (r) =>
          r.rolledBackBy === undefined ? advance({ ...r, rolledBackBy: rollback.id }, "rolled-back", now(), `rolled back by ${rollback.id}`) : undefined,
        );
        if (rolledBack) deps.onEvent?.({ type: "promotion-rolled-back", promotion: rolledBack });
        return rollback;
      },
      { waitMs: deps.lockWaitMs },
    );
  };
}
