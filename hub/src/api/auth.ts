// Bearer-token authentication of the admin API, with two roles.
import { HubError } from "../errors.js";
import { constantTimeEqual, sha256Hex } from "../secrets.js";

/** API roles; `admin` may do everything `viewer` may. */
export type Role = "viewer" | "admin";

/** An accepted API token: its name, its role and the SHA-256 hex of its secret. */
export interface ApiToken {
  /** Who uses it: the author of what it does (e.g. a promotion's commit). */
  name: string;
  role: Role;
  hash: string;
}

/** The caller an `Authorization` header identifies. */
export interface ApiCaller {
  name: string;
  role: Role;
}

const hashedEntry = /^(viewer|admin):([0-9a-f]{64})$/;
/** The shortest secret accepted: enough that guessing it online is hopeless, even unthrottled. */
export const minApiTokenLength = 32;
/** `name=rest`, where rest does not start with "=": base64 padding at a secret's end is no name. */
const namedEntry = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=([^=].*)$/s;

/** The name of a token configured without one: its role and the first 8 hex of its hash. */
export function defaultTokenName(role: Role, hash: string): string {
  return `${role}-${hash.slice(0, 8)}`;
}

/**
 * Parses one configured token. Forms: `role:<sha256 hex>` keeps only the hash; any other string
 * is a plain secret, hashed here, with `defaultRole`. Either may be preceded by `name=`; without
 * it the token is named `<role>-<first 8 hex of the hash>`. `where` names the setting in errors.
 */
export function parseApiToken(entry: string, defaultRole: Role, where: string): ApiToken {
  const text = entry.trim();
  const named = namedEntry.exec(text);
  const name = named?.[1];
  const token = named?.[2]?.trim() ?? text;
  const withName = (role: Role, hash: string): ApiToken => ({ name: name ?? defaultTokenName(role, hash), role, hash });
  const hashed = hashedEntry.exec(token);
  if (hashed) return withName(hashed[1] as Role, hashed[2] ?? "");
  if (/^(viewer|admin):/.test(token)) {
    throw new HubError("invalid-argument", `${where}: "${token.split(":")[0]}:..." must be followed by a SHA-256 hex digest (64 characters)`);
  }
  if (token.length < minApiTokenLength) {
    throw new HubError(
      "invalid-argument",
      `${where}: a token must be at least ${minApiTokenLength} characters long${name !== undefined ? ` (token ${name})` : ""} (has ${token.length}); generate one with: openssl rand -base64 32`,
    );
  }
  return withName(defaultRole, sha256Hex(token));
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
  /** The name and role of the token an `Authorization` header carries, or undefined when none is accepted. */
  identify(authorization: string | undefined): ApiCaller | undefined;
  /** Throws HubError `unauthenticated` or `permission-denied` unless the header grants `needed`. */
  require(authorization: string | undefined, needed: Role): Role;
}

/** Creates an authenticator for `tokens`. */
export function createApiAuthenticator(tokens: readonly ApiToken[]): ApiAuthenticator {
  const identify = (authorization: string | undefined): ApiCaller | undefined => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) return undefined;
    const hash = sha256Hex(match[1] ?? "");
    let caller: ApiCaller | undefined;
    // Compare against every token so the time taken does not tell which one matched; a secret
    // configured twice counts with its strongest role.
    for (const token of tokens) {
      if (constantTimeEqual(token.hash, hash) && caller?.role !== "admin") caller = { name: token.name, role: token.role };
    }
    return caller;
  };
  const roleOf = (authorization: string | undefined): Role | undefined => identify(authorization)?.role;
  return {
    roleOf,
    identify,
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
