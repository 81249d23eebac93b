// What the kubelet would hand a chart's container, computed from the rendered Deployment: its
// environment (values, Secret and ConfigMap keys, the downward API) and the files of its
// Secret, ConfigMap and emptyDir volumes. The files are written under a folder on this machine,
// and the only change made to the environment and arguments is the path prefix of each mount
// (so `/etc/gitfleet/nats/hub.creds` becomes `<root>/etc/gitfleet/nats/hub.creds`).
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RenderedObject } from "./helm.js";

/** Objects a pod's references resolve against (Secrets and ConfigMaps of its namespace). */
export interface PodContext {
  namespace: string;
  /** metadata.name of the pod, for fieldRef. */
  podName: string;
  objects: readonly RenderedObject[];
}

/** The process a container would run, on this machine. */
export interface ContainerRuntime {
  /** Exactly the container's environment, mount paths moved under `root`. */
  env: Record<string, string>;
  /** The container's args, mount paths moved under `root`. */
  args: string[];
  /** Mount path -> folder on this machine. */
  mounts: Map<string, string>;
}

/** A reference the kubelet could not resolve: the container would not start. */
export class PodSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PodSpecError";
  }
}

type Json = Record<string, unknown>;
const record = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** The decoded data of a Secret or ConfigMap (data, stringData, binaryData). */
function dataOf(object: RenderedObject): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  const base64 = object.kind === "Secret" ? object["data"] : object["binaryData"];
  for (const [k, v] of Object.entries(record(base64))) data.set(k, Buffer.from(text(v), "base64"));
  const plain = object.kind === "Secret" ? object["stringData"] : object["data"];
  for (const [k, v] of Object.entries(record(plain))) data.set(k, Buffer.from(text(v), "utf8"));
  return data;
}

function source(context: PodContext, kind: "Secret" | "ConfigMap", name: string): Map<string, Buffer> | undefined {
  const found = context.objects.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? context.namespace) === context.namespace);
  return found ? dataOf(found) : undefined;
}

function fieldValue(context: PodContext, path: string, podSpec: Json): string {
  if (path === "metadata.namespace") return context.namespace;
  if (path === "metadata.name") return context.podName;
  // The admission controller fills in "default" when the pod names none.
  if (path === "spec.serviceAccountName") return text(podSpec["serviceAccountName"]) || "default";
  throw new PodSpecError(`fieldRef ${path} is not supported by this stand-in kubelet`);
}

/**
 * Resolves the container `containerName` of a rendered Deployment and writes its volumes'
 * files under `root`. Throws a {@link PodSpecError} for a reference a kubelet would refuse.
 */
export async function containerRuntime(
  deployment: RenderedObject,
  containerName: string,
  context: PodContext,
  root: string,
): Promise<ContainerRuntime> {
  const podSpec = record(record(record(deployment["spec"])["template"])["spec"]);
  const container = list(podSpec["containers"]).map(record).find((c) => c["name"] === containerName);
  if (!container) throw new PodSpecError(`no container ${containerName} in Deployment ${deployment.metadata.name}`);

  const mounts = new Map<string, string>();
  const volumes = new Map(list(podSpec["volumes"]).map((v) => [text(record(v)["name"]), record(v)]));
  for (const mount of list(container["volumeMounts"]).map(record)) {
    const mountPath = text(mount["mountPath"]);
    const volume = volumes.get(text(mount["name"]));
    if (!volume) throw new PodSpecError(`volumeMount ${text(mount["name"])} names no volume`);
    const local = join(root, mountPath);
    await mkdir(local, { recursive: true });
    mounts.set(mountPath, local);
    const secret = record(volume["secret"]);
    const configMap = record(volume["configMap"]);
    const kind = volume["secret"] ? "Secret" : volume["configMap"] ? "ConfigMap" : undefined;
    if (!kind) {
      if (!volume["emptyDir"]) throw new PodSpecError(`volume ${text(volume["name"])} is of a kind this stand-in kubelet does not mount`);
      continue;
    }
    const name = kind === "Secret" ? text(secret["secretName"]) : text(configMap["name"]);
    const data = source(context, kind, name);
    if (!data) throw new PodSpecError(`volume ${text(volume["name"])} needs ${kind} ${name}, which does not exist`);
    const items = list((kind === "Secret" ? secret : configMap)["items"]).map(record);
    const files = items.length > 0 ? items.map((i) => ({ key: text(i["key"]), path: text(i["path"]) })) : [...data.keys()].map((key) => ({ key, path: key }));
    for (const file of files) {
      const content = data.get(file.key);
      if (!content) throw new PodSpecError(`${kind} ${name} has no key ${file.key} (volume ${text(volume["name"])})`);
      await mkdir(dirname(join(local, file.path)), { recursive: true });
      await writeFile(join(local, file.path), content, { mode: 0o600 });
    }
  }

  // The longest mount path first, so nested mounts move to their own folders.
  const byLength = [...mounts.keys()].sort((a, b) => b.length - a.length);
  const relocate = (value: string): string => {
    const mountPath = byLength.find((m) => value === m || value.startsWith(`${m}/`));
    return mountPath ? `${mounts.get(mountPath) ?? ""}${value.slice(mountPath.length)}` : value;
  };

  const env: Record<string, string> = {};
  for (const entry of list(container["env"]).map(record)) {
    const name = text(entry["name"]);
    if ("value" in entry) {
      env[name] = relocate(text(entry["value"]));
      continue;
    }
    const from = record(entry["valueFrom"]);
    const ref = record(from["secretKeyRef"] ?? from["configMapKeyRef"]);
    if (from["fieldRef"]) {
      env[name] = fieldValue(context, text(record(from["fieldRef"])["fieldPath"]), podSpec);
    } else if (from["secretKeyRef"] || from["configMapKeyRef"]) {
      const kind = from["secretKeyRef"] ? "Secret" : "ConfigMap";
      const value = source(context, kind, text(ref["name"]))?.get(text(ref["key"]));
      if (value !== undefined) env[name] = value.toString("utf8");
      else if (ref["optional"] !== true) {
        throw new PodSpecError(`env ${name} needs key ${text(ref["key"])} of ${kind} ${text(ref["name"])}, which does not exist`);
      }
    } else {
      throw new PodSpecError(`env ${name} has a valueFrom this stand-in kubelet does not support`);
    }
  }
  return { env, args: list(container["args"]).map((a) => relocate(text(a))), mounts };
}
