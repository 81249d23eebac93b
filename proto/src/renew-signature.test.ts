import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { renewSignaturePayload, renewSignatureText, renewSignedAtMs } from "./renew-signature.js";

const clusterId = "cq3v7tbd2kx5mfw6hz4ay";

describe("the Renew signature's canonical text", () => {
  it("is four lines: context, cluster id, signed_at with milliseconds, NATS key (empty when kept)", () => {
    const signedAt = timestampFromDate(new Date("2026-05-01T12:00:00.123Z"));
    assert.equal(
      renewSignatureText({ clusterId, signedAt, natsUserPublicKey: "" }),
      `gitfleet-renew/v1\n${clusterId}\n2026-05-01T12:00:00.123Z\n`,
    );
    assert.equal(
      renewSignatureText({ clusterId, signedAt, natsUserPublicKey: "UABC" }),
      `gitfleet-renew/v1\n${clusterId}\n2026-05-01T12:00:00.123Z\nUABC`,
    );
  });

  it("rounds nanoseconds down to milliseconds, so any Timestamp has one text", () => {
    const signedAt = create(TimestampSchema, { seconds: 1_777_636_800n, nanos: 999_999_999 });
    assert.match(renewSignatureText({ clusterId, signedAt, natsUserPublicKey: "" }), /\n2026-05-01T12:00:00\.999Z\n$/);
    assert.equal(renewSignedAtMs(signedAt), 1_777_636_800_999);
  });

  it("is UTF-8 bytes of the text", () => {
    const signedAt = timestampFromDate(new Date("2026-05-01T12:00:00.000Z"));
    const fields = { clusterId, signedAt, natsUserPublicKey: "" };
    assert.deepEqual(renewSignaturePayload(fields), new TextEncoder().encode(renewSignatureText(fields)));
  });

  it("refuses a Timestamp outside the protobuf range", () => {
    const far = create(TimestampSchema, { seconds: 400_000_000_000n, nanos: 0 });
    assert.equal(renewSignedAtMs(far), undefined);
    assert.throws(() => renewSignatureText({ clusterId, signedAt: far, natsUserPublicKey: "" }), RangeError);
    assert.equal(renewSignedAtMs(create(TimestampSchema, { seconds: 0n, nanos: -1 })), undefined);
  });
});
