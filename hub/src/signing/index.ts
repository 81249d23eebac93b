// The hub's desired-state signing keys: the keyring in gitfleet_hub, the signer the publisher
// uses, and re-signing every pointer after a rotation.
export { KEYRING_KEY, createSigningKeyring, newKeyring, parseKeyring, retiredKeyring, rotatedKeyring, trustedKeysOf } from "./keyring.js";
export type { Keyring, KeyringKey, SigningKeyView, SigningKeyring, SigningKeyringOptions } from "./keyring.js";
export { activeKeySigner } from "./signer.js";
export type { DesiredStateSigner } from "./signer.js";
export { resignPointers } from "./resign.js";
export type { ResignOutcome } from "./resign.js";
export { createSigningKeyService } from "./service.js";
export type { RotationOutcome, SigningKeyService } from "./service.js";
