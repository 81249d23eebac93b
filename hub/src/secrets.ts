import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

/** Lowercase hex SHA-256 of a UTF-8 string; how the hub stores every secret it hands out. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/**
 * Compares two strings in time that depends only on their lengths, so a caller
 * cannot learn a stored hash or MAC byte by byte from response times.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** A random secret: `prefix` followed by 43 base64url characters (256 bits). */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

/** Encodes bytes as lowercase RFC 4648 base32 without padding. */
export function base32Lower(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * A random id: `prefix` followed by 20 lowercase base32 characters (100 bits),
 * e.g. cluster ids `cq3v7tbd2kx5mfw6hz4ay`. Valid as a NATS subject token and KV key.
 */
export function newId(prefix: string): string {
  return `${prefix}${base32Lower(randomBytes(13)).slice(0, 20)}`;
}

/** True when `id` has the shape {@link newId} produces for `prefix`. */
export function isId(id: string, prefix: string): boolean {
  return id.length === prefix.length + 20 && id.startsWith(prefix) && /^[a-z2-7]{20}$/.test(id.slice(prefix.length));
}
