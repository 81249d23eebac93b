// The write path every promotion and rollback takes once it is decided: record it `pending`,
// write its one commit (the structured edits applied again to whatever head the push meets),
// then `committed` and `rolling-out`. A failure after `pending` leaves the record `failed`
// with the reason, and nothing else written.
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { AUTOMATIC_AUTHOR, commitAuthor, commitMessage } from "./commit-message.js";
import type { EditConflict, EditEngine, EditValue, FleetRepository, PromotionRecord, PromotionState, PromotionStore } from "./contracts.js";
import { newPromotionId } from "./records.js";

/** What happened to a promotion, for fleet events and logs. */
export interface PromotionEvent {
  type: "promotion-committed" | "promotion-verified" | "promotion-failed" | "promotion-rolled-back";
  promotion: PromotionRecord;
}

/** The parts the write path uses. */
export interface RecordWriterDeps {
  repository: FleetRepository;
  records: PromotionStore;
  edits: EditEngine;
  logger: Logger;
  now: () => Date;
  /** Told about each transition worth an event; must not throw. */
  onEvent?: ((event: PromotionEvent) => void) | undefined;
  /** Called with each pushed commit, e.g. to make delivery fetch it at once; must not throw. */
  onCommitted?: ((commit: string) => void) | undefined;
}

/** What a decided promotion or rollback is recorded with. */
export interface PendingRecordInput {
  kind: PromotionRecord["kind"];
  pipeline: string;
  bundle: string;
  from: PromotionRecord["from"];
  to: PromotionRecord["to"];
  /** Who asked: a token name, or an automatic promotion or rollback. */
  request: { author: string; automatic?: boolean | undefined };
  /** What the target stage gets and the gates' evidence at decision time. */
  prepared: Pick<PromotionRecord, "values" | "edits" | "diff" | "gates">;
  rollbackOf?: string | undefined;
}

/** A new record in state `pending`, created now, for {@link writeRecord}. */
export function pendingRecord(input: PendingRecordInput, now: () => Date): PromotionRecord {
  const { request, prepared } = input;
  const at = now().toISOString();
  return {
    id: newPromotionId(now()),
    kind: input.kind,
    pipeline: input.pipeline,
    bundle: input.bundle,
    from: input.from,
    to: input.to,
    author: request.automatic ? AUTOMATIC_AUTHOR : request.author,
    automatic: request.automatic === true,
    state: "pending",
    createdAt: at,
    updatedAt: at,
    values: prepared.values,
    edits: prepared.edits,
    diff: prepared.diff,
    gates: prepared.gates,
    ...(input.rollbackOf !== undefined ? { rollbackOf: input.rollbackOf } : {}),
    transitions: [{ state: "pending", at }],
  };
}

/** `record` moved to `state` at `at`, with the transition noted. */
export function advance(record: PromotionRecord, state: PromotionState, at: Date, message?: string): PromotionRecord {
  const time = at.toISOString();
  return {
    ...record,
    state,
    updatedAt: time,
    ...(message !== undefined && (state === "failed" || state === "rolled-back") ? { message } : {}),
    transitions: [...record.transitions, { state, at: time, ...(message !== undefined ? { message } : {}) }],
  };
}

/**
 * Updates a record by compare-and-set; `mutate` returns undefined to leave it as it is. Resolves
 * with the record as written, or undefined when `mutate` declined (e.g. another replica moved
 * it first).
 */
export async function updateRecord(
  records: PromotionStore,
  id: string,
  mutate: (record: PromotionRecord) => PromotionRecord | undefined,
): Promise<PromotionRecord | undefined> {
  // The store may call mutate again after a lost compare-and-set; only the last call was written.
  let written: PromotionRecord | undefined;
  await records.update(id, (record) => {
    written = mutate(record);
    return written;
  });
  return written;
}

const shown = (value: EditValue | string | undefined): string => (value === undefined ? "absent" : JSON.stringify(value));

/** One conflict as a sentence: the file, the field, what was found and what was expected. */
export function describeConflict(conflict: EditConflict): string {
  const where = conflict.display ? `${conflict.file}: ${conflict.display}` : conflict.file;
  // A whole file's content is too long for a message.
  if (conflict.display === "" || typeof conflict.expected === "string" && conflict.expected.includes("\n")) return `${where} was changed by another commit`;
  return `${where} is ${shown(conflict.found)}, expected ${shown(conflict.expected)}`;
}

/** What a record's commit writes into `files`; throws HubError "conflict" when it cannot. */
export function changeFor(edits: EditEngine, record: PromotionRecord, files: ReadonlyMap<string, Uint8Array>): ReadonlyMap<string, string | null> {
  const applied = edits.applyEdits(files, record.edits, "forward");
  const what = record.kind === "rollback" ? `cannot roll back ${record.rollbackOf ?? ""} in ${record.pipeline}/${record.to.stage}` : `cannot promote ${record.pipeline} into ${record.to.stage}`;
  if (applied.conflicts.length > 0) {
    throw new HubError(
      "conflict",
      `${what}: another commit changed the same value: ${applied.conflicts.map(describeConflict).join("; ")}. Nothing was written; look at the change and try again.`,
    );
  }
  if (applied.alreadyApplied || applied.changed.size === 0) {
    throw new HubError("conflict", `${what}: nothing to change, another commit already made the same change`);
  }
  return applied.changed;
}

/** Records `record` (pending), commits it, and moves it to rolling-out; see the file comment. */
export async function writeRecord(deps: RecordWriterDeps, record: PromotionRecord, verifyTimeoutMs: number): Promise<PromotionRecord> {
  const { repository, records, logger } = deps;
  const log = logger.child({ promotion: record.id, pipeline: record.pipeline, stage: record.to.stage });
  await records.create(record);
  let result;
  try {
    result = await repository.commit({
      message: commitMessage(record),
      author: commitAuthor(record.author),
      change: (head) => changeFor(deps.edits, record, head.files),
    });
  } catch (err) {
    await markFailed(deps, record.id, messageOf(err), log);
    throw err;
  }
  deps.onCommitted?.(result.commit);
  log.info({ commit: result.commit, attempts: result.attempts, kind: record.kind }, "promotion committed");
  const at = deps.now();
  const deadline = new Date(at.getTime() + verifyTimeoutMs).toISOString();
  let written: PromotionRecord | undefined;
  try {
    const committed = await updateRecord(records, record.id, (r) => (r.state === "pending" ? advance({ ...r, commit: result.commit, parent: result.parent }, "committed", at) : undefined));
    written = await updateRecord(records, record.id, (r) => (r.state === "committed" ? advance({ ...r, verification: { deadline } }, "rolling-out", at) : undefined));
    written ??= committed;
  } catch (err) {
    throw new HubError("unavailable", `commit ${result.commit} was pushed, but recording it in promotion ${record.id} failed: ${messageOf(err)}`, { cause: err });
  }
  const promotion = written ?? (await records.get(record.id));
  deps.onEvent?.({ type: "promotion-committed", promotion });
  return promotion;
}

/** Marks a record failed with `message` unless it has moved on; logs instead of throwing. */
export async function markFailed(deps: Pick<RecordWriterDeps, "records" | "now" | "onEvent">, id: string, message: string, log: Logger): Promise<PromotionRecord | undefined> {
  try {
    const failed = await updateRecord(deps.records, id, (r) => (r.state === "pending" || r.state === "committed" || r.state === "rolling-out" ? advance(r, "failed", deps.now(), message) : undefined));
    if (failed) deps.onEvent?.({ type: "promotion-failed", promotion: failed });
    return failed;
  } catch (err) {
    log.error({ err, promotion: id }, "could not mark the promotion failed");
    return undefined;
  }
}
