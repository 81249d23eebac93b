// The agent's identity: its key pairs (generated in the cluster, private halves never leave
// it), the cluster id and credentials the hub returned, kept in a Secret so that a restarted
// agent never registers again.
import { createUser } from "@nats-io/nkeys";
import { timestampDate } from "@gitfleet/proto";
import type { Credentials } from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";
import { parsePinnedKeys } from "./desired-trust.js";
import type { PinnedKey } from "./desired-trust.js";
import { AgentError } from "./errors.js";
import type { KubeClient } from "./kube-client.js";
import { asRecord } from "./kube-objects.js";
import { readSecret, writeSecret } from "./secrets.js";

/** Name of the Secret that holds the agent's identity. */
export const IDENTITY_SECRET = "gitfleet-agent-identity";

/** The agent's private key seeds; they never leave the cluster. */
export interface AgentKeySeeds {
  /** NATS user nkey seed ("SU..."); the hub mints user JWTs for its public key. */
  natsUserSeed: string;
  /** Ed25519 signing nkey seed ("SU..."). */
  signingSeed: string;
}

/** Short-lived credentials from Register or RefreshCredentials. */
export interface AgentCredentials {
  natsUserJwt: string;
  grpcToken: string;
  /** Expiry, in ms since the epoch. */
  expiresAt: number;
  /** When the agent received them, in ms since the epoch. */
  receivedAt: number;
  natsServers: string[];
  natsInboxPrefix: string;
}

/** A registered agent's identity. */
export interface AgentIdentity extends AgentKeySeeds {
  clusterId: string;
  clusterName: string;
  labels: Record<string, string>;
  /** The hub address the agent registered with. */
  hubAddress: string;
  kvBucket: string;
  keyPrefix: string;
  heartbeatIntervalSeconds: number;
  credentials: AgentCredentials;
  /** ISO 8601. */
  registeredAt: string;
  /**
   * The hub's desired-state keys this agent trusts: pinned at registration, changed only by a
   * key list whose new keys are endorsed by a trusted one. Empty or absent for an agent
   * registered before keys were pinned; it trusts the keys of its first Welcome (see
   * docs/protocol.md, "Signed desired state").
   */
  desiredStateKeys?: PinnedKey[];
}

/**
 * What the identity Secret holds: keys generated but not registered yet ("pending"), so a
 * failed Register is retried with the same keys, or a complete registration.
 */
export type StoredIdentity =
  | { state: "pending"; keys: AgentKeySeeds }
  | { state: "registered"; identity: AgentIdentity };

/** Where the identity lives; the real one is a Secret, tests use memory. */
export interface IdentityStore {
  load(): Promise<StoredIdentity | undefined>;
  save(identity: StoredIdentity): Promise<void>;
}

/** Generates the agent's two key pairs. */
export function generateKeySeeds(): AgentKeySeeds {
  const decoder = new TextDecoder();
  return { natsUserSeed: decoder.decode(createUser().getSeed()), signingSeed: decoder.decode(createUser().getSeed()) };
}

/**
 * Converts Credentials from the hub, checking the fields the agent cannot work without.
 * Throws an {@link AgentError} ("identity-invalid") naming the missing field.
 */
export function credentialsFromProto(credentials: Credentials | undefined, receivedAt: number): AgentCredentials {
  if (!credentials) throw new AgentError("identity-invalid", "the hub sent no credentials");
  const missing = (field: string): never => {
    throw new AgentError("identity-invalid", `the hub's credentials lack ${field}`);
  };
  if (!credentials.natsUserJwt) missing("nats_user_jwt");
  if (!credentials.grpcToken) missing("grpc_token");
  if (credentials.natsServers.length === 0) missing("nats_servers");
  if (!credentials.natsInboxPrefix) missing("nats_inbox_prefix");
  return {
    natsUserJwt: credentials.natsUserJwt,
    grpcToken: credentials.grpcToken,
    // Without an expiry the agent assumes the protocol's default lifetime of one hour.
    expiresAt: credentials.expiresAt ? timestampDate(credentials.expiresAt).getTime() : receivedAt + 3_600_000,
    receivedAt,
    natsServers: [...credentials.natsServers],
    natsInboxPrefix: credentials.natsInboxPrefix,
  };
}

/** Options of {@link createSecretIdentityStore}. */
export interface SecretIdentityStoreOptions {
  kube: KubeClient;
  /** The agent's namespace. */
  namespace: string;
  /** Secret name; default {@link IDENTITY_SECRET}. */
  name?: string;
}

/** Keeps the identity in a Secret (`identity.json`, plus `cluster-id` and `cluster-name` for people). */
export function createSecretIdentityStore(options: SecretIdentityStoreOptions): IdentityStore {
  const name = options.name ?? IDENTITY_SECRET;
  const where = `Secret ${options.namespace}/${name}`;
  return {
    async load() {
      const data = await readSecret(options.kube, options.namespace, name);
      const raw = data?.get("identity.json");
      if (!raw) return undefined;
      try {
        return parseStoredIdentity(JSON.parse(raw.toString("utf8")));
      } catch (error) {
        throw new AgentError("identity-invalid", `${where} is damaged (${messageOf(error)}); delete it and register again with a new token`, {
          cause: error,
        });
      }
    },
    async save(stored) {
      const data: Record<string, string> = { "identity.json": JSON.stringify(stored) };
      if (stored.state === "registered") {
        data["cluster-id"] = stored.identity.clusterId;
        data["cluster-name"] = stored.identity.clusterName;
      }
      await writeSecret(options.kube, { namespace: options.namespace, name, data });
    },
  };
}

/** Validates a stored identity read back from JSON; throws an Error saying what is wrong. */
export function parseStoredIdentity(value: unknown): StoredIdentity {
  const record = asRecord(value);
  const text = (from: Record<string, unknown> | undefined, key: string): string => {
    const v = from?.[key];
    if (typeof v !== "string" || v === "") throw new Error(`${key} is missing`);
    return v;
  };
  if (record?.["state"] === "pending") {
    const keys = asRecord(record["keys"]);
    return { state: "pending", keys: { natsUserSeed: text(keys, "natsUserSeed"), signingSeed: text(keys, "signingSeed") } };
  }
  if (record?.["state"] !== "registered") throw new Error("state is neither pending nor registered");
  const id = asRecord(record["identity"]);
  const creds = asRecord(id?.["credentials"]);
  const labels = asRecord(id?.["labels"]) ?? {};
  const servers = creds?.["natsServers"];
  return {
    state: "registered",
    identity: {
      natsUserSeed: text(id, "natsUserSeed"),
      signingSeed: text(id, "signingSeed"),
      clusterId: text(id, "clusterId"),
      clusterName: text(id, "clusterName"),
      labels: Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string")),
      hubAddress: text(id, "hubAddress"),
      kvBucket: text(id, "kvBucket"),
      keyPrefix: text(id, "keyPrefix"),
      heartbeatIntervalSeconds: Number(id?.["heartbeatIntervalSeconds"]) || 15,
      registeredAt: text(id, "registeredAt"),
      desiredStateKeys: parsePinnedKeys(id?.["desiredStateKeys"]),
      credentials: {
        natsUserJwt: text(creds, "natsUserJwt"),
        grpcToken: text(creds, "grpcToken"),
        expiresAt: Number(creds?.["expiresAt"]) || 0,
        receivedAt: Number(creds?.["receivedAt"]) || 0,
        natsServers: Array.isArray(servers) ? servers.filter((s): s is string => typeof s === "string") : [],
        natsInboxPrefix: text(creds, "natsInboxPrefix"),
      },
    },
  };
}
