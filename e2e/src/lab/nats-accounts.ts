import { encodeAccount, encodeOperator, type OperatorLimits } from "@nats-io/jwt";
import { createAccount, createOperator, type KeyPair } from "@nats-io/nkeys";

/** The trust chain of a lab NATS server: operator, system account, application account. */
export interface NatsAccounts {
  operatorPublicKey: string;
  operatorJwt: string;
  systemAccountPublicKey: string;
  systemAccountJwt: string;
  /** Public key of the application account ("GITFLEET"). */
  accountPublicKey: string;
  accountJwt: string;
  /** Seed of the application account's signing key; it mints users. */
  accountSigningSeed: string;
}

/** Name of the application account every gitfleet user lives in. */
export const appAccountName = "GITFLEET";

// Go's jwt library reads a missing limit as 0, and the server reads 0 as
// "none allowed" for some of them, so every limit is spelled out.
const unlimited: OperatorLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

// JetStream is on for an account only when a storage limit is non-zero; -1
// leaves the lab's capacity to the server's own store limits.
const jetStreamUnlimited: OperatorLimits = {
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/**
 * Generates fresh keys and JWTs for a lab server in operator (decentralized
 * JWT) mode. The application account lists a separate signing key so users
 * can be minted without the account's identity key, as the hub does.
 */
export async function createNatsAccounts(): Promise<NatsAccounts> {
  const operator = createOperator();
  const system = createAccount();
  const app = createAccount();
  const signing = createAccount();

  const operatorJwt = await encodeOperator("gitfleet-lab", operator, {
    system_account: system.getPublicKey(),
  });
  const systemAccountJwt = await encodeAccount(
    "SYS",
    system,
    { limits: unlimited },
    { signer: operator },
  );
  const accountJwt = await encodeAccount(
    appAccountName,
    app,
    { limits: { ...unlimited, ...jetStreamUnlimited }, signing_keys: [signing.getPublicKey()] },
    { signer: operator },
  );
  return {
    operatorPublicKey: operator.getPublicKey(),
    operatorJwt,
    systemAccountPublicKey: system.getPublicKey(),
    systemAccountJwt,
    accountPublicKey: app.getPublicKey(),
    accountJwt,
    accountSigningSeed: seedOf(signing),
  };
}

function seedOf(kp: KeyPair): string {
  return new TextDecoder().decode(kp.getSeed());
}
