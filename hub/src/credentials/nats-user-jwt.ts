// NATS user JWTs for agents (docs/protocol.md, "An agent's NATS permissions"):
// each agent may read its own cluster's desired state and nothing else.
import { nativeKeyPair } from "@gitfleet/proto";
import { encodeUser, type SigningKey, type User, type UserPermissionsLimits } from "@nats-io/jwt";
import { bucketNames } from "../store/buckets.js";

/** Subject permissions of one agent user. */
export interface AgentNatsPermissions {
  pub: { allow: string[] };
  sub: { allow: string[] };
}

/** The inbox prefix an agent of `clusterId` must connect with. */
export function agentInboxPrefix(clusterId: string): string {
  return `_INBOX_${clusterId}`;
}

/** The user tag that names an agent's cluster; the scoped signing key's template reads it. */
export const agentClusterTag = "cluster";

/**
 * The publish and subscribe allow lists of the agent of `clusterId`, exactly as docs/protocol.md
 * lists them: a direct get of its own keys, a core subscription on its own pointer, its inbox.
 * No consumer, stream or account API at all.
 */
export function agentNatsPermissions(clusterId: string, bucket: string = bucketNames.desired): AgentNatsPermissions {
  return {
    pub: { allow: [`$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${clusterId}.>`] },
    sub: { allow: [`$KV.${bucket}.${clusterId}.desired`, `${agentInboxPrefix(clusterId)}.>`] },
  };
}

/**
 * Per-user limits of an agent. An agent holds two subscriptions (its pointer and the request
 * inbox) and publishes only empty direct-get requests. nats-server 2.15 enforces `subs` and
 * `payload` per user; it reads but does not enforce `data` (docs/security.md).
 */
export const agentUserLimits = { subs: 8, payload: 1024, data: -1 } as const;

/** The permissions and limits of every agent user, with the cluster id as `{{tag(cluster)}}`. */
export function agentUserTemplate(bucket: string = bucketNames.desired): Partial<UserPermissionsLimits> {
  const permissions = agentNatsPermissions(`{{tag(${agentClusterTag})}}`, bucket);
  return {
    pub: { allow: permissions.pub.allow, deny: [] },
    sub: { allow: permissions.sub.allow, deny: [] },
    ...agentUserLimits,
    bearer_token: false,
  };
}

/** The scoped signing key entry of the agents account (what `nsc edit signing-key` creates). */
export function agentScopedSigningKey(signingKeyPublicKey: string, bucket: string = bucketNames.desired): SigningKey {
  return { kind: "user_scope", key: signingKeyPublicKey, role: "gitfleet-agent", template: agentUserTemplate(bucket) };
}

/** Options of {@link mintAgentNatsJwt}. */
export interface MintAgentNatsJwtOptions {
  clusterId: string;
  clusterName: string;
  /** The agent's NATS user public nkey ("U..."). */
  userPublicKey: string;
  /** Public key ("A...") of the account agents live in; named in `issuer_account`. */
  accountPublicKey: string;
  /** Seed ("SA...") of a signing key listed in that account's JWT. */
  accountSigningSeed: string;
  /**
   * True when the signing key is the agents account's scoped key: the JWT then carries only
   * the cluster tag and the key's template supplies permissions and limits. False (the hub and
   * agents share one account): the JWT carries them itself.
   */
  scoped: boolean;
  expiresAt: Date;
}

/**
 * Mints a user JWT for an agent's public nkey, signed by an account signing key: the server
 * accepts it without any configuration change, and stops accepting it at `expiresAt`.
 */
export async function mintAgentNatsJwt(options: MintAgentNatsJwtOptions): Promise<string> {
  const tags = [`${agentClusterTag}:${options.clusterId}`];
  let claims: Partial<User>;
  if (options.scoped) {
    claims = { tags };
  } else {
    const permissions = agentNatsPermissions(options.clusterId);
    claims = {
      tags,
      pub: { allow: permissions.pub.allow, deny: [] },
      sub: { allow: permissions.sub.allow, deny: [] },
      ...agentUserLimits,
    };
  }
  return encodeUser(
    `gitfleet-agent-${options.clusterName}-${options.clusterId}`,
    options.userPublicKey,
    options.accountPublicKey,
    claims,
    {
      signer: nativeKeyPair(options.accountSigningSeed),
      scopedUser: options.scoped,
      exp: Math.floor(options.expiresAt.getTime() / 1000),
    },
  );
}
