// Proof of possession for AgentService.Renew and Connect: the agent signs the protocol's
// canonical texts with its signing nkey, so the hub renews its credentials without any other
// secret, and refreshes them on a stream only for the agent that holds the key.
import { connectProofPayload, nativeKeyPair, renewSignaturePayload, timestampFromDate } from "@gitfleet/proto";
import type { RenewRequestInit } from "./hub-client.js";

/** Who signs a Renew request: the cluster id and the agent's signing seed ("SU..."). */
export interface RenewSigner {
  clusterId: string;
  signingSeed: string;
}

/**
 * Builds a RenewRequest signed at `now` (ms since the epoch). `natsUserPublicKey` re-keys the
 * NATS user; empty (the default) keeps the registered one.
 */
export function signRenewRequest(signer: RenewSigner, now: number, natsUserPublicKey = ""): RenewRequestInit {
  const signedAt = timestampFromDate(new Date(now));
  const signature = nativeKeyPair(signer.signingSeed).sign(renewSignaturePayload({ clusterId: signer.clusterId, signedAt, natsUserPublicKey }));
  return { clusterId: signer.clusterId, signedAt, signature, natsUserPublicKey };
}

/** Signs the Connect proof for Welcome's `nonce`: the ConnectProof signature the agent sends first. */
export function signConnectProof(signer: RenewSigner, nonce: Uint8Array): Uint8Array {
  return nativeKeyPair(signer.signingSeed).sign(connectProofPayload(signer.clusterId, nonce));
}
