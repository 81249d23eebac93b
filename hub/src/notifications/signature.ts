// Signatures of webhook deliveries: HMAC-SHA256 with the sink's secret over the timestamp, a dot
// and the exact body bytes, in the `sha256=<hex>` form the Git push webhook also uses. Signing the
// timestamp lets a receiver refuse an old delivery replayed.
import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../secrets.js";

/** Header with the signature: `sha256=<hex>`. */
export const signatureHeader = "x-gitfleet-signature";
/** Header with the signing time, in Unix seconds. */
export const timestampHeader = "x-gitfleet-timestamp";
/** How far a receiver should accept a timestamp from its own clock, by default. */
export const defaultSignatureToleranceMs = 5 * 60_000;

/** The signature header value of `body` sent at `timestamp` (Unix seconds). */
export function eventSignature(secret: string, timestamp: number | string, body: Uint8Array | string): string {
  const hmac = createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(body);
  return `sha256=${hmac.digest("hex")}`;
}

/**
 * Checks a delivery as a receiver would: the signature matches the body and timestamp, compared
 * in constant time, and the timestamp is within `toleranceMs` of `now`.
 */
export function verifyEventSignature(input: {
  secret: string;
  body: Uint8Array | string;
  timestamp: string | undefined;
  signature: string | undefined;
  now?: number;
  toleranceMs?: number;
}): boolean {
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature || !/^sha256=[0-9a-f]{64}$/.test(signature)) return false;
  const skew = Math.abs((input.now ?? Date.now()) - Number(timestamp) * 1000);
  if (skew > (input.toleranceMs ?? defaultSignatureToleranceMs)) return false;
  return constantTimeEqual(eventSignature(input.secret, timestamp, input.body), signature);
}
