// What the agent trusts about its desired state (docs/protocol.md, "Signed desired state"): the
// hub's desired-state keys it pinned, how a key list from the hub updates them (endorsements),
// and the check every pointer passes before a bundle is fetched.
import {
  desiredSignaturePayload,
  keyEndorsementPayload,
  publicKeyProblem,
  signingKeyId,
  unsignedPointerBytes,
  verifyWithPublicKey,
} from "@gitfleet/proto";
import type { DesiredState, TrustedKey } from "@gitfleet/proto";

/** A desired-state key the agent trusts; pinned in its identity Secret. */
export interface PinnedKey {
  id: string;
  /** "ed25519:" and the raw key in base64url. */
  publicKey: string;
}

/** How a key list from the hub changed the pinned keys. */
export interface KeyUpdate {
  /** The keys to trust from now on. */
  keys: PinnedKey[];
  /** Keys accepted through a valid endorsement (or on first use). */
  added: string[];
  /** Pinned keys the hub no longer lists: retired. */
  dropped: string[];
  /** Keys of the list that were refused, each with why. */
  refused: string[];
}

/**
 * Updates `pinned` from a key list the hub sent. A listed key is kept when it is pinned with the
 * same public key, and added when its endorsement verifies with a key the agent trusted before
 * or accepted from this list (a chain of rotations). A pinned key the hub no longer lists is
 * dropped. When `pinned` is empty (an agent registered before keys were pinned) every
 * well-formed listed key is accepted: trust on first use, which the caller logs. A list that
 * would leave no trusted key changes nothing.
 */
export function updatePinnedKeys(pinned: readonly PinnedKey[], offered: readonly TrustedKey[]): KeyUpdate {
  const refused: string[] = [];
  const wellFormed = offered.filter((key) => {
    const problem = publicKeyProblem(key.publicKey) ?? (signingKeyId(key.publicKey) !== key.id ? `its id does not match its public key` : undefined);
    if (problem !== undefined) refused.push(`${key.id || "(no id)"}: ${problem}`);
    return problem === undefined;
  });
  if (pinned.length === 0) {
    const keys = wellFormed.map(({ id, publicKey }) => ({ id, publicKey }));
    return { keys, added: keys.map((k) => k.id), dropped: [], refused };
  }
  const known = new Map(pinned.map((key) => [key.id, key]));
  const accepted = new Map<string, PinnedKey>();
  const endorsers = new Map(known);
  for (const key of wellFormed) {
    const held = known.get(key.id);
    if (held && held.publicKey === key.publicKey) accepted.set(key.id, held);
  }
  // Endorsements may chain through keys accepted from this same list.
  for (let progress = true; progress; ) {
    progress = false;
    for (const key of wellFormed) {
      if (accepted.has(key.id)) continue;
      const endorser = endorsers.get(key.endorsedBy);
      if (!endorser) continue;
      if (!verifyWithPublicKey(endorser.publicKey, keyEndorsementPayload(key), key.endorsement)) continue;
      const next = { id: key.id, publicKey: key.publicKey };
      accepted.set(key.id, next);
      endorsers.set(key.id, next);
      progress = true;
    }
  }
  for (const key of wellFormed) {
    if (accepted.has(key.id)) continue;
    refused.push(
      key.endorsedBy && endorsers.has(key.endorsedBy)
        ? `${key.id}: its endorsement by ${key.endorsedBy} does not verify`
        : `${key.id}: endorsed by ${key.endorsedBy || "no key"}, which this agent does not trust`,
    );
  }
  if (accepted.size === 0) return { keys: [...pinned], added: [], dropped: [], refused };
  const keys = [...accepted.values()];
  return {
    keys,
    added: keys.filter((k) => !known.has(k.id)).map((k) => k.id),
    dropped: pinned.filter((k) => !accepted.has(k.id)).map((k) => k.id),
    refused,
  };
}

/** Why a pointer was refused; `code` names the condition reason reported to the hub. */
export interface PointerRefusal {
  code: "Unsigned" | "UnknownKey" | "BadSignature" | "Replayed";
  message: string;
  /** The key that signed it, for UnknownKey (the agent asks the hub for its keys). */
  keyId?: string;
}

/** What the agent holds: the generation and content of the last accepted pointer. */
export interface HeldPointer {
  generation: bigint;
  revision: string;
  bundles: ReadonlyArray<{ name: string; digest: string; revision: string; stage: string }>;
}

/**
 * Checks a pointer as received (`encoded`, decoded as `pointer`) for `clusterId` against the
 * pinned keys and what the agent holds. Returns why it is refused, or undefined when it may be
 * applied. An equal generation with the same content passes (a re-read); with other content it
 * is refused like a lower one.
 */
export function checkPointer(input: {
  encoded: Uint8Array;
  pointer: DesiredState;
  clusterId: string;
  keys: readonly PinnedKey[];
  held: HeldPointer | undefined;
}): PointerRefusal | undefined {
  const { pointer, clusterId } = input;
  if (pointer.signature.byteLength === 0 && pointer.signingKeyId === "") {
    return { code: "Unsigned", message: `the desired state at generation ${pointer.generation} is not signed` };
  }
  const key = input.keys.find((k) => k.id === pointer.signingKeyId);
  if (!key) {
    return {
      code: "UnknownKey",
      message: `the desired state at generation ${pointer.generation} is signed by key "${pointer.signingKeyId}", which this agent does not trust (trusted: ${input.keys.map((k) => k.id).join(", ") || "none"})`,
      keyId: pointer.signingKeyId,
    };
  }
  let unsigned: Uint8Array;
  try {
    unsigned = unsignedPointerBytes(input.encoded);
  } catch {
    return { code: "BadSignature", message: "the desired state pointer is not well-formed protobuf" };
  }
  if (!verifyWithPublicKey(key.publicKey, desiredSignaturePayload(clusterId, unsigned), pointer.signature)) {
    return {
      code: "BadSignature",
      message: `the signature of the desired state at generation ${pointer.generation} by key ${key.id} does not verify for cluster ${clusterId} (altered, or signed for another cluster)`,
    };
  }
  const held = input.held;
  if (held && pointer.generation < held.generation) {
    return {
      code: "Replayed",
      message: `the desired state has generation ${pointer.generation}, lower than generation ${held.generation} already applied (a replay of an older state)`,
    };
  }
  if (held && pointer.generation === held.generation && !sameContent(pointer, held)) {
    return {
      code: "Replayed",
      message: `the desired state has generation ${pointer.generation}, already applied with other content`,
    };
  }
  return undefined;
}

function sameContent(pointer: DesiredState, held: HeldPointer): boolean {
  if (pointer.revision !== held.revision || pointer.bundles.length !== held.bundles.length) return false;
  const byName = new Map(held.bundles.map((b) => [b.name, b]));
  return pointer.bundles.every((b) => {
    const h = byName.get(b.name);
    return h !== undefined && h.digest === b.digest && h.revision === b.revision && h.stage === b.stage;
  });
}

/** Keys as the identity Secret stores them; malformed entries are left out. */
export function parsePinnedKeys(value: unknown): PinnedKey[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const { id, publicKey } = entry as Record<string, unknown>;
    if (typeof id !== "string" || typeof publicKey !== "string") return [];
    if (publicKeyProblem(publicKey) !== undefined || signingKeyId(publicKey) !== id) return [];
    return [{ id, publicKey }];
  });
}
