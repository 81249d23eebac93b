// NATS user JWTs for agents (docs/protocol.md, "An agent's NATS permissions"):
// each agent may read its own cluster's key space of gitfleet_desired and nothing else.
import { encodeUser, type User } from "@nats-io/jwt";
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

/** The publish and subscribe allow lists of the agent of `clusterId`, exactly as docs/protocol.md lists them. */
export function agentNatsPermissions(clusterId: string, bucket: string = bucketNames.desired): AgentNatsPermissions {
  const stream = `KV_${bucket}`;
  return {
    pub: {
      allow: [
        "$JS.API.INFO",
        `$JS.API.STREAM.INFO.${stream}`,
        `$JS.API.DIRECT.GET.${stream}.$KV.${bucket}.${clusterId}.>`,
        `$JS.API.CONSUMER.CREATE.${stream}.*.$KV.${bucket}.${clusterId}.>`,
        `$JS.API.CONSUMER.INFO.${stream}.*`,
        `$JS.FC.${stream}.>`,
        `$JS.ACK.${stream}.>`,
      ],
    },
    sub: { allow: [`${agentInboxPrefix(clusterId)}.>`] },
  };
}

/** Options of {@link mintAgentNatsJwt}. */
export interface MintAgentNatsJwtOptions {
  clusterId: string;
  clusterName: string;
  /** The agent's NATS user public nkey ("U..."). */
  userPublicKey: string;
  /** Public key ("A...") of the gitfleet account; named in `issuer_account`. */
  accountPublicKey: string;
  /** Seed ("SA...") of a signing key listed in the account's JWT. */
  accountSigningSeed: string;
  expiresAt: Date;
}

/**
 * Mints a user JWT for an agent's public nkey, signed by the account signing
 * key: the server accepts it without any configuration change, and stops
 * accepting it at `expiresAt`.
 */
export async function mintAgentNatsJwt(options: MintAgentNatsJwtOptions): Promise<string> {
  const permissions = agentNatsPermissions(options.clusterId);
  const claims: Partial<User> = {
    pub: { allow: permissions.pub.allow, deny: [] },
    sub: { allow: permissions.sub.allow, deny: [] },
  };
  return encodeUser(
    `gitfleet-agent-${options.clusterName}-${options.clusterId}`,
    options.userPublicKey,
    options.accountPublicKey,
    claims,
    {
      signer: options.accountSigningSeed,
      exp: Math.floor(options.expiresAt.getTime() / 1000),
    },
  );
}
