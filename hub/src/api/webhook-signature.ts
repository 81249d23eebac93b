import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../secrets.js";

/**
 * Checks a GitHub-style `X-Hub-Signature-256: sha256=<hex>` header: HMAC-SHA256
 * of the raw request body with the shared webhook secret, compared in constant time.
 */
export function verifyWebhookSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header?.trim() ?? "");
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(body).digest("hex");
  return constantTimeEqual(expected, (match[1] ?? "").toLowerCase());
}

/** The header value a sender computes for `body`; for tests and tools. */
export function webhookSignature(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
