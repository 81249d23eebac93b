import { agentsAccountClaims, hubAccountExports } from "@gitfleet/hub";
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type OperatorLimits } from "@nats-io/jwt";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

/**
 * The trust chain of a lab NATS server: operator (with a signing key), system account, the
 * hub's application account and the agents account (docs/security.md, "NATS accounts").
 */
export interface NatsAccounts {
  operatorPublicKey: string;
  operatorJwt: string;
  /** Seed of the operator's signing key: it signs the agents account JWT (the hub re-signs it to revoke users). */
  operatorSigningSeed: string;
  systemAccountPublicKey: string;
  systemAccountJwt: string;
  /** `.creds` of a system account user: it pushes account JWT updates to the resolver. */
  systemCreds: string;
  /** Public key of the application account ("GITFLEET"). */
  accountPublicKey: string;
  accountJwt: string;
  /** Seed of the application account's signing key; it mints the hub's users. */
  accountSigningSeed: string;
  /** Public key of the agents account ("AGENTS"). */
  agentAccountPublicKey: string;
  agentAccountJwt: string;
  /** Seed of the agents account's scoped signing key; the hub mints agent users with it. */
  agentSigningSeed: string;
}

/** Name of the application account the hub lives in. */
export const appAccountName = "GITFLEET";
/** Name of the account agents live in. */
export const agentsAccountName = "AGENTS";

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
 * Generates fresh keys and JWTs for a lab server in operator (decentralized JWT) mode. Each
 * account lists a separate signing key so users can be minted without the account's identity
 * key, as the hub does; the agents account's key is scoped (its template holds the agents'
 * permissions and limits).
 */
export async function createNatsAccounts(): Promise<NatsAccounts> {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const system = createAccount();
  const app = createAccount();
  const signing = createAccount();
  const agents = createAccount();
  const agentSigning = createAccount();

  const operatorJwt = await encodeOperator("gitfleet-lab", operator, {
    system_account: system.getPublicKey(),
    signing_keys: [operatorSigning.getPublicKey()],
  });
  const systemAccountJwt = await encodeAccount("SYS", system, { limits: unlimited }, { signer: operator });
  const accountJwt = await encodeAccount(
    appAccountName,
    app,
    { limits: { ...unlimited, ...jetStreamUnlimited }, signing_keys: [signing.getPublicKey()], exports: hubAccountExports() },
    { signer: operator },
  );
  const agentAccountJwt = await encodeAccount(
    agentsAccountName,
    agents.getPublicKey(),
    agentsAccountClaims({ hubAccountPublicKey: app.getPublicKey(), scopedSigningKey: agentSigning.getPublicKey() }),
    { signer: operatorSigning },
  );
  const systemUser = createUser();
  const systemUserJwt = await encodeUser("lab-system", systemUser, system, {}, {});
  return {
    operatorPublicKey: operator.getPublicKey(),
    operatorJwt,
    operatorSigningSeed: seedOf(operatorSigning),
    systemAccountPublicKey: system.getPublicKey(),
    systemAccountJwt,
    systemCreds: new TextDecoder().decode(fmtCreds(systemUserJwt, systemUser)),
    accountPublicKey: app.getPublicKey(),
    accountJwt,
    accountSigningSeed: seedOf(signing),
    agentAccountPublicKey: agents.getPublicKey(),
    agentAccountJwt,
    agentSigningSeed: seedOf(agentSigning),
  };
}

function seedOf(kp: KeyPair): string {
  return new TextDecoder().decode(kp.getSeed());
}
