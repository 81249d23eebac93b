import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";

/** Where and as whom to reach one cluster's API server. */
export interface ClusterAccess {
  name: string;
  server: string;
  token: string;
  /** PEM of the CA that signed the serving certificate. */
  caData: string;
}

/** A KubeConfig for a lab cluster and a bearer token (the admin's unless another is given). */
export function kubeConfigFor(cluster: ClusterAccess, token: string = cluster.token): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caData: Buffer.from(cluster.caData).toString("base64") }],
    users: [{ name: "user", token }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: "user" }],
    currentContext: cluster.name,
  });
  return kc;
}

/** Server-side applies one object with the given field manager. */
export async function serverSideApply<T extends KubernetesObject>(
  kc: KubeConfig,
  object: T,
  fieldManager = "gitfleet-e2e",
): Promise<T> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  return await api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

/** Reads an object, or undefined when the API server says 404. */
export async function readObject<T extends KubernetesObject>(
  kc: KubeConfig,
  ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
): Promise<T | undefined> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  try {
    const object: KubernetesObject = await api.read(ref);
    return object as T;
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** The HTTP status of a client-node API error, if it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/** Changes an object with a JSON merge patch, as `kubectl patch --type merge` does, under `fieldManager`. */
export async function mergePatchAs<T extends KubernetesObject>(kc: KubeConfig, patch: T, fieldManager: string): Promise<T> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  return await api.patch(patch, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch);
}

/**
 * Reads an object, changes it and writes it back whole (an update, as `kubectl edit` does) under
 * `fieldManager`; retries when someone else wrote in between.
 */
export async function updateAs<T extends KubernetesObject>(
  kc: KubeConfig,
  ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
  change: (object: T) => void,
  fieldManager: string,
): Promise<T> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (let attempt = 0; ; attempt++) {
    const object: T = await api.read(ref);
    change(object);
    try {
      return await api.replace<T>(object, undefined, undefined, fieldManager);
    } catch (err) {
      if (statusCodeOf(err) !== 409 || attempt >= 5) throw err;
    }
  }
}
