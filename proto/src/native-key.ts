// An nkeys key pair that signs with Node's own Ed25519 (OpenSSL) instead of the pure-JavaScript
// one of @nats-io/nkeys, which also re-derives the key from the seed on every call: minting a
// NATS user JWT took four scalar multiplications in JavaScript and was most of a registration's
// CPU, and an agent's Connect proof and NATS logins were most of its CPU in a reconnect storm.
// Ed25519 is deterministic, so the signatures are the same bytes.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { fromPublic, fromSeed, type KeyPair } from "@nats-io/nkeys";

// PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410).
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

// Key pairs by seed: a process holds a few (a hub's account keys, an agent's two), a fleet
// simulator a few thousand; past the bound the oldest is dropped (and built again if used).
const cache = new Map<string, KeyPair>();
const maxCached = 4096;

/** The key pair of an nkeys seed ("S..."), signing natively; built once per seed. */
export function nativeKeyPair(seed: string): KeyPair {
  let pair = cache.get(seed);
  if (pair === undefined) {
    pair = build(seed);
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value as string);
    cache.set(seed, pair);
  }
  return pair;
}

function build(seed: string): KeyPair {
  const nkeys = fromSeed(new TextEncoder().encode(seed));
  const raw = (nkeys as KeyPair & { getRawSeed(): Uint8Array }).getRawSeed();
  const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, raw]), format: "der", type: "pkcs8" });
  const publicKey: KeyObject = createPublicKey(privateKey);
  const publicText = nkeys.getPublicKey();
  // Derived in JavaScript once, when first asked for: signing never needs it, but a JWT library
  // may ask on every signature (@nats-io/jwt checks the key's type with it).
  let privateText: Uint8Array | undefined;
  return {
    getPublicKey: () => publicText,
    getPrivateKey: () => (privateText ??= nkeys.getPrivateKey()),
    getSeed: () => nkeys.getSeed(),
    sign: (input) => new Uint8Array(sign(null, input, privateKey)),
    verify: (input, signature) => verify(null, input, publicKey, signature),
    clear: () => nkeys.clear(),
    seal: (input, recipient, nonce) => nkeys.seal(input, recipient, nonce),
    open: (message, sender) => nkeys.open(message, sender),
  };
}

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * Verifies an Ed25519 signature by an nkeys public key ("U...", "A...") with Node's own
 * Ed25519; false for a malformed key or signature. The key's checksum is checked by nkeys.
 */
export function verifyWithNkey(publicKey: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    fromPublic(publicKey);
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  // Base32 without padding: a prefix byte, the 32-byte key, a 2-byte checksum.
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of publicKey) {
    buffer = (buffer << 5) | base32Alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  const raw = Buffer.from(bytes.slice(1, 33));
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}
