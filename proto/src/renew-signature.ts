// The canonical text an agent signs to renew its credentials (RenewRequest in
// gitfleet/v1/agent.proto). Hub and agent build it with this one function, so the
// bytes signed and the bytes verified cannot drift apart.
import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** First line of the signed text; a new layout gets a new version. */
export const RENEW_SIGNATURE_CONTEXT = "gitfleet-renew/v1";

/** How far signed_at may be from the hub's clock, either way. */
export const RENEW_MAX_CLOCK_SKEW_MS = 5 * 60_000;

// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const minSeconds = -62_135_596_800n;
const maxSeconds = 253_402_300_799n;

/** The fields of a RenewRequest that its signature covers. */
export interface RenewSignedFields {
  clusterId: string;
  signedAt: Timestamp;
  /** The new NATS user public key; empty when the agent keeps its current one. */
  natsUserPublicKey: string;
}

/**
 * Milliseconds since the epoch of a Timestamp, its nanos rounded down, or undefined when the
 * Timestamp is outside the range google.protobuf.Timestamp allows.
 */
export function renewSignedAtMs(signedAt: Timestamp): number | undefined {
  if (signedAt.seconds < minSeconds || signedAt.seconds > maxSeconds) return undefined;
  if (!Number.isInteger(signedAt.nanos) || signedAt.nanos < 0 || signedAt.nanos > 999_999_999) return undefined;
  return Number(signedAt.seconds) * 1000 + Math.floor(signedAt.nanos / 1_000_000);
}

/**
 * The canonical text of a Renew signature: four lines joined by "\n", no trailing newline:
 * the context, the cluster id, signed_at as RFC 3339 UTC with milliseconds, and the NATS
 * user public key (empty when not re-keying). Throws a RangeError for a signed_at outside
 * the Timestamp range.
 */
export function renewSignatureText(fields: RenewSignedFields): string {
  const ms = renewSignedAtMs(fields.signedAt);
  if (ms === undefined) throw new RangeError("signed_at is outside the range of google.protobuf.Timestamp");
  return [RENEW_SIGNATURE_CONTEXT, fields.clusterId, new Date(ms).toISOString(), fields.natsUserPublicKey].join("\n");
}

/** The exact bytes an agent signs and the hub verifies: the UTF-8 encoding of {@link renewSignatureText}. */
export function renewSignaturePayload(fields: RenewSignedFields): Uint8Array {
  return new TextEncoder().encode(renewSignatureText(fields));
}
