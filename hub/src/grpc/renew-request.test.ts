import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create, RenewRequestSchema, renewSignaturePayload, timestampFromDate } from "@gitfleet/proto";
import { createAccount, createUser, type KeyPair } from "@nats-io/nkeys";
import { HubError } from "../errors.js";
import { checkRenewProof, validateRenewRequest } from "./renew-request.js";

const clusterId = "cq3v7tbd2kx5mfw6hz4ay";
const hubNow = new Date("2026-05-01T12:00:00.000Z");

function signed(key: KeyPair, options: { at?: Date; natsUserPublicKey?: string } = {}) {
  const signedAt = timestampFromDate(options.at ?? hubNow);
  const natsUserPublicKey = options.natsUserPublicKey ?? "";
  const signature = key.sign(renewSignaturePayload({ clusterId, signedAt, natsUserPublicKey }));
  return create(RenewRequestSchema, { clusterId, signedAt, signature, natsUserPublicKey });
}

function refused(code: string, message: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === code && message.test(err.message);
}

void describe("Renew proof of possession", () => {
  const signing = createUser();
  const cluster = { name: "prod-eu-1", signingPublicKey: signing.getPublicKey() };

  void it("accepts a signature by the cluster's signing key over the canonical text", () => {
    const valid = validateRenewRequest(signed(signing));
    assert.equal(valid.clusterId, clusterId);
    assert.equal(valid.signedAtMs, hubNow.getTime());
    checkRenewProof(cluster, valid, hubNow);
  });

  void it("accepts a re-key to a new NATS user key that the signature covers", () => {
    const natsUserPublicKey = createUser().getPublicKey();
    const valid = validateRenewRequest(signed(signing, { natsUserPublicKey }));
    assert.equal(valid.natsUserPublicKey, natsUserPublicKey);
    checkRenewProof(cluster, valid, hubNow);
  });

  void it("refuses a signature by another key", () => {
    const valid = validateRenewRequest(signed(createUser()));
    assert.throws(() => checkRenewProof(cluster, valid, hubNow), refused("unauthenticated", /^Renew signature of cluster prod-eu-1 does not verify/));
  });

  void it("refuses a tampered signature, and a field changed after signing", () => {
    const request = signed(signing);
    request.signature = Uint8Array.from(request.signature, (b, i) => (i === 0 ? b ^ 1 : b));
    assert.throws(() => checkRenewProof(cluster, validateRenewRequest(request), hubNow), refused("unauthenticated", /does not verify/));

    const rekeyed = signed(signing);
    rekeyed.natsUserPublicKey = createUser().getPublicKey();
    assert.throws(() => checkRenewProof(cluster, validateRenewRequest(rekeyed), hubNow), refused("unauthenticated", /does not verify/));

    const later = signed(signing);
    later.signedAt = timestampFromDate(new Date(hubNow.getTime() + 1));
    assert.throws(() => checkRenewProof(cluster, validateRenewRequest(later), hubNow), refused("unauthenticated", /does not verify/));
  });

  void it("refuses signed_at more than five minutes from the hub's clock, saying clock skew", () => {
    const inside = validateRenewRequest(signed(signing, { at: new Date(hubNow.getTime() - 5 * 60_000) }));
    checkRenewProof(cluster, inside, hubNow);
    const behind = validateRenewRequest(signed(signing, { at: new Date(hubNow.getTime() - 5 * 60_000 - 1) }));
    assert.throws(() => checkRenewProof(cluster, behind, hubNow), refused("unauthenticated", /clock skew: signed_at 2026-05-01T11:54:59\.999Z is 300 s behind the hub's clock/));
    const ahead = validateRenewRequest(signed(signing, { at: new Date(hubNow.getTime() + 10 * 60_000) }));
    assert.throws(() => checkRenewProof(cluster, ahead, hubNow), refused("unauthenticated", /clock skew: .* 600 s ahead of the hub's clock/));
  });

  void it("names each malformed field", () => {
    const request = create(RenewRequestSchema, {
      clusterId: "prod-eu-1",
      signature: new Uint8Array(10),
      natsUserPublicKey: createAccount().getPublicKey(),
    });
    assert.throws(
      () => validateRenewRequest(request),
      refused(
        "invalid-argument",
        /^invalid RenewRequest: cluster_id "prod-eu-1" is not a cluster id .*; signed_at is missing; signature must be 64 bytes \(Ed25519\), got 10; nats_user_public_key must be a U\.\.\. \(user\) public nkey$/,
      ),
    );
  });
});
