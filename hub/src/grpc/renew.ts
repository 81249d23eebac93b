// AgentService.Renew: fresh credentials for an agent that proves it holds its cluster's signing
// key, so an agent cut off for longer than its credentials' lifetime recovers on its own.
import { create, RenewResponseSchema, type RenewRequest, type RenewResponse, type TrustedKey } from "@gitfleet/proto";
import type { Logger } from "pino";
import type { CredentialIssuer } from "../credentials/issuer.js";
import { HubError } from "../errors.js";
import type { ClusterStore } from "../store/clusters.js";
import { checkRenewNotReplayed, checkRenewProof, validateRenewRequest } from "./renew-request.js";

/** What {@link renew} needs. */
export interface RenewDeps {
  clusters: ClusterStore;
  issuer: CredentialIssuer;
  /** The desired-state keys agents should trust now. */
  trustedKeys: () => TrustedKey[];
  logger: Logger;
  now: () => Date;
}

function notRegistered(clusterId: string, cause?: unknown): HubError {
  return new HubError(
    "unauthenticated",
    `cluster ${clusterId} is not registered (it was deleted, or never was); the agent must register again with a new token`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Renews a cluster's credentials: checks the request, reads the cluster record from KV (so a
 * deletion through any replica counts), checks the signature and the clock skew, switches the
 * NATS user key when the agent re-keys, and issues credentials as RefreshCredentials does. The
 * credential epoch is left alone: streams holding still-valid tokens keep running.
 */
export async function renew(deps: RenewDeps, request: RenewRequest): Promise<RenewResponse> {
  const valid = validateRenewRequest(request);
  const record = await deps.clusters.read(valid.clusterId);
  if (!record) throw notRegistered(valid.clusterId);
  checkRenewProof(record, valid, deps.now());
  checkRenewNotReplayed(record, valid, record.lastRenewSignedAtMs);

  const natsUserPublicKey = valid.natsUserPublicKey || record.natsUserPublicKey;
  const { credentials, expiresAt } = await deps.issuer.issue({ ...record, natsUserPublicKey });
  try {
    await deps.clusters.update(record.id, (current) => {
      // The proof was checked against `record`; a cluster re-keyed meanwhile must be asked again.
      if (current.signingPublicKey !== record.signingPublicKey || current.credentialEpoch !== record.credentialEpoch) {
        throw new HubError("unavailable", `cluster ${record.name} changed while its credentials were renewed; try again`);
      }
      // Compare-and-set: of two replicas given the same request, the second sees the first's mark.
      checkRenewNotReplayed(current, valid, current.lastRenewSignedAtMs);
      return { ...current, natsUserPublicKey, credentialsExpireAt: expiresAt.toISOString(), lastRenewSignedAtMs: valid.signedAtMs };
    });
  } catch (err) {
    if (err instanceof HubError && err.code === "not-found") throw notRegistered(record.id, err);
    throw err;
  }
  deps.logger.info(
    {
      cluster: record.name,
      clusterId: record.id,
      expiresAt: expiresAt.toISOString(),
      ...(natsUserPublicKey !== record.natsUserPublicKey ? { natsUserPublicKey } : {}),
    },
    natsUserPublicKey !== record.natsUserPublicKey ? "credentials renewed with a new NATS user key" : "credentials renewed",
  );
  return create(RenewResponseSchema, { credentials, desiredStateKeys: deps.trustedKeys() });
}
