// How the agent logs in to NATS: its user JWT, and the server's nonce signed with its NATS user
// key, as the NATS client's jwtAuthenticator does, but signed with Node's own Ed25519. The
// client's nkeys signs in JavaScript and derives the key from its seed on every login: an agent
// reconnecting, or a simulated fleet of thousands, spent most of its CPU there.
import { nativeKeyPair } from "@gitfleet/proto";
import { encode } from "@nats-io/nkeys";
import type { Authenticator } from "@nats-io/transport-node";

/** The current user JWT and seed ("SU..."); read at every (re)connect, so refreshed credentials apply. */
export interface NatsUserCredentials {
  userJwt: string;
  userSeed: string;
}

/** An authenticator for the NATS connection, reading `current()` at every login. */
export function natsUserAuthenticator(current: () => NatsUserCredentials): Authenticator {
  const encoder = new TextEncoder();
  return (nonce?: string) => {
    const { userJwt, userSeed } = current();
    const key = nativeKeyPair(userSeed);
    return { jwt: userJwt, nkey: key.getPublicKey(), sig: nonce ? encode(key.sign(encoder.encode(nonce))) : "" };
  };
}
