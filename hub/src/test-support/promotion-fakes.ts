// Fakes of the parts the promotion service drives, for its unit tests: a fleet repository in
// memory, an edit engine over one-line "tag" files, gates set by the test, records, a lock and
// a KV for holds.
import { strict as assert } from "node:assert";
import pino from "pino";
import { HubError } from "../errors.js";
import type {
  AppliedEdits,
  CommitRequest,
  CommitResult,
  Edit,
  EditEngine,
  FleetRepository,
  GateEvaluation,
  PipelineSpec,
  PipelineStageSpec,
  PromotionRecord,
  PromotionStore,
  RepositoryHead,
  StageLock,
  StageStates,
} from "../promotion/index.js";
import type { HoldsKv } from "../promotion/index.js";

export const quietLogger = pino({ level: "silent" });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stage of the fake pipeline; its overlay holds one file, `tag`, with the image tag. */
export function fakeStage(name: string, extra: Partial<PipelineStageSpec> = {}): PipelineStageSpec {
  return {
    name,
    target: name,
    overlay: `apps/web/${name}`,
    clusterSelector: { matchLabels: { stage: name }, matchExpressions: [] },
    promote: { images: ["registry.example.com/web"], fields: [], files: [] },
    gates: { healthy: true, noDrift: false, soakMs: 0, minClusters: 1 },
    auto: false,
    rollback: "manual",
    verifyTimeoutMs: 60_000,
    line: 1,
    ...extra,
  };
}

/** Pipeline `web`: staging → prod-us → prod-eu, with per-stage overrides. */
export function fakePipeline(overrides: Record<string, Partial<PipelineStageSpec>> = {}): PipelineSpec {
  return { name: "web", bundle: "web", line: 1, stages: ["staging", "prod-us", "prod-eu"].map((s) => fakeStage(s, overrides[s])) };
}

const tagFile = (stage: PipelineStageSpec) => `${stage.overlay}/tag`;

/** The edit engine over `tag` files: one value edit per promotion. */
export const fakeEdits: EditEngine = {
  stageValues({ pipeline, stage, files }) {
    const spec = pipeline.stages.find((s) => s.name === stage);
    if (!spec) throw new Error(`no stage ${stage}`);
    const bytes = files.get(tagFile(spec));
    return [{ kind: "image", file: tagFile(spec), key: "registry.example.com/web", value: bytes ? `registry.example.com/web:${decoder.decode(bytes).trim()}` : undefined }];
  },
  promotionEdits({ pipeline, from, to, files }) {
    const [a, b] = [from, to].map((n) => pipeline.stages.find((s) => s.name === n));
    if (!a || !b) throw new Error("no such stage");
    const source = files.get(tagFile(a));
    if (!source) throw new Error(`${tagFile(a)}: the image registry.example.com/web has no tag`);
    const before = files.get(tagFile(b));
    const [after, current] = [decoder.decode(source).trim(), before ? decoder.decode(before).trim() : undefined];
    if (after === current) return [];
    return [{ kind: "value", file: tagFile(b), path: ["images", { match: "name", equals: "registry.example.com/web" }, "newTag"], display: "images[registry.example.com/web].newTag", before: current, after }];
  },
  applyEdits(files, edits, direction = "forward"): AppliedEdits {
    const changed = new Map<string, string | null>();
    const conflicts: AppliedEdits["conflicts"][number][] = [];
    let applied = 0;
    for (const edit of edits) {
      if (edit.kind !== "value") throw new Error("only value edits");
      const [before, after] = direction === "forward" ? [edit.before, edit.after] : [edit.after, edit.before];
      const bytes = files.get(edit.file);
      const found = bytes ? decoder.decode(bytes).trim() : undefined;
      if (found === after) continue;
      if (found !== before) {
        conflicts.push({ file: edit.file, display: edit.display, expected: before, found, message: `${edit.file}: ${edit.display} is ${String(found)}` });
        continue;
      }
      applied++;
      changed.set(edit.file, after === undefined || after === null ? null : `${String(after)}\n`);
    }
    return { changed, conflicts, alreadyApplied: applied === 0 && conflicts.length === 0 };
  },
  unifiedDiff(file, before, after) {
    return `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-${before?.trim() ?? ""}\n+${after?.trim() ?? ""}\n`;
  },
};

/** A fleet repository in memory; `beforePush` lets a test land a human commit between fetch and push. */
export interface FakeRepository extends FleetRepository {
  files: Map<string, Uint8Array>;
  commits: { commit: string; message: string; author: string; files: Map<string, Uint8Array> }[];
  pipelines: PipelineSpec[];
  /** Called once per commit attempt, after change() and before the push; may move the head. */
  beforePush?: ((attempt: number) => void) | undefined;
  headCalls: number;
  unreachable: boolean;
  set(file: string, text: string): void;
  read(file: string): string | undefined;
}

/** Creates a {@link FakeRepository} holding one `tag` file per stage. */
export function fakeRepository(tags: Record<string, string>, pipeline: PipelineSpec = fakePipeline()): FakeRepository {
  let counter = 0;
  const sha = () => (++counter).toString(16).padStart(40, "0");
  const repo: FakeRepository = {
    files: new Map(),
    commits: [],
    pipelines: [pipeline],
    headCalls: 0,
    unreachable: false,
    set(file, text) {
      repo.files.set(file, encoder.encode(text));
      repo.commits.push({ commit: sha(), message: `edit ${file}`, author: "human", files: new Map(repo.files) });
    },
    read(file) {
      const bytes = repo.files.get(file);
      return bytes ? decoder.decode(bytes) : undefined;
    },
    head(): Promise<RepositoryHead> {
      repo.headCalls++;
      if (repo.unreachable) return Promise.reject(new HubError("unavailable", "the fleet repository http://git.example/fleet is unreachable: ECONNREFUSED"));
      const last = repo.commits.at(-1);
      return Promise.resolve({
        commit: last?.commit ?? "0".repeat(40),
        files: new Map(repo.files),
        fleet: { bundles: [], pipelines: repo.pipelines },
      });
    },
    async commit(request: CommitRequest): Promise<CommitResult> {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const parent = repo.commits.at(-1)?.commit ?? "0".repeat(40);
        const changed = await request.change({ commit: parent, files: new Map(repo.files) });
        if (changed.size === 0) throw new HubError("conflict", "nothing to change");
        repo.beforePush?.(attempt);
        if ((repo.commits.at(-1)?.commit ?? "0".repeat(40)) !== parent) continue;
        for (const [file, text] of changed) {
          if (text === null) repo.files.delete(file);
          else repo.files.set(file, encoder.encode(text));
        }
        const commit = sha();
        repo.commits.push({ commit, message: request.message, author: `${request.author.name} <${request.author.email}>`, files: new Map(repo.files) });
        return { commit, parent, attempts: attempt };
      }
      throw new HubError("unavailable", "the head kept moving");
    },
  };
  for (const [stage, tag] of Object.entries(tags)) {
    const spec = pipeline.stages.find((s) => s.name === stage);
    if (spec) repo.files.set(tagFile(spec), encoder.encode(`${tag}\n`));
  }
  repo.commits.push({ commit: sha(), message: "initial", author: "human", files: new Map(repo.files) });
  return repo;
}

/** Gates and verification set by the test, per stage. */
export interface FakeStageStates extends StageStates {
  failing: Map<string, string>;
  verified: Set<string>;
  evaluations: number;
}

/** Creates {@link FakeStageStates}: every gate passes and nothing verifies until told. */
export function fakeStageStates(now: () => Date = () => new Date()): FakeStageStates {
  const evaluation = (stage: string, reason: string | undefined): GateEvaluation => ({
    stage,
    commit: "c".repeat(40),
    passed: reason === undefined,
    gates: [
      { gate: "synced", passed: true, message: `every cluster of ${stage} is synced`, clusters: [] },
      reason === undefined
        ? { gate: "healthy", passed: true, message: `every cluster of ${stage} is healthy`, clusters: [] }
        : { gate: "healthy", passed: false, message: reason, clusters: [`${stage}-1`] },
    ],
    clusters: [{ name: `${stage}-1`, synced: true, healthy: reason === undefined, drifted: 0, stale: false }],
    evaluatedAt: now().toISOString(),
  });
  const states: FakeStageStates = {
    failing: new Map(),
    verified: new Set(),
    evaluations: 0,
    clusters: () => [],
    evaluate(_pipeline, stage) {
      states.evaluations++;
      return evaluation(stage, states.failing.get(stage));
    },
    verifyAt(_pipeline, stage, commit) {
      const done = states.verified.has(commit);
      return done ? { done, evaluation: evaluation(stage, undefined) } : { done, failed: `${stage}-1 not synced at ${commit.slice(0, 7)}`, evaluation: evaluation(stage, `${stage}-1 not synced at ${commit.slice(0, 7)}`) };
    },
  };
  return states;
}

/** Promotion records in memory, newest first, with the store's compare-and-set semantics. */
export function fakeRecords(): PromotionStore & { all: Map<string, PromotionRecord> } {
  const all = new Map<string, PromotionRecord>();
  const clone = (r: PromotionRecord) => structuredClone(r);
  return {
    all,
    create(input) {
      const at = input.createdAt ?? new Date().toISOString();
      const record: PromotionRecord = { ...input, id: input.id ?? `p-${all.size}`, createdAt: at, updatedAt: input.updatedAt ?? at, transitions: input.transitions ?? [{ state: input.state, at }] };
      if (all.has(record.id)) return Promise.reject(new HubError("already-exists", `promotion ${record.id} already exists`));
      all.set(record.id, clone(record));
      return Promise.resolve(clone(record));
    },
    get(id) {
      const record = all.get(id);
      return record ? Promise.resolve(clone(record)) : Promise.reject(new HubError("not-found", `promotion ${id} does not exist`));
    },
    list(filter = {}) {
      const items = [...all.values()]
        .filter((r) => (filter.pipeline === undefined || r.pipeline === filter.pipeline) && (filter.state === undefined || r.state === filter.state))
        .sort((a, b) => (a.id < b.id ? 1 : -1));
      return Promise.resolve(items.slice(0, filter.limit ?? 100).map(clone));
    },
    update(id, mutate) {
      const current = all.get(id);
      if (!current) return Promise.reject(new HubError("not-found", `promotion ${id} does not exist`));
      const next = mutate(clone(current));
      if (next) all.set(id, clone(next));
      return Promise.resolve(clone(next ?? current));
    },
  };
}

/** A lock in memory: one holder per key, others wait in order. */
export function fakeLock(): StageLock & { taken: string[] } {
  const tails = new Map<string, Promise<unknown>>();
  const taken: string[] = [];
  return {
    taken,
    withLock(key, fn) {
      const previous = tails.get(key) ?? Promise.resolve();
      const run = previous.catch(() => undefined).then(() => {
        taken.push(key);
        return fn();
      });
      tails.set(key, run);
      return run;
    },
  };
}

/** A KV for the holds. */
export function fakeHoldsKv(): HoldsKv & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    get: (key) => Promise.resolve(values.has(key) ? { operation: "PUT", string: () => values.get(key) ?? "" } : null),
    put: (key, value) => Promise.resolve(values.set(key, value)),
    delete: (key) => Promise.resolve(values.delete(key)),
  };
}

/** The edits of a record, for assertions. */
export function editsOf(record: PromotionRecord): Edit[] {
  return record.edits;
}

/** The HubError `promise` is refused with; fails the test when it resolves or throws anything else. */
export async function refusal(promise: Promise<unknown>): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal");
}
