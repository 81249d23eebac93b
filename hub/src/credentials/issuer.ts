// Issues the short-lived Credentials of an agent and authenticates its gRPC token.
import { create, CredentialsSchema, timestampFromDate, type Credentials } from "@gitfleet/proto";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { issueGrpcToken, verifyGrpcToken, type GrpcTokenClaims } from "./grpc-token.js";
import { agentInboxPrefix, mintAgentNatsJwt } from "./nats-user-jwt.js";

/** Options of {@link createCredentialIssuer}. */
export interface CredentialIssuerOptions {
  /** HMAC key of gRPC tokens, shared by all replicas (gitfleet_hub `credential-key`). */
  credentialKey: Uint8Array;
  /** Public key ("A...") of the account agents live in: the agents account, or the hub's own. */
  accountPublicKey: string;
  /** Seed ("SA...") of the account signing key the hub mints users with. */
  accountSigningSeed: string;
  /** True when that key is the agents account's scoped signing key (its template holds the permissions). */
  scopedSigningKey?: boolean;
  /** NATS URLs given to agents. */
  natsServers: readonly string[];
  /** Lifetime of issued credentials. */
  ttlMs: number;
  now?: () => Date;
}

/** Credentials and the moment they stop working. */
export interface IssuedCredentials {
  credentials: Credentials;
  expiresAt: Date;
}

/** Issues and checks agent credentials. */
export interface CredentialIssuer {
  /** Lifetime of issued credentials, in milliseconds. */
  readonly ttlMs: number;
  /** Mints a NATS user JWT and a gRPC token for the cluster's current epoch. */
  issue(cluster: ClusterRecord): Promise<IssuedCredentials>;
  /** Checks form, MAC and expiry of a gRPC token (not the epoch: see {@link authenticateAgent}). */
  verify(token: string): GrpcTokenClaims;
}

/** Creates the credential issuer. */
export function createCredentialIssuer(options: CredentialIssuerOptions): CredentialIssuer {
  const now = options.now ?? (() => new Date());
  return {
    ttlMs: options.ttlMs,
    async issue(cluster) {
      // Whole seconds, so the JWT, the token and the message agree on the instant.
      const expiresAt = new Date(Math.floor((now().getTime() + options.ttlMs) / 1000) * 1000);
      const natsUserJwt = await mintAgentNatsJwt({
        clusterId: cluster.id,
        clusterName: cluster.name,
        userPublicKey: cluster.natsUserPublicKey,
        accountPublicKey: options.accountPublicKey,
        accountSigningSeed: options.accountSigningSeed,
        scoped: options.scopedSigningKey ?? false,
        expiresAt,
      });
      const grpcToken = issueGrpcToken(options.credentialKey, {
        cid: cluster.id,
        epoch: cluster.credentialEpoch,
        exp: expiresAt.getTime() / 1000,
      });
      const credentials = create(CredentialsSchema, {
        natsUserJwt,
        grpcToken,
        expiresAt: timestampFromDate(expiresAt),
        natsServers: [...options.natsServers],
        natsInboxPrefix: agentInboxPrefix(cluster.id),
      });
      return { credentials, expiresAt };
    },
    verify: (token) => verifyGrpcToken(options.credentialKey, token, now()),
  };
}

/** What {@link authenticateAgent} needs to look a cluster up. */
export interface ClusterLookup {
  read(id: string): Promise<ClusterRecord | undefined>;
}

/** An authenticated agent: its cluster and its token's claims. */
export interface AgentIdentity {
  cluster: ClusterRecord;
  claims: GrpcTokenClaims;
}

/**
 * Authenticates the `authorization` metadata value of a Connect stream:
 * `Bearer <grpc_token>` with a valid MAC, not expired, for a cluster that still
 * exists, of its current credential epoch. Throws HubError `unauthenticated`.
 */
export async function authenticateAgent(
  issuer: CredentialIssuer,
  clusters: ClusterLookup,
  authorization: string | undefined,
): Promise<AgentIdentity> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? "");
  if (!match) {
    throw new HubError(
      "unauthenticated",
      'missing gRPC credential: send metadata "authorization: Bearer <grpc_token>" from Register',
    );
  }
  const claims = issuer.verify(match[1] ?? "");
  const cluster = await clusters.read(claims.cid);
  if (!cluster) {
    throw new HubError(
      "unauthenticated",
      `cluster ${claims.cid} is not registered (it was deleted); the agent must register again`,
    );
  }
  if (claims.epoch < cluster.credentialEpoch) {
    throw new HubError(
      "unauthenticated",
      `gRPC credential of cluster ${cluster.name} was revoked (epoch ${claims.epoch}, current ${cluster.credentialEpoch}); the agent must register again`,
    );
  }
  return { cluster, claims };
}
