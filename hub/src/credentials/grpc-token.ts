// gRPC credentials of agents (docs/protocol.md, "Credentials"):
// `gf_agt_<payload>.<mac>`, payload = base64url JSON {"cid","epoch","exp"},
// mac = base64url HMAC-SHA256 of the payload text with the hub's credential key.
import { createHmac } from "node:crypto";
import { HubError } from "../errors.js";
import { constantTimeEqual, isId } from "../secrets.js";

/** Prefix of every gRPC credential. */
export const grpcTokenPrefix = "gf_agt_";
const tokenPattern = /^gf_agt_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

/** What a gRPC credential says. */
export interface GrpcTokenClaims {
  /** The cluster id the holder speaks for. */
  cid: string;
  /** The cluster's credential epoch at issue time. */
  epoch: number;
  /** Expiry, unix seconds. */
  exp: number;
}

function mac(key: Uint8Array, payload: string): string {
  return createHmac("sha256", key).update(payload, "utf8").digest("base64url");
}

/** Issues a gRPC credential for `claims`, signed with the credential key. */
export function issueGrpcToken(key: Uint8Array, claims: GrpcTokenClaims): string {
  const payload = Buffer.from(JSON.stringify({ cid: claims.cid, epoch: claims.epoch, exp: claims.exp })).toString(
    "base64url",
  );
  return `${grpcTokenPrefix}${payload}.${mac(key, payload)}`;
}

/**
 * Checks a credential's form, MAC and expiry and returns its claims. Throws
 * HubError `unauthenticated`; the message never says which byte was wrong.
 * The epoch is checked by the caller against the cluster record.
 */
export function verifyGrpcToken(key: Uint8Array, token: string, now: Date): GrpcTokenClaims {
  const invalid = (): never => {
    throw new HubError("unauthenticated", "gRPC credential is not valid");
  };
  const match = tokenPattern.exec(token);
  if (!match) return invalid();
  const payload = match[1] ?? "";
  if (!constantTimeEqual(mac(key, payload), match[2] ?? "")) return invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return invalid();
  }
  if (!isClaims(parsed)) return invalid();
  if (parsed.exp * 1000 <= now.getTime()) {
    throw new HubError(
      "unauthenticated",
      `gRPC credential of cluster ${parsed.cid} expired at ${new Date(parsed.exp * 1000).toISOString()}; the agent renews its credentials with Renew`,
    );
  }
  return parsed;
}

function isClaims(value: unknown): value is GrpcTokenClaims {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["cid"] === "string" &&
    isId(v["cid"], "c") &&
    Number.isSafeInteger(v["epoch"]) &&
    (v["epoch"] as number) >= 1 &&
    Number.isSafeInteger(v["exp"])
  );
}
