// AgentService.Register: a registration token for a cluster identity and its first credentials.
import { create, RegisterResponseSchema, type RegisterRequest, type RegisterResponse, type TrustedKey } from "@gitfleet/proto";
import { agentVersionProblem } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import type { CredentialIssuer } from "../credentials/issuer.js";
import { HubError } from "../errors.js";
import { refusedLabels } from "../labels/label-policy.js";
import { newId } from "../secrets.js";
import { bucketNames } from "../store/buckets.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { RegistrationTokenStore } from "../store/registration-tokens.js";
import { validateRegisterRequest } from "./register-request.js";

/** What {@link register} needs. */
export interface RegisterDeps {
  tokens: RegistrationTokenStore;
  clusters: ClusterStore;
  issuer: CredentialIssuer;
  logger: Logger;
  heartbeatIntervalSeconds: number;
  /** The hub's version; agents outside the versions it accepts are refused (docs/protocol.md "Versions"). */
  hubVersion: string;
  /** The desired-state keys the agent pins (docs/protocol.md, "Signed desired state"). */
  trustedKeys: () => TrustedKey[];
  /** Called once the cluster record is stored. */
  onRegistered: (cluster: ClusterRecord) => void;
  now: () => Date;
}

type ValidRegisterRequest = ReturnType<typeof validateRegisterRequest>;

/**
 * Registers a cluster. The order keeps the protocol's promise that a refused
 * registration creates no cluster record and uses nothing: validate, check the
 * agent's version, check the token and the labels it grants, reserve the name, take a use, store the record; every later failure
 * gives back what the earlier steps took.
 *
 * A retry of a registration that succeeded but whose answer was lost (its hub replica died, the
 * connection broke) is answered with the same cluster again instead of a refusal: see
 * {@link registeredBefore}.
 */
export async function register(deps: RegisterDeps, request: RegisterRequest): Promise<RegisterResponse> {
  const valid = validateRegisterRequest(request);
  const versionProblem = agentVersionProblem(valid.agentVersion, deps.hubVersion);
  if (versionProblem !== undefined) throw new HubError("failed-precondition", `cannot register cluster ${valid.clusterName}: ${versionProblem}`);
  try {
    return await registerNew(deps, valid);
  } catch (err) {
    // Only these refusals can come from the first attempt's success: its name is taken, or it took the last use.
    if (!(err instanceof HubError && (err.code === "already-exists" || err.code === "unauthenticated"))) throw err;
    const before = await registeredBefore(deps, valid).catch(() => undefined);
    if (!before) {
      // Or the first attempt died with its replica after taking the use and before storing the
      // record: its stale reservation gives the use back, and this request goes again.
      // While that registration may still be running, the caller is told to retry, not refused.
      const reclaimed = await reclaimedUse(deps, valid).catch((e: unknown) => {
        if (e instanceof HubError && e.code === "unavailable") throw e;
        return false;
      });
      if (reclaimed) return await registerNew(deps, valid);
      throw err;
    }
    const issued = await deps.issuer.issue(before);
    const record = await deps.clusters.update(before.id, (r) => ({ ...r, credentialsExpireAt: issued.expiresAt.toISOString() }));
    deps.logger.info({ cluster: record.name, clusterId: record.id }, "registration repeated (its first answer was lost); answered the same cluster again");
    return answer(deps, record, issued.credentials);
  }
}

/**
 * The cluster this request registered already, if it is a repeat: the name is held by a cluster
 * registered with the same token (the secret proves it) and the same two public keys, which has
 * never connected. An agent keeps its keys until its registration is answered, so its retry
 * matches; anyone else lacks the private keys the credentials are bound to, and after the first
 * connection a repeat is refused as before.
 */
async function registeredBefore(deps: RegisterDeps, valid: ValidRegisterRequest): Promise<ClusterRecord | undefined> {
  const record = deps.clusters.getByName(valid.clusterName) ?? (await deps.clusters.readByName(valid.clusterName));
  if (!record || record.lastSeen !== null || record.connected || record.credentialEpoch !== 1) return undefined;
  if (record.natsUserPublicKey !== valid.natsUserPublicKey || record.signingPublicKey !== valid.signingPublicKey) return undefined;
  const token = await deps.tokens.identify(valid.token);
  if (token.id !== record.registrationTokenId || token.revoked) return undefined;
  return record;
}

/**
 * Frees the request's name when a registration with the same token died holding it (no record,
 * older than the stale time), and gives back the token use that registration took; true when it did.
 */
async function reclaimedUse(deps: RegisterDeps, valid: ValidRegisterRequest): Promise<boolean> {
  const token = await deps.tokens.identify(valid.token);
  const stale = await deps.clusters.reclaimStaleName(valid.clusterName);
  if (!stale) return false;
  if (stale.tokenId !== undefined) await deps.tokens.release(stale.tokenId, stale.clusterId);
  deps.logger.warn({ cluster: valid.clusterName, staleClusterId: stale.clusterId, token: stale.tokenId }, "a registration died before storing its record; gave back its token use");
  return stale.tokenId === token.id;
}

function answer(deps: RegisterDeps, record: ClusterRecord, credentials: RegisterResponse["credentials"]): RegisterResponse {
  return create(RegisterResponseSchema, {
    clusterId: record.id,
    clusterName: record.name,
    labels: record.labels,
    credentials,
    desiredState: { kvBucket: bucketNames.desired, keyPrefix: record.id },
    heartbeatIntervalSeconds: deps.heartbeatIntervalSeconds,
    desiredStateKeys: deps.trustedKeys(),
  });
}

async function registerNew(deps: RegisterDeps, valid: ValidRegisterRequest): Promise<RegisterResponse> {
  const { tokens, clusters, issuer, logger } = deps;
  const checked = await tokens.check(valid.token);
  // The token decides the labels: its preset ones are fixed, and the agent may ask only for what it allows.
  const refused = refusedLabels(valid.labels, { preset: checked.labels, allowed: checked.allowedLabels });
  if (refused.length > 0) {
    throw new HubError("permission-denied", `cannot register cluster ${valid.clusterName}: ${refused.join("; ")}`);
  }

  const id = newId("c");
  const stale = await clusters.reserveName(valid.clusterName, id, checked.id);
  // The registration that held the name died after taking its token's use: give it back.
  if (stale?.tokenId !== undefined) {
    await tokens.release(stale.tokenId, stale.clusterId).catch((err: unknown) => logger.warn({ err, token: stale.tokenId }, "cannot give back the use of a registration that died"));
  }
  let token;
  try {
    token = await tokens.consume(valid.token, id);
  } catch (err) {
    await clusters.releaseName(valid.clusterName, id);
    throw err;
  }

  let record: ClusterRecord;
  let credentials;
  try {
    record = {
      id,
      name: valid.clusterName,
      // Granted above; the preset labels are applied last all the same.
      labels: { ...valid.labels, ...token.labels },
      registeredAt: deps.now().toISOString(),
      lastSeen: null,
      connected: false,
      credentialEpoch: 1,
      natsUserPublicKey: valid.natsUserPublicKey,
      signingPublicKey: valid.signingPublicKey,
      agentVersion: valid.agentVersion,
      kubernetesVersion: valid.kubernetesVersion,
      observedRevision: "",
      observedGeneration: 0,
      registrationTokenId: token.id,
      credentialsExpireAt: null,
      session: null,
    };
    const issued = await issuer.issue(record);
    credentials = issued.credentials;
    record.credentialsExpireAt = issued.expiresAt.toISOString();
    await clusters.create(record);
  } catch (err) {
    await Promise.allSettled([tokens.release(token.id, id), clusters.releaseName(valid.clusterName, id)]);
    throw err;
  }
  logger.info({ cluster: record.name, clusterId: id, token: token.id, labels: record.labels }, "cluster registered");
  try {
    deps.onRegistered(record);
  } catch (err) {
    logger.error({ err, cluster: record.name }, "a cluster-registered listener failed");
  }
  return answer(deps, record, credentials);
}
