// A lab cluster as a chart's install target: namespaces, server-side apply of rendered objects
// (for real or as a dry-run the API server validates and admits without storing), and a token
// for a ServiceAccount through the TokenRequest API.
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { createKubeClient } from "@gitfleet/agent";
import type { RenderedObject } from "./helm.js";

/**
 * Server-side applies objects in order, as they are (dry-run: validated and admitted, nothing
 * stored). It goes through the agent's client, which sends the JSON untouched: client-node's
 * typed models would drop a field the chart misspelled, and the API server must see it to
 * refuse it. Rejects with the API server's message, naming the object.
 */
export async function applyObjects(kc: KubeConfig, objects: readonly RenderedObject[], options: { dryRun?: boolean } = {}): Promise<void> {
  const kube = createKubeClient({ kubeConfig: kc });
  for (const object of objects) await kube.apply(object, { dryRun: options.dryRun ?? false });
}

/** Creates namespaces (for real) that do not exist yet. */
export async function ensureNamespaces(kc: KubeConfig, names: readonly string[]): Promise<void> {
  await applyObjects(
    kc,
    names.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
  );
}

/** A short-lived token for a ServiceAccount, from the TokenRequest API (as the kubelet gets one). */
export async function serviceAccountToken(kc: KubeConfig, namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const answer = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds } } });
  const token = answer.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  return token;
}
