// Verifying push webhooks from GitHub (and Gitea/Forgejo/GitLab-compatible senders that use the
// same header): HMAC-SHA256 of the raw request body with the shared secret.
import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * True when `headerValue` (the `X-Hub-Signature-256` header, `sha256=<hex>`) is the HMAC-SHA256
 * of `rawBody` under `secret`. The body must be the bytes as received, before any JSON parsing.
 * The comparison takes the same time wherever the first difference is; a missing or malformed
 * header, or an empty secret, is simply not valid.
 */
export function verifyGitHubSignature(secret: string | Uint8Array, rawBody: Uint8Array | string, headerValue: string | readonly string[] | undefined): boolean {
  // Node gives repeated headers as an array; two signatures are one too many.
  const header: unknown = typeof headerValue === "string" ? headerValue : headerValue?.length === 1 ? headerValue[0] : undefined;
  if (typeof header !== "string") return false;
  const match = SIGNATURE.exec(header.trim());
  if (match?.[1] === undefined) return false;
  if (secret.length === 0) return false;
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  const given = Buffer.from(match[1], "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The `X-Hub-Signature-256` value for `rawBody`, for tests and for clients that send webhooks. */
export function signGitHubPayload(secret: string | Uint8Array, rawBody: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}
