import { encodeUser, fmtCreds, type User } from "@nats-io/jwt";
import { createUser } from "@nats-io/nkeys";

/**
 * Allow and deny lists for one direction. NATS reads an empty or missing allow
 * list as "everything", so a scoped user always needs a non-empty allow list.
 */
export interface SubjectPermission {
  allow?: readonly string[];
  deny?: readonly string[];
}

/** Options for {@link mintUserCreds}. */
export interface MintUserOptions {
  /** Public key (A...) of the account the user belongs to. */
  accountPublicKey: string;
  /** Seed (SA...) of a signing key listed in that account's JWT. */
  accountSigningSeed: string;
  /** User name carried in the JWT, shown in server logs and monitoring. */
  name: string;
  /** Publish permissions; unrestricted when omitted. */
  pub?: SubjectPermission;
  /** Subscribe permissions; unrestricted when omitted. */
  sub?: SubjectPermission;
  /**
   * The `inboxPrefix` the user will connect with: `<inboxPrefix>.>` is added
   * to the subscribe allow list so its request replies (and KV watch
   * deliveries) can reach it while other users' inboxes stay closed.
   */
  inboxPrefix?: string;
  /**
   * Lets the user reply to requests it receives on subjects it may subscribe
   * to, without a publish permission on the reply subject: up to `max`
   * replies within `ttlMs` of each request.
   */
  responses?: { max: number; ttlMs: number };
  /** When the credentials stop working; never when omitted. */
  expiresAt?: Date;
}

/** A freshly minted NATS user. */
export interface MintedUser {
  /** Public key (U...) of the user. */
  publicKey: string;
  /** The user's nkey seed (SU...); a secret. */
  seed: string;
  /** The user JWT, signed by the account signing key. */
  jwt: string;
  /** JWT and seed in the standard `.creds` layout that NATS clients read. */
  creds: string;
}

/**
 * Creates a user nkey and a JWT for it, signed by an account signing key, so
 * the server accepts the user without any configuration change.
 */
export async function mintUserCreds(options: MintUserOptions): Promise<MintedUser> {
  const user = createUser();
  const claims: Partial<User> = {};
  if (options.pub) claims.pub = permission(options.pub);
  const subAllow = [...(options.sub?.allow ?? [])];
  if (options.inboxPrefix !== undefined) subAllow.push(`${options.inboxPrefix}.>`);
  if (options.sub || options.inboxPrefix !== undefined) {
    claims.sub = permission({ allow: subAllow, deny: options.sub?.deny ?? [] });
  }
  if (options.responses) {
    // The JWT carries the window as a Go time.Duration, i.e. nanoseconds.
    claims.resp = { max: options.responses.max, ttl: options.responses.ttlMs * 1_000_000 };
  }
  const jwt = await encodeUser(options.name, user, options.accountPublicKey, claims, {
    // With a signer the JWT is issued by the signing key and names the
    // account in issuer_account, which is what lets a holder of only the
    // signing key (the hub) mint users.
    signer: options.accountSigningSeed,
    ...(options.expiresAt ? { exp: Math.floor(options.expiresAt.getTime() / 1000) } : {}),
  });
  return {
    publicKey: user.getPublicKey(),
    seed: new TextDecoder().decode(user.getSeed()),
    jwt,
    creds: new TextDecoder().decode(fmtCreds(jwt, user)),
  };
}

function permission(p: SubjectPermission): { allow: string[]; deny: string[] } {
  return { allow: [...(p.allow ?? [])], deny: [...(p.deny ?? [])] };
}
