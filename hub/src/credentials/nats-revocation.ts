// Revokes a deleted cluster's NATS user at once (docs/security.md, "NATS accounts"): the hub
// keeps the agents account's revocations in the gitfleet_hub bucket, re-signs the account JWT
// the resolver holds with all of them (operator signing key) and pushes it through the system
// account. nats-server then closes the revoked user's connections and refuses it from then on.
import { decode, encodeAccount, type Account } from "@nats-io/jwt";
import type { KV } from "@nats-io/kv";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
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
}

/** Revokes agent users of the agents account. */
export interface NatsRevoker {
  /** Revokes every JWT of `userPublicKey` issued until now, and pushes that to the resolver. */
  revoke(userPublicKey: string): Promise<void>;
}

/** Creates the revoker. */
export function createNatsRevoker(options: NatsRevokerOptions): NatsRevoker {
  const now = options.now ?? (() => new Date());
  const creds = new TextEncoder().encode(options.systemCreds);
  const account = options.agentAccountPublicKey;

  // Adds the revocation under compare-and-set, pruning entries no valid JWT can predate.
  const record = async (userPublicKey: string, at: number): Promise<{ revocations: Record<string, number>; pruned: Record<string, number> }> => {
    const oldest = at - Math.ceil(options.maxUserJwtLifetimeMs / 1000) - 60;
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await options.kv.get(revocationsKey);
      const current = entry && entry.operation === "PUT" && entry.length > 0 ? (entry.json<Record<string, number>>() ?? {}) : {};
      const next: Record<string, number> = {};
      const pruned: Record<string, number> = {};
      for (const [key, t] of Object.entries(current)) {
        if (typeof t !== "number") continue;
        if (t >= oldest) next[key] = t;
        else pruned[key] = t;
      }
      next[userPublicKey] = at;
      try {
        if (entry) await options.kv.update(revocationsKey, JSON.stringify(next), entry.revision);
        else await options.kv.create(revocationsKey, JSON.stringify(next));
        return { revocations: next, pruned };
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new HubError("unavailable", `the agents account's revocations (gitfleet_hub ${revocationsKey}) keep changing`);
  };

  return {
    async revoke(userPublicKey) {
      const at = Math.floor(now().getTime() / 1000);
      const { revocations, pruned } = await record(userPublicKey, at);
      const nc = await connect({ servers: options.servers, authenticator: credsAuthenticator(creds), name: "gitfleet-hub revocations", reconnect: false, timeout: 10_000 });
      try {
        const lookup = await nc.request(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, undefined, { timeout: 10_000 });
        const held = lookup.string().trim();
        if (held === "") throw new HubError("unavailable", `the NATS resolver holds no JWT for the agents account ${account}`);
        const claims = decode<Account>(held);
        if (claims.sub !== account) throw new HubError("unavailable", `the NATS resolver answered a JWT for ${claims.sub}, not the agents account ${account}`);
        const { type: _type, version: _version, ...body } = claims.nats;
        // Revocations the resolver holds that the hub did not record (an operator's nsc edits)
        // are kept; the hub's own ones go once they are older than any JWT it still honours.
        const merged: Record<string, number> = {};
        for (const [key, t] of Object.entries(body.revocations ?? {})) if (pruned[key] === undefined || t > pruned[key]) merged[key] = t;
        Object.assign(merged, revocations);
        const jwt = await encodeAccount(
          claims.name,
          account,
          { ...body, revocations: merged },
          { signer: options.operatorSigningSeed, ...(claims.exp !== undefined ? { exp: claims.exp } : {}) },
        );
        const answer = await nc.request("$SYS.REQ.CLAIMS.UPDATE", new TextEncoder().encode(jwt), { timeout: 10_000 });
        const reply = answer.json<{ data?: { code?: number; message?: string }; error?: { code?: number; description?: string } }>();
        if (reply.error || (reply.data?.code ?? 200) >= 300) {
          throw new HubError("unavailable", `the NATS resolver refused the agents account update: ${reply.error?.description ?? reply.data?.message ?? "no reason given"}`);
        }
      } catch (err) {
        if (err instanceof HubError) throw err;
        throw new HubError("unavailable", `revoking NATS user ${userPublicKey} failed: ${messageOf(err)}`, { cause: err });
      } finally {
        await nc.close().catch(() => undefined);
      }
    },
  };
}
