// The canonical text an agent signs to prove, on a Connect stream, that it holds its signing key
// (ConnectProof in gitfleet/v1/agent.proto). Hub and agent build it with this one function.

/** First line of the signed text; a new layout gets a new version. */
export const CONNECT_PROOF_CONTEXT = "gitfleet-connect/v1";

/** Length of Welcome.nonce in bytes. */
export const CONNECT_NONCE_BYTES = 32;

/**
 * The canonical text of a Connect proof: three lines joined by "\n", no trailing newline: the
 * context, the cluster id, and Welcome.nonce in standard base64 with padding.
 */
export function connectProofText(clusterId: string, nonce: Uint8Array): string {
  return [CONNECT_PROOF_CONTEXT, clusterId, Buffer.from(nonce).toString("base64")].join("\n");
}

/** The exact bytes an agent signs and the hub verifies: the UTF-8 encoding of {@link connectProofText}. */
export function connectProofPayload(clusterId: string, nonce: Uint8Array): Uint8Array {
  return new TextEncoder().encode(connectProofText(clusterId, nonce));
}
