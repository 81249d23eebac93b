// Rotation and retirement of the desired-state signing key as the admin API drives them.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { openDesiredBucket } from "../delivery/index.js";
import type { SigningKeyView, SigningKeyring } from "./keyring.js";
import { resignPointers } from "./resign.js";
import { activeKeySigner } from "./signer.js";

/** What a rotation did. */
export interface RotationOutcome {
  key: SigningKeyView;
  /** Pointers re-signed with the new key. */
  resigned: number;
  /** Clusters whose pointer could not be re-signed now (their next publish signs it). */
  failed: string[];
}

/** The signing keys as the admin API sees them. */
export interface SigningKeyService {
  list(): SigningKeyView[];
  /**
   * Creates a key endorsed by the active one and signs with it from now on: the keyring change
   * reaches every replica, which sends the new key list to its connected agents; then every
   * cluster's pointer is re-signed with the new key.
   */
  rotate(): Promise<RotationOutcome>;
  /** Removes a key that no longer signs; connected agents are sent the shorter list. */
  retire(id: string): Promise<void>;
}

/** Creates the service over the keyring and the hub's NATS connection. */
export function createSigningKeyService(input: { keyring: SigningKeyring; nc: NatsConnection; logger: Logger; now: () => Date }): SigningKeyService {
  const { keyring, logger } = input;
  return {
    list: () => keyring.list(),
    async rotate() {
      const key = await keyring.rotate();
      const bucket = await openDesiredBucket(input.nc);
      const { resigned, failed } = await resignPointers({ kv: bucket.kv, signer: activeKeySigner(() => keyring.active()), logger, now: input.now });
      logger.info({ key: key.id, resigned, failed: failed.length }, "re-signed every cluster's desired state with the new key");
      return { key, resigned, failed };
    },
    retire: (id) => keyring.retire(id),
  };
}
