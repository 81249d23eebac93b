// Bearer-token authentication of the admin API, with two roles.
import { HubError } from "../errors.js";
import { constantTimeEqual, sha256Hex } from "../secrets.js";

/** API roles; `admin` may do everything `viewer` may. */
export type Role = "viewer" | "admin";

/** An accepted API token: its role and the SHA-256 hex of its secret. */
export interface ApiToken {
  role: Role;
  hash: string;
}

const hashedEntry = /^(viewer|admin):([0-9a-f]{64})$/;

/**
 * Parses one configured token: `role:<sha256 hex>` keeps only the hash; any
 * other string is a plain secret, hashed here, with `defaultRole`.
 * `where` names the setting in error messages.
 */
export function parseApiToken(entry: string, defaultRole: Role, where: string): ApiToken {
  const text = entry.trim();
  const hashed = hashedEntry.exec(text);
  if (hashed) return { role: hashed[1] as Role, hash: hashed[2] ?? "" };
  if (/^(viewer|admin):/.test(text)) {
    throw new HubError("invalid-argument", `${where}: "${text.split(":")[0]}:..." must be followed by a SHA-256 hex digest (64 characters)`);
  }
  if (text.length < 16) {
    throw new HubError("invalid-argument", `${where}: a token must be at least 16 characters long`);
  }
  return { role: defaultRole, hash: sha256Hex(text) };
}

/** Parses a comma-separated list of tokens (see {@link parseApiToken}). */
export function parseApiTokenList(list: string, defaultRole: Role, where: string): ApiToken[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseApiToken(s, defaultRole, where));
}

/** Checks bearer tokens against the configured ones. */
export interface ApiAuthenticator {
  /** The role of an `Authorization` header value, or undefined when it carries no accepted token. */
  roleOf(authorization: string | undefined): Role | undefined;
  /** Throws HubError `unauthenticated` or `permission-denied` unless the header grants `needed`. */
  require(authorization: string | undefined, needed: Role): Role;
}

/** Creates an authenticator for `tokens`. */
export function createApiAuthenticator(tokens: readonly ApiToken[]): ApiAuthenticator {
  const roleOf = (authorization: string | undefined): Role | undefined => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return undefined;
    const hash = sha256Hex(match[1] ?? "");
    let role: Role | undefined;
    // Compare against every token so the time taken does not tell which one matched.
    for (const token of tokens) {
      if (constantTimeEqual(token.hash, hash) && role !== "admin") role = token.role;
    }
    return role;
  };
  return {
    roleOf,
    require(authorization, needed) {
      const role = roleOf(authorization);
      if (!role) {
        throw new HubError("unauthenticated", 'missing or invalid bearer token: send "Authorization: Bearer <token>"');
      }
      if (needed === "admin" && role !== "admin") {
        throw new HubError("permission-denied", "this request needs the admin role; the token has the viewer role");
      }
      return role;
    },
  };
}

/**
 * A Fastify `onRequest` hook that lets the request through only with a token
 * of `role`; it runs before the body is read, so an unauthenticated caller
 * learns nothing about the route's validation.
 */
export function requireRole(auth: ApiAuthenticator, role: Role): (request: { headers: { authorization?: string | undefined } }) => Promise<void> {
  return (request) => {
    auth.require(request.headers.authorization, role);
    return Promise.resolve();
  };
}
