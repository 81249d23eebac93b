import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createUser } from "@nats-io/nkeys";
import { jwtAuthenticator } from "@nats-io/transport-node";
import { natsUserAuthenticator } from "./nats-auth.js";

void describe("the agent's NATS login", () => {
  void it("answers the server's nonce as the NATS client's own JWT authenticator does, for the credentials current at each login", () => {
    const credentials = { userJwt: "eyJ0eXAiOiJKV1QifQ.first.sig", userSeed: new TextDecoder().decode(createUser().getSeed()) };
    const ours = natsUserAuthenticator(() => credentials);
    const theirs = jwtAuthenticator(() => credentials.userJwt, () => new TextEncoder().encode(credentials.userSeed));
    for (const nonce of ["", "a3f1c0ffee", "Zm9vYmFy-_"]) assert.deepEqual(ours(nonce), theirs(nonce), `nonce ${JSON.stringify(nonce)}`);
    assert.deepEqual(ours(undefined), theirs(undefined));

    // Refreshed credentials (a new JWT and key) are used at the next login.
    credentials.userJwt = "eyJ0eXAiOiJKV1QifQ.second.sig";
    credentials.userSeed = new TextDecoder().decode(createUser().getSeed());
    assert.deepEqual(ours("n0nce"), theirs("n0nce"));
    assert.equal((ours("n0nce") as { jwt: string }).jwt, "eyJ0eXAiOiJKV1QifQ.second.sig");
  });
});
