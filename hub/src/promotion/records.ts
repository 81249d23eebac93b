// Promotion records in the gitfleet_promotions bucket: one key per record, its id, which sorts by
// creation time so "newest first" is a sort of the keys. State changes are compare-and-set on the
// key's revision, so two replicas never both move one record.
import { randomBytes } from "node:crypto";
import type { KV, Kvm } from "@nats-io/kv";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { bucketNames, isRevisionConflict, openBucket, storeError } from "../store/buckets.js";
import { canTransition, isFinalState, type NewPromotionRecord, type PromotionRecord, type PromotionState } from "./record.js";

/** Options of {@link createPromotionStore}. */
export interface PromotionStoreOptions {
  /** The gitfleet_promotions bucket ({@link openPromotionsBucket}). */
  kv: KV;
  now?: () => Date;
  /**
   * Records kept; when a new one goes past it, the oldest finished ones are deleted. Default 1000.
   * Records still pending or rolling out are never deleted for it.
   */
  maxRecords?: number;
  /** How often a lost compare-and-set is retried before giving up; default 50. */
  maxAttempts?: number;
  logger?: Logger | undefined;
}

/** Which records {@link PromotionStore.list} returns. */
export interface PromotionFilter {
  pipeline?: string | undefined;
  /** One state, or any of several. */
  state?: PromotionState | readonly PromotionState[] | undefined;
  /** Most records returned; default 100, at most the store's `maxRecords`. */
  limit?: number | undefined;
}

/** The promotion record store. */
export interface PromotionStore {
  /** Stores a new record, filling in its id, times and first transition when absent. */
  create(record: NewPromotionRecord): Promise<PromotionRecord>;
  /** Throws HubError `not-found` when there is no such record. */
  get(id: string): Promise<PromotionRecord>;
  /** Records matching `filter`, newest first. */
  list(filter?: PromotionFilter): Promise<PromotionRecord[]>;
  /**
   * Changes a record with a compare-and-set, calling `mutate` again on the latest record after
   * every lost race. `mutate` returns the new record, or undefined to leave it as it is (the
   * current record is returned). A state change is appended to `transitions` (with the
   * record's `message`) and must be allowed ({@link canTransition}), else HubError `conflict`.
   * `updatedAt` is set by the store.
   */
  update(id: string, mutate: (record: PromotionRecord) => PromotionRecord | undefined): Promise<PromotionRecord>;
}

const idPattern = /^p-[0-9a-z]{9}[0-9a-f]{10}$/;

let lastIdTime = 0;

/**
 * A new record id: `p-`, the time in milliseconds as 9 base-36 digits (sorts as text until the
 * year 5188), and 10 random hex digits. Ids made by one process increase strictly, even within
 * one millisecond.
 */
export function newPromotionId(now: Date = new Date()): string {
  lastIdTime = Math.max(now.getTime(), lastIdTime + 1);
  return `p-${lastIdTime.toString(36).padStart(9, "0")}${randomBytes(5).toString("hex")}`;
}

/** True when `id` has the shape of {@link newPromotionId}. */
export function isPromotionId(id: string): boolean {
  return idPattern.test(id);
}

/** Opens (creating when absent) the gitfleet_promotions bucket. */
export function openPromotionsBucket(kvm: Kvm, replicas: number): Promise<KV> {
  return openBucket(kvm, bucketNames.promotions, { replicas, description: "gitfleet promotion records" });
}

/** Creates the store on the gitfleet_promotions bucket. */
export function createPromotionStore(options: PromotionStoreOptions): PromotionStore {
  const { kv } = options;
  const now = options.now ?? (() => new Date());
  const maxRecords = options.maxRecords ?? 1000;
  const maxAttempts = options.maxAttempts ?? 50;

  const read = async (id: string): Promise<{ record: PromotionRecord; revision: number } | undefined> => {
    if (!isPromotionId(id)) return undefined;
    let entry;
    try {
      entry = await kv.get(id);
    } catch (err) {
      throw storeError(`cannot read promotion ${id}`, err);
    }
    if (!entry || entry.operation !== "PUT") return undefined;
    return { record: entry.json<PromotionRecord>(), revision: entry.revision };
  };

  // Every record id, newest first.
  const ids = async (): Promise<string[]> => {
    const out: string[] = [];
    try {
      for await (const key of await kv.keys()) if (isPromotionId(key)) out.push(key);
    } catch (err) {
      throw storeError("cannot list promotions", err);
    }
    return out.sort().reverse();
  };

  // Deletes the oldest finished records beyond the bound; a failure only delays it to the next create.
  const prune = async (): Promise<void> => {
    const all = await ids();
    for (const id of all.slice(maxRecords).reverse()) {
      const current = await read(id);
      if (!current || !isFinalState(current.record.state)) continue;
      try {
        await kv.purge(id);
      } catch (err) {
        throw storeError(`cannot delete old promotion ${id}`, err);
      }
    }
  };

  return {
    async create(input) {
      const at = (input.createdAt !== undefined ? new Date(input.createdAt) : now()).toISOString();
      const record: PromotionRecord = {
        ...input,
        id: input.id ?? newPromotionId(new Date(at)),
        createdAt: at,
        updatedAt: input.updatedAt ?? at,
        transitions: input.transitions ?? [{ state: input.state, at, ...(input.message !== undefined ? { message: input.message } : {}) }],
      };
      if (!isPromotionId(record.id)) throw new HubError("invalid-argument", `${record.id} is not a promotion id`);
      try {
        await kv.create(record.id, JSON.stringify(record));
      } catch (err) {
        if (isRevisionConflict(err)) throw new HubError("already-exists", `promotion ${record.id} already exists`, { cause: err });
        throw storeError(`cannot store promotion ${record.id}`, err);
      }
      await prune().catch((err: unknown) => options.logger?.warn({ err }, "cannot delete old promotion records; will try again"));
      return record;
    },

    async get(id) {
      const current = await read(id);
      if (!current) throw new HubError("not-found", `promotion ${id} does not exist`);
      return current.record;
    },

    async list(filter = {}) {
      const limit = Math.max(0, Math.min(filter.limit ?? 100, maxRecords));
      const states = filter.state === undefined ? undefined : typeof filter.state === "string" ? [filter.state] : filter.state;
      const out: PromotionRecord[] = [];
      const all = await ids();
      // Read a few at a time, newest first, until the page is full.
      const batch = 16;
      for (let i = 0; i < all.length && out.length < limit; i += batch) {
        const read_ = await Promise.all(all.slice(i, i + batch).map((id) => read(id)));
        for (const current of read_) {
          if (!current || out.length >= limit) continue;
          const { record } = current;
          if (filter.pipeline !== undefined && record.pipeline !== filter.pipeline) continue;
          if (states !== undefined && !states.includes(record.state)) continue;
          out.push(record);
        }
      }
      return out;
    },

    async update(id, mutate) {
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const current = await read(id);
        if (!current) throw new HubError("not-found", `promotion ${id} does not exist`);
        const changed = mutate(current.record);
        if (!changed) return current.record;
        const before = current.record;
        if (changed.id !== before.id) throw new HubError("internal", `promotion ${id}: an update cannot change the id`);
        if (!canTransition(before.state, changed.state)) {
          throw new HubError("conflict", `promotion ${id} is ${before.state}; it cannot become ${changed.state}`);
        }
        const at = now().toISOString();
        const next: PromotionRecord = { ...changed, updatedAt: at };
        if (changed.state !== before.state && changed.transitions.length === before.transitions.length) {
          next.transitions = [...before.transitions, { state: changed.state, at, ...(changed.message !== undefined ? { message: changed.message } : {}) }];
        }
        try {
          await kv.update(id, JSON.stringify(next), current.revision);
          return next;
        } catch (err) {
          if (!isRevisionConflict(err)) throw storeError(`cannot update promotion ${id}`, err);
        }
      }
      throw new HubError("unavailable", `promotion ${id} is under heavy contention; try again`);
    },
  };
}
