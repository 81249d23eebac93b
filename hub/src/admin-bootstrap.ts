// The first admin token: generated on the first start when none is configured.
import type { ApiToken } from "./api/auth.js";
import { newSecret, sha256Hex } from "./secrets.js";
import type { HubSecretsStore } from "./store/hub-secrets.js";

/** The name of the generated admin token: the author of what it does. */
export const adminTokenName = "admin";

/** Prefix of generated admin tokens. */
export const adminSecretPrefix = "gf_adm_";

/** Options of {@link bootstrapAdminToken}. */
export interface AdminBootstrapOptions {
  /** The tokens from the configuration. */
  configured: readonly ApiToken[];
  secrets: HubSecretsStore;
  /** Shows a generated secret to the operator, once. */
  announce: (secret: string) => void;
}

/**
 * Returns the API tokens to accept. When the configuration names no admin
 * token, the first start of the fleet's first replica generates one (named
 * `admin`), stores only its hash in gitfleet_hub and announces the secret;
 * later starts (and other replicas) accept the stored hash and announce nothing.
 */
export async function bootstrapAdminToken(options: AdminBootstrapOptions): Promise<ApiToken[]> {
  if (options.configured.some((t) => t.role === "admin")) return [...options.configured];
  const secret = newSecret(adminSecretPrefix);
  const { hash, created } = await options.secrets.ensureAdminTokenHash(sha256Hex(secret));
  if (created) options.announce(secret);
  return [...options.configured, { name: adminTokenName, role: "admin", hash }];
}

/** The default announcement: one clear line on stdout, not in the structured log. */
export function printAdminToken(secret: string): void {
  process.stdout.write(
    `gitfleet-hub: generated the admin API token (shown only this once; only its hash is stored): ${secret}\n`,
  );
}
