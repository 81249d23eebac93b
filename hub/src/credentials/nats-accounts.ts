// The NATS account layout agents need (docs/security.md, "NATS accounts"): the hub's account
// exports the desired-state subjects, the agents account imports them, has no JetStream and
// mints its users through a scoped signing key. The lab builds its accounts from these; an
// operator builds the same with nsc.
import type { Account, Export, Import } from "@nats-io/jwt";
import { bucketNames } from "../store/buckets.js";
import { agentScopedSigningKey } from "./nats-user-jwt.js";

/** The exports of the hub's account: pointer puts as a stream, direct gets as a service. */
export function hubAccountExports(bucket: string = bucketNames.desired): Export[] {
  return [
    { name: "gitfleet-desired-updates", subject: `$KV.${bucket}.>`, type: "stream" },
    { name: "gitfleet-desired-reads", subject: `$JS.API.DIRECT.GET.KV_${bucket}.>`, type: "service", response_type: "Singleton" },
  ];
}

/** The imports of the agents account from the hub's account `hubAccountPublicKey`. */
export function agentsAccountImports(hubAccountPublicKey: string, bucket: string = bucketNames.desired): Import[] {
  return hubAccountExports(bucket).map((e) => ({ name: e.name, subject: e.subject, account: hubAccountPublicKey, type: e.type }));
}

/**
 * Account limits of the agents account. `conn` bounds agents connected at once (one connection
 * each); subs and payload bound the account as a whole. JetStream stays off: no storage limit
 * is set, so no stream or consumer can be created in the account.
 */
export const defaultAgentsAccountLimits = { conn: 10_000, subs: 100_000, payload: 1024, data: -1, imports: 2, exports: 0, wildcards: true, leaf: 0 } as const;

/** Options of {@link agentsAccountClaims}. */
export interface AgentsAccountOptions {
  hubAccountPublicKey: string;
  /** Public key of the scoped signing key the hub mints agent users with. */
  scopedSigningKey: string;
  bucket?: string;
  limits?: Partial<typeof defaultAgentsAccountLimits>;
}

/** The claims of the agents account JWT (without revocations). */
export function agentsAccountClaims(options: AgentsAccountOptions): Partial<Account> {
  return {
    imports: agentsAccountImports(options.hubAccountPublicKey, options.bucket),
    signing_keys: [agentScopedSigningKey(options.scopedSigningKey, options.bucket)],
    limits: { ...defaultAgentsAccountLimits, ...options.limits },
  };
}
