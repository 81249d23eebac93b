// Encodes a cluster's DesiredState pointer signed with the hub's active desired-state key.
import { encodeSignedDesiredState, type DesiredSigningKey, type DesiredState } from "@gitfleet/proto";

/** Encodes pointers signed for their cluster (docs/protocol.md, "Signed desired state"). */
export interface DesiredStateSigner {
  /** The encoded pointer with its signature fields, signed for `clusterId`. */
  encode(state: DesiredState, clusterId: string): Uint8Array;
}

/** A signer over whichever key is active when it is asked (the keyring's, after any rotation). */
export function activeKeySigner(active: () => DesiredSigningKey): DesiredStateSigner {
  return { encode: (state, clusterId) => encodeSignedDesiredState(state, clusterId, active()) };
}
