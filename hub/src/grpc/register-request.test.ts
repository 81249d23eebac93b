import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create, RegisterRequestSchema } from "@gitfleet/proto";
import { createAccount, createUser } from "@nats-io/nkeys";
import { HubError } from "../errors.js";
import { validateRegisterRequest } from "./register-request.js";

const natsKey = createUser().getPublicKey();
const signingKey = createUser().getPublicKey();

function request(overrides: Record<string, unknown> = {}) {
  return create(RegisterRequestSchema, {
    token: "gf_reg_x",
    clusterName: "prod-eu-1",
    labels: { env: "prod" },
    agentVersion: "0.1.0",
    kubernetesVersion: "v1.36.0",
    keys: { natsUserPublicKey: natsKey, signingPublicKey: signingKey },
    ...overrides,
  });
}

function invalid(message: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === "invalid-argument" && message.test(err.message);
}

void describe("RegisterRequest validation", () => {
  void it("accepts a well-formed request", () => {
    const valid = validateRegisterRequest(request());
    assert.equal(valid.clusterName, "prod-eu-1");
    assert.equal(valid.natsUserPublicKey, natsKey);
  });

  void it("names each wrong field", () => {
    assert.throws(() => validateRegisterRequest(request({ clusterName: "Prod_EU" })), invalid(/cluster_name "Prod_EU" is not a DNS label/));
    assert.throws(() => validateRegisterRequest(request({ labels: { "bad key!": "x" } })), invalid(/labels: key "bad key!"/));
    assert.throws(() => validateRegisterRequest(request({ labels: { env: "not valid" } })), invalid(/labels\["env"\]: value "not valid"/));
    assert.throws(() => validateRegisterRequest(request({ keys: undefined })), invalid(/keys.nats_user_public_key is missing; keys.signing_public_key is missing/));
    assert.throws(
      () => validateRegisterRequest(request({ keys: { natsUserPublicKey: "UABC", signingPublicKey: signingKey } })),
      invalid(/keys.nats_user_public_key is not a valid public nkey/),
    );
    assert.throws(
      () => validateRegisterRequest(request({ keys: { natsUserPublicKey: createAccount().getPublicKey(), signingPublicKey: signingKey } })),
      invalid(/keys.nats_user_public_key must be a U\.\.\. \(user\) public nkey/),
    );
  });
});
