import type { KubeClient } from "./kube-client.js";
import { asRecord } from "./kube-objects.js";

/** Labels on every Secret and ConfigMap the agent keeps for itself. */
export const AGENT_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/managed-by": "gitfleet-agent" };

/** Reads a Secret's data, decoded; undefined when the Secret does not exist. */
export async function readSecret(kube: KubeClient, namespace: string, name: string): Promise<Map<string, Buffer> | undefined> {
  const secret = await kube.get({ group: "", version: "v1", kind: "Secret", namespace, name });
  if (!secret) return undefined;
  const data = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(asRecord(secret["data"]) ?? {})) {
    if (typeof value === "string") data.set(key, Buffer.from(value, "base64"));
  }
  return data;
}

/** Options of {@link writeSecret}. */
export interface WriteSecretOptions {
  namespace: string;
  name: string;
  data: Record<string, Buffer | string>;
  labels?: Record<string, string>;
}

/** Creates or replaces a Secret's data by server-side apply; keys left out are removed. */
export async function writeSecret(kube: KubeClient, options: WriteSecretOptions): Promise<void> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.data)) {
    data[key] = (typeof value === "string" ? Buffer.from(value, "utf8") : value).toString("base64");
  }
  await kube.apply({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: options.name, namespace: options.namespace, labels: { ...AGENT_LABELS, ...(options.labels ?? {}) } },
    data,
  });
}
