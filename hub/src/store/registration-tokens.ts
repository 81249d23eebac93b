// Registration tokens (docs/protocol.md, "Registration tokens"): stored hashed,
// consumed with a compare-and-set on the record's KV revision.
import { createHash } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { HubError } from "../errors.js";
import type { Labels } from "@gitfleet/proto/rules";
import type { AllowedLabels } from "../labels/label-policy.js";
import { base32Lower, constantTimeEqual, newSecret, sha256Hex } from "../secrets.js";
import { isRevisionConflict, storeError } from "./buckets.js";

/** Prefix of every registration token secret. */
export const registrationSecretPrefix = "gf_reg_";
const secretPattern = /^gf_reg_[A-Za-z0-9_-]{43}$/;

/** A registration token record as stored (JSON) in gitfleet_tokens. */
export interface RegistrationToken {
  /** `t` followed by 20 lowercase base32 characters. */
  id: string;
  description: string;
  /** Labels every cluster registered with this token gets; they win over the agent's. */
  labels: Labels;
  /**
   * Other label keys an agent may set, with their values (`"*"`: any). Absent (records
   * stored before it existed) means none: the agent gets the preset labels only.
   */
  allowedLabels?: AllowedLabels;
  createdAt: string;
  expiresAt: string;
  maxUses: number;
  uses: number;
  revoked: boolean;
  revokedAt?: string;
  /**
   * Clusters that took a use and whose record was not yet seen stored, by id: what makes giving a
   * use back exact (only a use that was taken, only once). Settled ids are dropped at the next
   * group of uses, so the record stays small however many clusters the token registers; the
   * clusters registered with a token are the cluster records naming it.
   */
  pendingClusterIds: string[];
  /** SHA-256 hex of the secret; the secret itself is never stored. */
  secretHash: string;
}

/** What {@link RegistrationTokenStore.create} takes. */
export interface NewRegistrationToken {
  ttlMs: number;
  maxUses: number;
  labels: Labels;
  /** Other label keys (and values) an agent may set; empty allows none. */
  allowedLabels?: AllowedLabels;
  description: string;
}

/** The secret of a new token (shown once) and its record. */
export interface CreatedRegistrationToken {
  secret: string;
  token: RegistrationToken;
}

/** Options of {@link createRegistrationTokenStore}. */
export interface RegistrationTokenStoreOptions {
  kv: KV;
  now?: () => Date;
  /** How often a lost compare-and-set is retried before giving up; default 50. */
  maxAttempts?: number;
  /**
   * Whether the record of cluster `clusterId` is stored (its registration is complete); its use is
   * then no longer pending. Default: never, so pending ids stay until given back.
   */
  isRegistered?: (clusterId: string) => boolean;
}

/** The registration token store. */
export interface RegistrationTokenStore {
  create(input: NewRegistrationToken): Promise<CreatedRegistrationToken>;
  /** Every token, newest first. */
  list(): Promise<RegistrationToken[]>;
  /** Throws HubError `not-found` when there is no such token. */
  get(id: string): Promise<RegistrationToken>;
  /** Marks a token revoked; revoking twice is not an error. */
  revoke(id: string): Promise<RegistrationToken>;
  /**
   * Checks that `secret` names a usable token without using it; throws the
   * protocol's refusal (HubError `unauthenticated`) otherwise.
   */
  check(secret: string): Promise<RegistrationToken>;
  /**
   * The token `secret` belongs to, whatever its uses, expiry or revocation; throws the protocol's
   * refusal for a secret that is not a token's.
   */
  identify(secret: string): Promise<RegistrationToken>;
  /**
   * Uses `secret` once, atomically: of concurrent consumers of a token with n
   * uses left, exactly n win. Throws the protocol's refusal otherwise.
   * `clusterId` is recorded with the use.
   */
  consume(secret: string, clusterId: string): Promise<RegistrationToken>;
  /** Gives back a use taken by {@link consume} for `clusterId` when the registration failed later. */
  release(id: string, clusterId: string): Promise<void>;
}

/** A use of a token waiting to be taken with others (see consume). */
interface PendingUse {
  hash: string;
  clusterId: string;
  resolve: (token: RegistrationToken) => void;
  reject: (err: unknown) => void;
}

/**
 * A record as stored. Versions before pendingClusterIds listed every cluster registered with the
 * token in clusterIds, and still do while they run beside this one in a rolling upgrade: those ids
 * are pending too (settled ones are dropped at the next group of uses). This version writes the
 * list empty, which those versions read without failing.
 */
interface StoredRegistrationToken extends Omit<RegistrationToken, "pendingClusterIds"> {
  pendingClusterIds?: string[];
  clusterIds?: string[];
}

function fromStored(stored: StoredRegistrationToken): RegistrationToken {
  const { clusterIds = [], pendingClusterIds = [], ...rest } = stored;
  return { ...rest, pendingClusterIds: [...pendingClusterIds, ...clusterIds.filter((id) => !pendingClusterIds.includes(id))] };
}

function toStored(token: RegistrationToken): string {
  return JSON.stringify({ ...token, clusterIds: [] } satisfies StoredRegistrationToken);
}

/** The token id of a secret: derived from it, so a lookup is one KV get. */
export function tokenIdOf(secret: string): string {
  const digest = createHash("sha256").update(`gitfleet registration token id\0${secret}`, "utf8").digest();
  return `t${base32Lower(digest).slice(0, 20)}`;
}

/** Creates the store on the gitfleet_tokens bucket. */
export function createRegistrationTokenStore(options: RegistrationTokenStoreOptions): RegistrationTokenStore {
  const { kv } = options;
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? 50;
  const isRegistered = options.isRegistered ?? (() => false);

  const read = async (id: string): Promise<{ token: RegistrationToken; revision: number } | undefined> => {
    let entry;
    try {
      entry = await kv.get(id);
    } catch (err) {
      throw storeError(`cannot read registration token ${id}`, err);
    }
    if (!entry || entry.operation !== "PUT") return undefined;
    return { token: fromStored(entry.json<StoredRegistrationToken>()), revision: entry.revision };
  };

  // Applies `change` with a compare-and-set, reading again after every lost race.
  const modify = async (
    id: string,
    change: (token: RegistrationToken) => RegistrationToken | undefined,
    missing: () => never,
  ): Promise<RegistrationToken> => {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await read(id);
      if (!current) return missing();
      const next = change(current.token);
      if (!next) return current.token;
      try {
        await kv.update(id, toStored(next), current.revision);
        return next;
      } catch (err) {
        if (!isRevisionConflict(err)) throw storeError(`cannot update registration token ${id}`, err);
      }
    }
    throw new HubError("unavailable", `registration token ${id} is under heavy contention; try again`);
  };

  const notFound = (id: string) => (): never => {
    throw new HubError("not-found", `registration token ${id} does not exist`);
  };
  const notValid = (): never => {
    throw new HubError("unauthenticated", "registration token is not valid");
  };

  // The protocol's refusals, in the order an operator would look for them.
  const refuseUnusable = (token: RegistrationToken): void => {
    if (token.revoked) throw new HubError("unauthenticated", `registration token ${token.id} was revoked`);
    if (Date.parse(token.expiresAt) <= now().getTime()) {
      throw new HubError("unauthenticated", `registration token ${token.id} expired at ${token.expiresAt}`);
    }
    if (token.uses >= token.maxUses) {
      throw new HubError(
        "unauthenticated",
        `registration token ${token.id} has no uses left (${token.uses} of ${token.maxUses} used)`,
      );
    }
  };

  // Uses of one token wanted at the same time are taken together: one read and one compare-and-set
  // for the whole group instead of one per use, which under a registration storm were mostly lost
  // races, each re-reading a record that grows with every cluster registered with the token.
  const consuming = new Map<string, PendingUse[]>();
  const flushing = new Set<string>();
  const flushConsumes = async (id: string): Promise<void> => {
    flushing.add(id);
    try {
      for (let group = consuming.get(id); group !== undefined && group.length > 0; group = consuming.get(id)) {
        consuming.delete(id);
        await takeUses(id, group);
      }
    } finally {
      flushing.delete(id);
    }
  };
  const takeUses = async (id: string, group: PendingUse[]): Promise<void> => {
    let settled: Array<() => void> = [];
    try {
      await modify(
        id,
        (token) => {
          // Decided again on every attempt, from the record as it is now.
          settled = [];
          let uses = token.uses;
          const taken: PendingUse[] = [];
          for (const use of group) {
            if (!constantTimeEqual(token.secretHash, use.hash)) {
              settled.push(() => use.reject(new HubError("unauthenticated", "registration token is not valid")));
              continue;
            }
            try {
              refuseUnusable({ ...token, uses });
            } catch (err) {
              settled.push(() => use.reject(err));
              continue;
            }
            uses++;
            taken.push(use);
          }
          if (taken.length === 0) return undefined;
          const pendingClusterIds = [...token.pendingClusterIds.filter((id) => !isRegistered(id)), ...taken.map((use) => use.clusterId)];
          const next = { ...token, uses, pendingClusterIds };
          for (const use of taken) settled.push(() => use.resolve(next));
          return next;
        },
        notValid,
      );
    } catch (err) {
      for (const use of group) use.reject(err);
      return;
    }
    for (const settle of settled) settle();
  };

  const bySecret = async (secret: string): Promise<RegistrationToken> => {
    if (!secretPattern.test(secret)) return notValid();
    const current = await read(tokenIdOf(secret));
    if (!current || !constantTimeEqual(current.token.secretHash, sha256Hex(secret))) return notValid();
    return current.token;
  };

  return {
    async create(input) {
      const secret = newSecret(registrationSecretPrefix);
      const created = now();
      const token: RegistrationToken = {
        id: tokenIdOf(secret),
        description: input.description,
        labels: { ...input.labels },
        allowedLabels: Object.fromEntries(Object.entries(input.allowedLabels ?? {}).map(([k, v]) => [k, [...v]])),
        createdAt: created.toISOString(),
        expiresAt: new Date(created.getTime() + input.ttlMs).toISOString(),
        maxUses: input.maxUses,
        uses: 0,
        revoked: false,
        pendingClusterIds: [],
        secretHash: sha256Hex(secret),
      };
      try {
        await kv.create(token.id, toStored(token));
      } catch (err) {
        throw storeError("cannot store the registration token", err);
      }
      return { secret, token };
    },

    async list() {
      const tokens: RegistrationToken[] = [];
      try {
        const keys = await kv.keys();
        const ids: string[] = [];
        for await (const id of keys) ids.push(id);
        for (const id of ids) {
          const current = await read(id);
          if (current) tokens.push(current.token);
        }
      } catch (err) {
        throw storeError("cannot list registration tokens", err);
      }
      return tokens.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },

    async get(id) {
      const current = await read(id);
      return current ? current.token : notFound(id)();
    },

    revoke(id) {
      return modify(
        id,
        (token) => (token.revoked ? undefined : { ...token, revoked: true, revokedAt: now().toISOString() }),
        notFound(id),
      );
    },

    async check(secret) {
      const token = await bySecret(secret);
      refuseUnusable(token);
      return token;
    },

    identify: bySecret,

    consume(secret, clusterId) {
      if (!secretPattern.test(secret)) return Promise.reject(new HubError("unauthenticated", "registration token is not valid"));
      const id = tokenIdOf(secret);
      const hash = sha256Hex(secret);
      return new Promise<RegistrationToken>((resolve, reject) => {
        const batch = consuming.get(id) ?? [];
        batch.push({ hash, clusterId, resolve, reject });
        consuming.set(id, batch);
        if (batch.length === 1 && !flushing.has(id)) void flushConsumes(id);
      });
    },

    async release(id, clusterId) {
      try {
        await modify(
          id,
          (token) => {
            if (!token.pendingClusterIds.includes(clusterId)) return undefined;
            const pendingClusterIds = token.pendingClusterIds.filter((id) => id !== clusterId);
            return { ...token, uses: Math.max(0, token.uses - 1), pendingClusterIds };
          },
          notFound(id),
        );
      } catch (err) {
        // A token deleted meanwhile has no use left to give back.
        if (!(err instanceof HubError && err.code === "not-found")) throw err;
      }
    },
  };
}
