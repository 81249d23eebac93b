// The hub's desired-state signing keyring, kept in the gitfleet_hub bucket so that every replica
// signs with the same key: the first replica to start generates it, every other replica reads it,
// and rotation and retirement are compare-and-set updates that every replica's watch picks up.
import {
  create,
  generateDesiredSigningKey,
  keyEndorsementPayload,
  publicKeyProblem,
  signWithDesiredKey,
  signingKeyId,
  TrustedKeySchema,
  type DesiredSigningKey,
  type TrustedKey,
} from "@gitfleet/proto";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { isRevisionConflict, storeError } from "../store/buckets.js";

/** Key of the keyring in the gitfleet_hub bucket. */
export const KEYRING_KEY = "desired-signing-keys";

/** One key of the keyring, private half included. */
export interface KeyringKey extends DesiredSigningKey {
  /** base64url of the endorsement by `endorsedBy`; "" for the first key. */
  endorsement: string;
  endorsedBy: string;
  /** ISO 8601. */
  createdAt: string;
}

/** The keyring as stored: every key still trusted, and the one that signs. */
export interface Keyring {
  version: 1;
  active: string;
  keys: KeyringKey[];
}

/** A key as the API shows it: public half only. */
export interface SigningKeyView {
  id: string;
  publicKey: string;
  endorsedBy: string;
  createdAt: string;
  active: boolean;
}

/** Options of {@link createSigningKeyring}. */
export interface SigningKeyringOptions {
  kv: KV;
  logger: Logger;
  now: () => Date;
}

/** The keyring of this replica; see {@link createSigningKeyring}. */
export interface SigningKeyring {
  /** Loads (or, on the first start of the fleet, creates) the keyring and starts following it. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The key that signs now. */
  active(): DesiredSigningKey;
  /** Every key agents should trust now, as the wire carries them. */
  trusted(): TrustedKey[];
  list(): SigningKeyView[];
  /** Creates a key endorsed by the active one and makes it active; returns it. */
  rotate(): Promise<SigningKeyView>;
  /** Removes a key that no longer signs; agents drop it on their next Welcome or refresh. */
  retire(id: string): Promise<void>;
  /** Called on this replica whenever the keyring changes (here or on another replica). */
  onChange(listener: () => void): () => void;
}

/** Checks a keyring read back from the bucket; throws an Error saying what is wrong. */
export function parseKeyring(value: unknown): Keyring {
  const record = value as Partial<Keyring> | null;
  if (record === null || typeof record !== "object" || record.version !== 1 || !Array.isArray(record.keys)) {
    throw new Error("not a version 1 keyring");
  }
  for (const key of record.keys) {
    const problem = publicKeyProblem(key.publicKey);
    if (problem !== undefined) throw new Error(`key ${key.id}: ${problem}`);
    if (signingKeyId(key.publicKey) !== key.id) throw new Error(`key ${key.id} does not match its public key`);
    if (typeof key.privateKey !== "string" || key.privateKey === "") throw new Error(`key ${key.id} has no private key`);
  }
  if (!record.keys.some((key) => key.id === record.active)) throw new Error(`the active key ${String(record.active)} is not in the keyring`);
  return record as Keyring;
}

/** A new keyring holding one fresh key. */
export function newKeyring(now: Date): Keyring {
  const key = generateDesiredSigningKey();
  return { version: 1, active: key.id, keys: [{ ...key, endorsement: "", endorsedBy: "", createdAt: now.toISOString() }] };
}

/** The keyring after a rotation: a new key, endorsed by the active one, made active. */
export function rotatedKeyring(keyring: Keyring, now: Date): { keyring: Keyring; key: KeyringKey } {
  const endorser = activeKey(keyring);
  const fresh = generateDesiredSigningKey();
  const key: KeyringKey = {
    ...fresh,
    endorsement: Buffer.from(signWithDesiredKey(endorser, keyEndorsementPayload(fresh))).toString("base64url"),
    endorsedBy: endorser.id,
    createdAt: now.toISOString(),
  };
  return { keyring: { version: 1, active: key.id, keys: [...keyring.keys, key] }, key };
}

/** The keyring without `id`; refuses the active key and an unknown one. */
export function retiredKeyring(keyring: Keyring, id: string): Keyring {
  if (id === keyring.active) {
    throw new HubError("failed-precondition", `signing key ${id} is the active key; rotate to a new key first, then retire ${id}`);
  }
  if (!keyring.keys.some((key) => key.id === id)) throw new HubError("not-found", `signing key ${id} does not exist (or was retired already)`);
  return { ...keyring, keys: keyring.keys.filter((key) => key.id !== id) };
}

/** The wire form of the keyring's keys. */
export function trustedKeysOf(keyring: Keyring): TrustedKey[] {
  return keyring.keys.map((key) =>
    create(TrustedKeySchema, {
      id: key.id,
      publicKey: key.publicKey,
      endorsement: Buffer.from(key.endorsement, "base64url"),
      endorsedBy: key.endorsedBy,
    }),
  );
}

function activeKey(keyring: Keyring): KeyringKey {
  const key = keyring.keys.find((k) => k.id === keyring.active);
  if (!key) throw new Error(`the active key ${keyring.active} is not in the keyring`);
  return key;
}

/** Creates the keyring of this replica over the gitfleet_hub bucket. */
export function createSigningKeyring(options: SigningKeyringOptions): SigningKeyring {
  const { kv, logger } = options;
  let current: { keyring: Keyring; revision: number } | undefined;
  const listeners = new Set<() => void>();
  let watching: { stop: () => void } | undefined;

  const decode = (bytes: Uint8Array): Keyring => parseKeyring(JSON.parse(new TextDecoder().decode(bytes)));
  const encode = (keyring: Keyring): string => JSON.stringify(keyring);

  const take = (keyring: Keyring, revision: number): void => {
    if (current && current.revision >= revision) return;
    const changed = current !== undefined;
    current = { keyring, revision };
    if (!changed) return;
    logger.info({ active: keyring.active, keys: keyring.keys.map((k) => k.id) }, "desired-state signing keys changed");
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        logger.error({ err }, "a signing-key listener failed");
      }
    }
  };

  const read = async (): Promise<{ keyring: Keyring; revision: number } | undefined> => {
    const entry = await kv.get(KEYRING_KEY);
    if (!entry || entry.operation !== "PUT" || entry.length === 0) return undefined;
    return { keyring: decode(entry.value), revision: entry.revision };
  };

  const loadOrCreate = async (): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await read();
      if (existing) {
        take(existing.keyring, existing.revision);
        return;
      }
      const keyring = newKeyring(options.now());
      try {
        const revision = await kv.create(KEYRING_KEY, encode(keyring));
        logger.info({ key: keyring.active }, "generated the first desired-state signing key");
        take(keyring, revision);
        return;
      } catch (err) {
        if (!isRevisionConflict(err)) throw err;
      }
    }
    throw new Error(`key ${KEYRING_KEY} keeps changing while being created`);
  };

  // Compare-and-set on the stored keyring, so two replicas rotating at once do not lose a key.
  const change = async (edit: (keyring: Keyring) => Keyring): Promise<Keyring> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await read();
      if (!stored) throw new HubError("unavailable", "the signing keyring is missing from gitfleet_hub");
      const next = edit(stored.keyring);
      try {
        const revision = await kv.update(KEYRING_KEY, encode(next), stored.revision);
        take(next, revision);
        return next;
      } catch (err) {
        if (!isRevisionConflict(err)) throw storeError("cannot store the signing keyring in gitfleet_hub", err);
      }
    }
    throw new HubError("unavailable", "the signing keyring kept changing; try again");
  };

  const need = (): Keyring => {
    if (!current) throw new HubError("unavailable", "the signing keyring is not loaded yet");
    return current.keyring;
  };

  return {
    async start() {
      try {
        await loadOrCreate();
      } catch (err) {
        throw storeError("cannot load the desired-state signing keys from gitfleet_hub", err);
      }
      const watch = await kv.watch({ key: KEYRING_KEY });
      watching = watch;
      void (async () => {
        for await (const entry of watch) {
          if (entry.operation !== "PUT") continue;
          try {
            take(decode(entry.value), entry.revision);
          } catch (err) {
            logger.error({ err }, "the stored signing keyring is damaged; keeping the keys held");
          }
        }
      })().catch((err: unknown) => logger.warn({ err }, "watching the signing keyring stopped"));
    },
    stop() {
      watching?.stop();
      watching = undefined;
      return Promise.resolve();
    },
    active: () => activeKey(need()),
    trusted: () => trustedKeysOf(need()),
    list: () => {
      const keyring = need();
      return keyring.keys.map((key) => ({
        id: key.id,
        publicKey: key.publicKey,
        endorsedBy: key.endorsedBy,
        createdAt: key.createdAt,
        active: key.id === keyring.active,
      }));
    },
    async rotate() {
      let created: KeyringKey | undefined;
      await change((keyring) => {
        const next = rotatedKeyring(keyring, options.now());
        created = next.key;
        return next.keyring;
      });
      if (!created) throw new Error("rotation made no key");
      logger.info({ key: created.id, endorsedBy: created.endorsedBy }, "rotated the desired-state signing key");
      return { id: created.id, publicKey: created.publicKey, endorsedBy: created.endorsedBy, createdAt: created.createdAt, active: true };
    },
    async retire(id) {
      await change((keyring) => retiredKeyring(keyring, id));
      logger.info({ key: id }, "retired a desired-state signing key");
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
