// Signed desired state (DesiredState.signature and TrustedKey in gitfleet/v1/agent.proto): the
// canonical bytes a pointer's signature covers, the text a key endorsement covers, and Ed25519
// signing and verification over them. Hub and agent use these functions, so what is signed and
// what is verified cannot drift apart.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { clone, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DesiredStateSchema, type DesiredState } from "./gen/gitfleet/v1/agent_pb.js";

/** First line of the text a pointer signature covers; a new layout gets a new version. */
export const DESIRED_SIGNATURE_CONTEXT = "gitfleet-desired/v1";
/** First line of the text a key endorsement covers. */
export const KEY_ENDORSEMENT_CONTEXT = "gitfleet-signing-key/v1";
/** Prefix of TrustedKey.public_key. */
export const ED25519_PUBLIC_KEY_PREFIX = "ed25519:";

// DesiredState field numbers of the signature fields; left out of the signed bytes.
const SIGNATURE_FIELD = 20;
const SIGNING_KEY_ID_FIELD = 21;

/**
 * The pointer's encoding with every top-level field 20 and 21 left out and every other field
 * kept byte for byte, in order. Throws when `encoded` is not well-formed protobuf.
 */
export function unsignedPointerBytes(encoded: Uint8Array): Uint8Array {
  const reader = new BinaryReader(encoded);
  const kept: Uint8Array[] = [];
  let size = 0;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wireType] = reader.tag();
    reader.skip(wireType, field);
    if (field === SIGNATURE_FIELD || field === SIGNING_KEY_ID_FIELD) continue;
    const part = encoded.subarray(start, reader.pos);
    kept.push(part);
    size += part.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of kept) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The bytes a pointer signature covers: the context line, the cluster id line, the unsigned pointer. */
export function desiredSignaturePayload(clusterId: string, unsignedPointer: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${DESIRED_SIGNATURE_CONTEXT}\n${clusterId}\n`);
  const out = new Uint8Array(head.byteLength + unsignedPointer.byteLength);
  out.set(head, 0);
  out.set(unsignedPointer, head.byteLength);
  return out;
}

/** The encoded signature fields (20, 21), to append to an unsigned pointer's encoding. */
export function signatureFieldBytes(signature: Uint8Array, signingKeyId: string): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(SIGNATURE_FIELD, WireType.LengthDelimited).bytes(signature);
  writer.tag(SIGNING_KEY_ID_FIELD, WireType.LengthDelimited).string(signingKeyId);
  return writer.finish();
}

/**
 * Encodes `state` for `clusterId` signed by `key`: the pointer without signature fields, then
 * fields 20 and 21 appended, so the signed bytes are exactly the pointer's other fields.
 */
export function encodeSignedDesiredState(state: DesiredState, clusterId: string, key: DesiredSigningKey): Uint8Array {
  const unsigned = clone(DesiredStateSchema, state);
  unsigned.signature = new Uint8Array(0);
  unsigned.signingKeyId = "";
  const body = toBinary(DesiredStateSchema, unsigned);
  const tail = signatureFieldBytes(signWithDesiredKey(key, desiredSignaturePayload(clusterId, body)), key.id);
  const out = new Uint8Array(body.byteLength + tail.byteLength);
  out.set(body, 0);
  out.set(tail, body.byteLength);
  return out;
}

/** The text a key endorsement covers. */
export function keyEndorsementPayload(key: { id: string; publicKey: string }): Uint8Array {
  return new TextEncoder().encode(`${KEY_ENDORSEMENT_CONTEXT}\n${key.id}\n${key.publicKey}`);
}

/** A desired-state signing key pair; `privateKey` never leaves the hub. */
export interface DesiredSigningKey {
  id: string;
  /** TrustedKey.public_key form. */
  publicKey: string;
  /** The raw 32-byte private key in base64url (JWK "d"). */
  privateKey: string;
}

/** Generates a new Ed25519 desired-state signing key. */
export function generateDesiredSigningKey(): DesiredSigningKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.d) throw new Error("node:crypto exported an Ed25519 key without x or d");
  const publicKey = `${ED25519_PUBLIC_KEY_PREFIX}${jwk.x}`;
  return { id: signingKeyId(publicKey), publicKey, privateKey: jwk.d };
}

/** The id of a public key: "sk-" and the first 16 hex digits of sha256 of the raw key. */
export function signingKeyId(publicKey: string): string {
  return `sk-${createHash("sha256").update(rawPublicKey(publicKey)).digest("hex").slice(0, 16)}`;
}

// Importing a key costs about as much as a signature, and a hub signs one pointer per cluster
// per commit with the same key: the last few keys used are kept imported.
const importedKeys = new Map<string, { d: string; key: KeyObject }>();
const IMPORTED_KEYS = 4;

function privateKeyObject(key: DesiredSigningKey): KeyObject {
  const cached = importedKeys.get(key.publicKey);
  if (cached !== undefined && cached.d === key.privateKey) return cached.key;
  const x = key.publicKey.slice(ED25519_PUBLIC_KEY_PREFIX.length);
  const imported = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", x, d: key.privateKey }, format: "jwk" });
  importedKeys.delete(key.publicKey);
  importedKeys.set(key.publicKey, { d: key.privateKey, key: imported });
  for (const oldest of importedKeys.keys()) {
    if (importedKeys.size <= IMPORTED_KEYS) break;
    importedKeys.delete(oldest);
  }
  return imported;
}

/** Signs `payload` with a desired-state key; 64 bytes. */
export function signWithDesiredKey(key: DesiredSigningKey, payload: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, payload, privateKeyObject(key)));
}

/**
 * True when `signature` is a valid Ed25519 signature of `payload` by `publicKey`
 * (TrustedKey.public_key form); false for any malformed input.
 */
export function verifyWithPublicKey(publicKey: string, payload: Uint8Array, signature: Uint8Array): boolean {
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return false;
  }
  if (signature.byteLength !== 64) return false;
  try {
    return verify(null, payload, key, signature);
  } catch {
    return false;
  }
}

/** Why a TrustedKey.public_key is malformed, or undefined when it is well-formed. */
export function publicKeyProblem(publicKey: string): string | undefined {
  try {
    rawPublicKey(publicKey);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function rawPublicKey(publicKey: string): Buffer {
  if (!publicKey.startsWith(ED25519_PUBLIC_KEY_PREFIX)) throw new Error(`public key does not start with "${ED25519_PUBLIC_KEY_PREFIX}"`);
  const text = publicKey.slice(ED25519_PUBLIC_KEY_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) throw new Error("public key is not 32 bytes in base64url");
  return Buffer.from(text, "base64url");
}

function publicKeyObject(publicKey: string): KeyObject {
  const raw = rawPublicKey(publicKey);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}
