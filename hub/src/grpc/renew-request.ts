// Validation of RenewRequest and its proof of possession: everything an agent sends is untrusted.
import {
  RENEW_MAX_CLOCK_SKEW_MS,
  renewSignaturePayload,
  renewSignedAtMs,
  type RenewRequest,
  type Timestamp,
} from "@gitfleet/proto";
import { fromPublic } from "@nats-io/nkeys";
import { HubError } from "../errors.js";
import { isId } from "../secrets.js";
import { nkeyProblem } from "./register-request.js";

// Ed25519 signatures are 64 bytes.
const signatureBytes = 64;

/** A RenewRequest whose fields have been checked (not yet its signature). */
export interface ValidRenewRequest {
  clusterId: string;
  signedAt: Timestamp;
  /** signed_at in ms since the epoch, as the signed text has it. */
  signedAtMs: number;
  signature: Uint8Array;
  /** The new NATS user public key; empty keeps the current one. */
  natsUserPublicKey: string;
}

/**
 * Checks a RenewRequest's fields and returns them; throws HubError `invalid-argument`
 * naming every field that is wrong.
 */
export function validateRenewRequest(request: RenewRequest): ValidRenewRequest {
  const problems: string[] = [];
  if (!isId(request.clusterId, "c")) {
    problems.push(`cluster_id ${JSON.stringify(request.clusterId.slice(0, 64))} is not a cluster id (c + 20 base32 characters)`);
  }
  const signedAtMs = request.signedAt ? renewSignedAtMs(request.signedAt) : undefined;
  if (!request.signedAt) problems.push("signed_at is missing");
  else if (signedAtMs === undefined) problems.push("signed_at is outside the range of google.protobuf.Timestamp");
  if (request.signature.length !== signatureBytes) {
    problems.push(`signature must be ${signatureBytes} bytes (Ed25519), got ${request.signature.length}`);
  }
  if (request.natsUserPublicKey !== "") {
    const problem = nkeyProblem(request.natsUserPublicKey, "U");
    if (problem !== undefined) problems.push(`nats_user_public_key ${problem}`);
  }
  if (problems.length > 0 || !request.signedAt || signedAtMs === undefined) {
    throw new HubError("invalid-argument", `invalid RenewRequest: ${problems.join("; ")}`);
  }
  return {
    clusterId: request.clusterId,
    signedAt: request.signedAt,
    signedAtMs,
    signature: request.signature,
    natsUserPublicKey: request.natsUserPublicKey,
  };
}

/** The cluster a Renew speaks for, as far as the proof needs it. */
export interface RenewSigner {
  name: string;
  signingPublicKey: string;
}

/**
 * Checks the proof of possession: the signature verifies with the cluster's registered signing
 * key over the canonical text, and signed_at is within five minutes of `now`. Throws HubError
 * `unauthenticated`; the message never says which byte was wrong.
 */
export function checkRenewProof(cluster: RenewSigner, request: ValidRenewRequest, now: Date): void {
  let verified = false;
  try {
    verified = fromPublic(cluster.signingPublicKey).verify(
      renewSignaturePayload({
        clusterId: request.clusterId,
        signedAt: request.signedAt,
        natsUserPublicKey: request.natsUserPublicKey,
      }),
      request.signature,
    );
  } catch {
    verified = false;
  }
  if (!verified) {
    throw new HubError(
      "unauthenticated",
      `Renew signature of cluster ${cluster.name} does not verify with its registered signing key`,
    );
  }
  const skewMs = request.signedAtMs - now.getTime();
  if (Math.abs(skewMs) > RENEW_MAX_CLOCK_SKEW_MS) {
    const direction = skewMs > 0 ? "ahead of" : "behind";
    throw new HubError(
      "unauthenticated",
      `Renew of cluster ${cluster.name} refused for clock skew: signed_at ${new Date(request.signedAtMs).toISOString()} is ` +
        `${Math.round(Math.abs(skewMs) / 1000)} s ${direction} the hub's clock (${now.toISOString()}), more than ` +
        `${RENEW_MAX_CLOCK_SKEW_MS / 60_000} minutes; fix the clock of the agent's node (NTP)`,
    );
  }
}

/**
 * Refuses a replayed Renew: its signed_at must be strictly later than that of the last Renew
 * accepted for the cluster (`lastSignedAtMs`, undefined before the first). Throws HubError
 * `unauthenticated` with "replayed Renew" in the message.
 */
export function checkRenewNotReplayed(cluster: { name: string }, request: Pick<ValidRenewRequest, "signedAtMs">, lastSignedAtMs: number | undefined): void {
  if (lastSignedAtMs === undefined || request.signedAtMs > lastSignedAtMs) return;
  throw new HubError(
    "unauthenticated",
    `replayed Renew for cluster ${cluster.name}: signed_at ${new Date(request.signedAtMs).toISOString()} is not later than ` +
      `that of the last Renew accepted (${new Date(lastSignedAtMs).toISOString()}); sign a new request`,
  );
}
