// The first admin token: generated on the first start when none is configured.
import { chmodSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
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

/** Where a generated admin token is written when no file is configured and no one is at a terminal. */
export const defaultAdminTokenFile = join(tmpdir(), "gitfleet-admin-token");

/** Options of {@link adminTokenAnnouncer}. */
export interface AdminTokenAnnouncerOptions {
  /** The file to write the secret to (GITFLEET_ADMIN_TOKEN_FILE). */
  file?: string | undefined;
  /** Says where the secret went (never the secret itself). */
  logger?: Logger | undefined;
  /** Someone reads stdout at a terminal; default: whether stdout is a TTY. */
  interactive?: boolean | undefined;
}

/**
 * How a generated admin token reaches the operator without entering the log stream (which log
 * collectors keep and many people read): written to a file only this user can read, or, with no
 * file configured and a terminal on stdout, printed there. The log says only where it went.
 */
export function adminTokenAnnouncer(options: AdminTokenAnnouncerOptions = {}): (secret: string) => void {
  return (secret) => {
    if (options.file === undefined && (options.interactive ?? process.stdout.isTTY === true)) {
      printAdminToken(secret);
      return;
    }
    const file = options.file ?? defaultAdminTokenFile;
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // a file that existed keeps its mode otherwise
    const line = `generated the admin API token (only its hash is stored); it is in ${file}: read it once, then delete the file`;
    if (options.logger) options.logger.warn({ file }, line);
    else process.stderr.write(`gitfleet-hub: ${line}\n`);
  };
}

/** One clear line on stdout, for an operator at a terminal. */
export function printAdminToken(secret: string): void {
  process.stdout.write(
    `gitfleet-hub: generated the admin API token (shown only this once; only its hash is stored): ${secret}\n`,
  );
}
