// Revokes a deleted cluster's NATS user at once (docs/security.md, "NATS accounts"): the hub
// keeps the agents account's revocations in the gitfleet_hub bucket, re-signs the account JWT
// the resolver holds with all of them (operator signing key) and pushes it through the system
// account. nats-server then closes the revoked user's connections and refuses it from then on.
// A server that was down during that push keeps its older copy until its resolver syncs, which
// may take several sync intervals; repush() (run by every replica from time to time) hands it
// the account with every recorded revocation again.
import { decode, encodeAccount, type Account, type ClaimsData } from "@nats-io/jwt";
import type { KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { HubError } from "../errors.js";
import { isRevisionConflict } from "../store/buckets.js";

const revocationsKey = "nats-agent-revocations";

/** Options of {@link createNatsRevoker}. */
export interface NatsRevokerOptions {
  /** The gitfleet_hub bucket: the revocations every replica shares. */
  kv: KV;
  servers: string | string[];
  agentAccountPublicKey: string;
  /** Seed ("SO...") of a signing key listed in the operator JWT. */
  operatorSigningSeed: string;
  /** `.creds` text of a system account user. */
  systemCreds: string;
  /**
   * The longest lifetime of a user JWT the hub mints: a revocation older than that covers no
   * JWT that is still valid, so it is dropped from the account JWT.
   */
  maxUserJwtLifetimeMs: number;
  now?: () => Date;
  /**
   * How long revoke() keeps trying while NATS is unavailable (a stream electing a leader, a server
   * restarting) before it gives up; default 20 s. A deleted cluster's revocation must not be lost
   * to a moment of NATS unavailability.
   */
  retryForMs?: number;
}

/** What {@link NatsRevoker.repush} did. */
export type RepushOutcome =
  /** No revocation is recorded: nothing to push. */
  | "none"
  /** The newest account JWT the servers hold had every revocation; it was pushed again as it is. */
  | "pushed"
  /** A server answered an account JWT without some recorded revocation; it was re-signed with them. */
  | "re-signed";

/** Revokes agent users of the agents account. */
export interface NatsRevoker {
  /** Revokes every JWT of `userPublicKey` issued until now, and pushes that to the resolver. */
  revoke(userPublicKey: string): Promise<void>;
  /**
   * Pushes the agents account with every recorded revocation again, so a server that missed a
   * push (it was down or cut off) refuses revoked users without waiting for its resolver sync.
   */
  repush(): Promise<RepushOutcome>;
}

type UpdateReply = { data?: { code?: number; message?: string }; error?: { code?: number; description?: string } };

/** Creates the revoker. */
export function createNatsRevoker(options: NatsRevokerOptions): NatsRevoker {
  const now = options.now ?? (() => new Date());
  const creds = new TextEncoder().encode(options.systemCreds);
  const account = options.agentAccountPublicKey;
  const retryForMs = options.retryForMs ?? 20_000;
  const oldestKept = (at: number): number => at - Math.ceil(options.maxUserJwtLifetimeMs / 1000) - 60;

  const recorded = async (): Promise<{ revocations: Record<string, number>; revision: number } | undefined> => {
    let entry;
    try {
      entry = await options.kv.get(revocationsKey);
    } catch (err) {
      throw new HubError("unavailable", `cannot read the agents account's revocations (gitfleet_hub ${revocationsKey}): ${messageOf(err)}`, { cause: err });
    }
    if (!entry || entry.operation !== "PUT" || entry.length === 0) return undefined;
    const revocations: Record<string, number> = {};
    for (const [key, t] of Object.entries(entry.json<Record<string, unknown>>() ?? {})) if (typeof t === "number") revocations[key] = t;
    return { revocations, revision: entry.revision };
  };

  // Adds the revocation under compare-and-set, pruning entries no valid JWT can predate.
  const record = async (userPublicKey: string, at: number): Promise<{ revocations: Record<string, number>; pruned: Record<string, number> }> => {
    const oldest = oldestKept(at);
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await recorded();
      const next: Record<string, number> = {};
      const pruned: Record<string, number> = {};
      for (const [key, t] of Object.entries(current?.revocations ?? {})) {
        if (t >= oldest) next[key] = t;
        else pruned[key] = t;
      }
      next[userPublicKey] = at;
      try {
        if (current) await options.kv.update(revocationsKey, JSON.stringify(next), current.revision);
        else await options.kv.create(revocationsKey, JSON.stringify(next));
        return { revocations: next, pruned };
      } catch (err) {
        if (!isRevisionConflict(err)) throw new HubError("unavailable", `cannot record the revocation of NATS user ${userPublicKey} (gitfleet_hub ${revocationsKey}): ${messageOf(err)}`, { cause: err });
      }
    }
    throw new HubError("unavailable", `the agents account's revocations (gitfleet_hub ${revocationsKey}) keep changing`);
  };

  const withSystem = async <T>(what: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: options.servers, authenticator: credsAuthenticator(creds), name: "gitfleet-hub revocations", reconnect: false, timeout: 10_000 });
      return await work(nc);
    } catch (err) {
      if (err instanceof HubError) throw err;
      throw new HubError("unavailable", `${what} failed: ${messageOf(err)}`, { cause: err });
    } finally {
      await nc?.close().catch(() => undefined);
    }
  };

  // The newest agents account JWT any server answers: a server that missed an update answers an
  // older one, and building on that would undo what the others hold.
  const newestHeld = async (nc: NatsConnection): Promise<{ jwt: string; claims: ClaimsData<Account> }> => {
    let newest: { jwt: string; claims: ClaimsData<Account> } | undefined;
    const answers = await nc.requestMany(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, undefined, { strategy: "timer", maxWait: 1_500 });
    for await (const answer of answers) {
      const jwt = answer.string().trim();
      if (jwt === "" || !jwt.startsWith("ey")) continue;
      const claims = decode<Account>(jwt);
      if (claims.sub !== account) throw new HubError("unavailable", `the NATS resolver answered a JWT for ${claims.sub}, not the agents account ${account}`);
      if (!newest || (claims.iat ?? 0) > (newest.claims.iat ?? 0)) newest = { jwt, claims };
    }
    if (!newest) throw new HubError("unavailable", `the NATS resolver holds no JWT for the agents account ${account}`);
    return newest;
  };

  const push = async (nc: NatsConnection, jwt: string): Promise<UpdateReply> =>
    (await nc.request("$SYS.REQ.CLAIMS.UPDATE", new TextEncoder().encode(jwt), { timeout: 10_000 })).json<UpdateReply>();

  // Re-signs the held account with the recorded revocations. Revocations the resolver holds that
  // the hub did not record (an operator's nsc edits) are kept; the hub's own ones go once they
  // are older than any JWT it still honours.
  const resign = async (nc: NatsConnection, held: ClaimsData<Account>, revocations: Record<string, number>, pruned: Record<string, number>): Promise<void> => {
    const { type: _type, version: _version, ...body } = held.nats;
    const merged: Record<string, number> = {};
    for (const [key, t] of Object.entries(body.revocations ?? {})) if (pruned[key] === undefined || t > pruned[key]) merged[key] = t;
    Object.assign(merged, revocations);
    const jwt = await encodeAccount(
      held.name,
      account,
      { ...body, revocations: merged },
      { signer: options.operatorSigningSeed, ...(held.exp !== undefined ? { exp: held.exp } : {}) },
    );
    const reply = await push(nc, jwt);
    if (reply.error || (reply.data?.code ?? 200) >= 300) {
      throw new HubError("unavailable", `the NATS resolver refused the agents account update: ${reply.error?.description ?? reply.data?.message ?? "no reason given"}`);
    }
  };

  return {
    async revoke(userPublicKey) {
      const at = Math.floor(now().getTime() / 1000);
      const until = performance.now() + retryForMs;
      // Recording and pushing are both safe to repeat: the same revocation time goes in again.
      for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
        try {
          const { revocations, pruned } = await record(userPublicKey, at);
          await withSystem(`revoking NATS user ${userPublicKey}`, async (nc) => {
            const held = await newestHeld(nc);
            await resign(nc, held.claims, revocations, pruned);
          });
          return;
        } catch (err) {
          if (!(err instanceof HubError && err.code === "unavailable") || performance.now() + delay > until) throw err;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
    async repush() {
      const current = await recorded();
      const oldest = oldestKept(Math.floor(now().getTime() / 1000));
      const live = Object.entries(current?.revocations ?? {}).filter(([, t]) => t >= oldest);
      if (live.length === 0) return "none";
      return await withSystem("pushing the agents account's revocations again", async (nc) => {
        const held = await newestHeld(nc);
        const has = held.claims.nats.revocations ?? {};
        if (live.every(([key, t]) => (has[key] ?? 0) >= t)) {
          // Servers that hold this JWT or a newer one ignore it; one that missed it takes it.
          await push(nc, held.jwt);
          return "pushed";
        }
        await resign(nc, held.claims, Object.fromEntries(live), {});
        return "re-signed";
      });
    },
  };
}

/** A running {@link startRevocationRepush}. */
export interface RevocationRepush {
  stop(): Promise<void>;
}

/**
 * Runs {@link NatsRevoker.repush} about every `intervalMs` (each wait drawn from 80–120% of it,
 * so replicas spread out) until stopped.
 */
export function startRevocationRepush(revoker: Pick<NatsRevoker, "repush">, intervalMs: number, logger: Logger): RevocationRepush {
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopped = false;
  let failing = false;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = once().finally(schedule);
    }, Math.round(intervalMs * (0.8 + Math.random() * 0.4)));
    timer.unref();
  };
  const once = async (): Promise<void> => {
    try {
      const outcome = await revoker.repush();
      if (outcome === "re-signed") logger.warn("a NATS server held the agents account without some revocations; pushed them again");
      else logger.debug({ outcome }, "pushed the agents account's revocations again");
      if (failing) logger.info("pushing the agents account's revocations works again");
      failing = false;
    } catch (err) {
      // Said once per failing streak: NATS being away is reported elsewhere too.
      if (!failing) logger.warn({ err: messageOf(err) }, "cannot push the agents account's revocations again; retrying");
      failing = true;
    }
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
