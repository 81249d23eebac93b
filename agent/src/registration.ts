// First start: generate keys, store them, call Register, store the identity. Every later
// start: load the identity and never call Register again.
import { updatePinnedKeys } from "./desired-trust.js";
import { GrpcStatus, nativeKeyPair, toRpcError } from "@gitfleet/proto";
import type { RegisterResponse } from "@gitfleet/proto";
import type { Logger } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createBackoff } from "./backoff.js";
import type { Clock } from "./clock.js";
import { AgentError, RegistrationError } from "./errors.js";
import type { RegisterRequestInit } from "./hub-client.js";
import { credentialsFromProto, generateKeySeeds } from "./identity.js";
import type { AgentIdentity, AgentKeySeeds, IdentityStore } from "./identity.js";

/** Options of {@link ensureIdentity}. */
export interface EnsureIdentityOptions {
  store: IdentityStore;
  /** Needed only when the agent has not registered yet. */
  hubAddress?: string | undefined;
  token?: string | undefined;
  clusterName?: string | undefined;
  labels: Record<string, string>;
  agentVersion: string;
  /** The API server's version, asked only when registering. */
  kubernetesVersion: () => Promise<string>;
  /** Calls Register on the hub at `hubAddress`; rejects with an RpcError on a refusal. */
  register: (hubAddress: string, request: RegisterRequestInit) => Promise<RegisterResponse>;
  clock: Clock;
  logger: Logger;
  /** Ends retries of an unreachable hub. */
  signal?: AbortSignal;
}

/** Statuses that mean "the hub cannot be reached now": Register is retried. */
const transient = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED]);

/**
 * Returns the agent's identity: the stored one, or a new one from Register. Key pairs are
 * stored before Register is called, so an agent that cannot write its Secret fails before it
 * uses up a registration token. Refusals (bad token, name taken) throw a
 * {@link RegistrationError} with the hub's message; an unreachable hub is retried with backoff
 * until `signal` aborts.
 */
export async function ensureIdentity(options: EnsureIdentityOptions): Promise<{ identity: AgentIdentity; registered: boolean }> {
  const stored = await options.store.load();
  if (stored?.state === "registered") {
    if (options.clusterName && options.clusterName !== stored.identity.clusterName) {
      options.logger.warn(
        { stored: stored.identity.clusterName, given: options.clusterName },
        "the cluster name given differs from the registered one; keeping the registered identity",
      );
    }
    return { identity: stored.identity, registered: false };
  }
  const { hubAddress, token, clusterName } = options;
  if (!hubAddress || !token || !clusterName) {
    const missing = [!hubAddress && "--hub", !token && "--token", !clusterName && "--cluster-name"].filter(Boolean).join(", ");
    throw new AgentError("invalid-config", `the agent is not registered yet and needs ${missing} to register`);
  }
  const keys = stored?.keys ?? generateKeySeeds();
  if (!stored) await options.store.save({ state: "pending", keys });

  const request: RegisterRequestInit = {
    token,
    clusterName,
    labels: options.labels,
    agentVersion: options.agentVersion,
    kubernetesVersion: await options.kubernetesVersion(),
    keys: { natsUserPublicKey: publicKeyOf(keys.natsUserSeed), signingPublicKey: publicKeyOf(keys.signingSeed) },
  };
  const response = await registerWithRetry(options, hubAddress, request);
  const identity = identityFrom(response, keys, hubAddress, options.clock.now());
  try {
    await options.store.save({ state: "registered", identity });
  } catch (error) {
    throw new AgentError(
      "identity-invalid",
      `registered as cluster ${identity.clusterName} (${identity.clusterId}) but cannot store the identity: ${messageOf(error)}`,
      { cause: error },
    );
  }
  options.logger.info({ cluster: identity.clusterName, clusterId: identity.clusterId }, "registered with the hub");
  return { identity, registered: true };
}

async function registerWithRetry(options: EnsureIdentityOptions, hubAddress: string, request: RegisterRequestInit): Promise<RegisterResponse> {
  const backoff = createBackoff({ minMs: 500, maxMs: 30_000 });
  for (;;) {
    try {
      return await options.register(hubAddress, request);
    } catch (error) {
      const rpc = toRpcError(error);
      if (!transient.has(rpc.code)) {
        throw new RegistrationError("refused", rpc.codeName, `registration refused by the hub at ${hubAddress}: ${rpc.message}`, { cause: error });
      }
      if (options.signal?.aborted) {
        throw new RegistrationError("failed", rpc.codeName, `cannot reach the hub at ${hubAddress} to register: ${rpc.message}`, { cause: error });
      }
      const delay = backoff.next();
      options.logger.warn({ hub: hubAddress, status: rpc.codeName, retryInMs: delay }, `cannot reach the hub to register: ${rpc.message}`);
      await options.clock.sleep(delay, options.signal);
    }
  }
}

function identityFrom(response: RegisterResponse, keys: AgentKeySeeds, hubAddress: string, now: number): AgentIdentity {
  const invalid = (what: string): never => {
    throw new AgentError("identity-invalid", `the hub's Register answer is unusable: ${what}`);
  };
  if (!/^c[a-z2-7]{20}$/.test(response.clusterId)) invalid(`cluster id "${response.clusterId}" is not c + 20 base32 characters`);
  const location = response.desiredState ?? invalid("desired_state is missing");
  if (!location.kvBucket) invalid("desired_state.kv_bucket is empty");
  if (!/^[A-Za-z0-9_-]+$/.test(location.keyPrefix)) invalid(`desired_state.key_prefix "${location.keyPrefix}" is not one KV key token`);
  return {
    ...keys,
    clusterId: response.clusterId,
    clusterName: response.clusterName,
    labels: { ...response.labels },
    hubAddress,
    kvBucket: location.kvBucket,
    keyPrefix: location.keyPrefix,
    heartbeatIntervalSeconds: response.heartbeatIntervalSeconds || 15,
    credentials: credentialsFromProto(response.credentials, now),
    registeredAt: new Date(now).toISOString(),
    // Pinned from the answer to Register, over the channel the agent verified the hub on.
    desiredStateKeys: updatePinnedKeys([], response.desiredStateKeys).keys,
  };
}

function publicKeyOf(seed: string): string {
  return nativeKeyPair(seed).getPublicKey();
}
