// The `continue` cursor of drift pages: the sort key of the last object a page held, so the
// next page starts right after it however the fleet changed in between. Opaque to callers.
import { HubError } from "../errors.js";
import { compareText, type DriftObject } from "./entries.js";

/** Where an object sorts: cluster name, bundle, group, kind, namespace, name. */
export type DriftKey = readonly [cluster: string, bundle: string, group: string, kind: string, namespace: string, name: string];

/** The sort key of `object` in cluster `cluster`. */
export function driftKey(cluster: string, object: DriftObject): DriftKey {
  const { resource } = object;
  return [cluster, object.bundle, object.group, resource.kind, resource.namespace, resource.name];
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareKeys(a: DriftKey, b: DriftKey): number {
  for (let i = 0; i < a.length; i++) {
    const order = compareText(a[i] ?? "", b[i] ?? "");
    if (order !== 0) return order;
  }
  return 0;
}

/** Encodes a key as a `continue` token. */
export function encodeCursor(key: DriftKey): string {
  return Buffer.from(JSON.stringify(["d1", ...key])).toString("base64url");
}

/** Decodes a `continue` token; throws HubError `invalid-argument` for anything this hub did not issue. */
export function decodeCursor(token: string): DriftKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 7 || parsed[0] !== "d1" || !parsed.every((p) => typeof p === "string")) {
    throw new HubError("invalid-argument", "continue: not a token from a previous drift page; pass the `continue` value of the last answer as is");
  }
  const [, cluster, bundle, group, kind, namespace, name] = parsed;
  return [cluster ?? "", bundle ?? "", group ?? "", kind ?? "", namespace ?? "", name ?? ""];
}
