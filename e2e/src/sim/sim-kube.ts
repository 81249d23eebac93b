// The object store of one simulated cluster: an in-memory KubeClient (the agent's own seam to
// Kubernetes), so the whole agent runs against it unchanged. It keeps what an API server keeps
// for the agent's purposes: objects by group/kind/namespace/name, namespaces that must exist,
// CRDs that add kinds, resourceVersions, generations, server-side-apply managedFields for the
// `gitfleet` field manager, and watches. A tiny "controller" writes the status a healthy
// workload would have, so health is assessed by the agent's real rules; the drivers (drift,
// failing health) change objects the way another field manager or a failing rollout would.
import { BUNDLE_ANNOTATION, KubeApiError, formatRef, refKey, refOf } from "@gitfleet/agent";
import type { KubeClient, KubeObject, ObjectRef } from "@gitfleet/agent";

/** One change a watch saw (the agent's WatchEvent). */
type WatchEvent = Parameters<Parameters<KubeClient["watch"]>[1]>[0];

/** A simulated cluster's object store, with the drivers the simulator uses. */
export interface SimKube extends KubeClient {
  /** The live objects, keyed by group/kind/namespace/name. */
  readonly objects: ReadonlyMap<string, KubeObject>;
  /**
   * Changes one field gitfleet applied in each of up to `count` objects of bundles (not the
   * agent's own), as `kubectl edit` would; returns how many objects changed.
   */
  drift(count?: number): number;
  /** Makes every workload (or, without one, every object of a bundle) report a failed rollout. */
  failHealth(): number;
  /** Undoes {@link SimKube.failHealth}. */
  restoreHealth(): number;
}

const CLUSTER_SCOPED = new Set([
  "|Namespace",
  "|Node",
  "|PersistentVolume",
  "apiextensions.k8s.io|CustomResourceDefinition",
  "rbac.authorization.k8s.io|ClusterRole",
  "rbac.authorization.k8s.io|ClusterRoleBinding",
  "storage.k8s.io|StorageClass",
  "scheduling.k8s.io|PriorityClass",
  "networking.k8s.io|IngressClass",
  "admissionregistration.k8s.io|MutatingWebhookConfiguration",
  "admissionregistration.k8s.io|ValidatingWebhookConfiguration",
  "apiregistration.k8s.io|APIService",
]);

// Groups every API server serves; a kind of any other group needs a CRD first.
const BUILTIN_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "autoscaling",
  "policy",
  "networking.k8s.io",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "coordination.k8s.io",
  "apiextensions.k8s.io",
  "scheduling.k8s.io",
  "admissionregistration.k8s.io",
  "events.k8s.io",
  "discovery.k8s.io",
  "apiregistration.k8s.io",
  "node.k8s.io",
  "certificates.k8s.io",
]);

const WORKLOADS = new Set(["apps|Deployment", "apps|StatefulSet", "apps|DaemonSet", "apps|ReplicaSet"]);
const FIELD_MANAGER = "gitfleet";
const DRIFT_MANAGER = "kubectl-edit";

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The fieldsV1 trie server-side apply records for an applied object (lists are atomic here). */
export function fieldsOf(value: Record<string, unknown>, top = true): Record<string, unknown> {
  const trie: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (top && (key === "apiVersion" || key === "kind" || key === "status")) continue;
    if (top && key === "metadata" && isRecord(child)) {
      const meta: Record<string, unknown> = {};
      for (const k of ["labels", "annotations"]) {
        const v = child[k];
        if (isRecord(v)) meta[`f:${k}`] = { ".": {}, ...fieldsOf(v, false) };
      }
      if (Object.keys(meta).length > 0) trie["f:metadata"] = meta;
      continue;
    }
    trie[`f:${key}`] = isRecord(child) && Object.keys(child).length > 0 ? { ".": {}, ...fieldsOf(child, false) } : {};
  }
  return trie;
}

/** A path to a scalar leaf the bundle set (outside metadata), for the drift driver. */
function firstLeaf(value: unknown, at: string[] = []): string[] | undefined {
  if (!isRecord(value)) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (at.length === 0 && ["apiVersion", "kind", "metadata", "status"].includes(key)) continue;
    if (typeof child === "string" || typeof child === "number" || typeof child === "boolean") return [...at, key];
    const deeper = firstLeaf(child, [...at, key]);
    if (deeper) return deeper;
  }
  return undefined;
}

function trieOfPath(path: readonly string[]): Record<string, unknown> {
  let node: Record<string, unknown> = {};
  for (const key of [...path].reverse()) node = { [`f:${key}`]: node };
  return node;
}

/** Options of {@link createSimKube}. */
export interface SimKubeOptions {
  /** The API server version reported; default "v1.36.0-sim". */
  version?: string;
}

/** Creates an empty {@link SimKube}. */
export function createSimKube(options: SimKubeOptions = {}): SimKube {
  const objects = new Map<string, KubeObject>();
  // Kinds CRDs added: "group|kind" -> namespaced.
  const defined = new Map<string, boolean>();
  const failing = new Set<string>();
  const watchers = new Set<{ apiVersion: string; kind: string; namespace: string; emit: (event: WatchEvent) => void }>();
  let version = 1;
  let driftCount = 0;

  const keyOf = (ref: Omit<ObjectRef, "version">): string => refKey({ ...ref, version: "" });
  const now = (): string => new Date().toISOString();

  const emit = (type: WatchEvent["type"], object: KubeObject): void => {
    for (const w of watchers) {
      if (w.apiVersion === object.apiVersion && w.kind === object.kind && (!w.namespace || w.namespace === object.metadata.namespace)) {
        w.emit({ type, object: structuredClone(object) });
      }
    }
  };

  const scopeOf = (apiVersion: string, kind: string): boolean | undefined => {
    const gk = `${groupOf(apiVersion)}|${kind}`;
    if (CLUSTER_SCOPED.has(gk)) return false;
    const custom = defined.get(gk);
    if (custom !== undefined) return custom;
    return BUILTIN_GROUPS.has(groupOf(apiVersion)) ? true : undefined;
  };

  // What the kind's controller would write once it has acted on this generation.
  const statusFor = (object: KubeObject, key: string): Record<string, unknown> | undefined => {
    const gk = `${groupOf(object.apiVersion)}|${object.kind}`;
    const generation = object.metadata["generation"];
    const spec = isRecord(object["spec"]) ? object["spec"] : {};
    const replicas = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
    const fail = failing.has(key);
    switch (gk) {
      case "apps|Deployment":
        return {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: fail ? 0 : replicas,
          availableReplicas: fail ? 0 : replicas,
          conditions: fail
            ? [
                { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." },
                { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "simulated: the rollout failed" },
              ]
            : [
                { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
                { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
              ],
        };
      case "apps|StatefulSet":
      case "apps|ReplicaSet":
        return {
          observedGeneration: generation,
          replicas,
          readyReplicas: fail ? 0 : replicas,
          availableReplicas: fail ? 0 : replicas,
          updatedReplicas: replicas,
          currentReplicas: replicas,
          currentRevision: "sim-1",
          updateRevision: "sim-1",
          ...(fail ? { conditions: [{ type: "Stalled", status: "True", reason: "SimulatedFailure", message: "simulated: pods crash" }] } : {}),
        };
      case "apps|DaemonSet":
        return {
          observedGeneration: generation,
          desiredNumberScheduled: 1,
          currentNumberScheduled: 1,
          updatedNumberScheduled: 1,
          numberReady: fail ? 0 : 1,
          numberAvailable: fail ? 0 : 1,
          numberUnavailable: fail ? 1 : 0,
        };
      case "|Namespace":
        return { phase: "Active" };
      case "|PersistentVolumeClaim":
        return { phase: "Bound" };
      case "apiextensions.k8s.io|CustomResourceDefinition":
        return { conditions: [{ type: "NamesAccepted", status: "True" }, { type: "Established", status: "True" }] };
      default:
        return fail ? { conditions: [{ type: "Stalled", status: "True", reason: "SimulatedFailure", message: "simulated: the object failed" }] } : undefined;
    }
  };

  const withStatus = (object: KubeObject, key: string): KubeObject => {
    const status = statusFor(object, key);
    if (status) object["status"] = status;
    else delete object["status"];
    return object;
  };

  const put = (key: string, next: KubeObject, existed: boolean): void => {
    next.metadata["resourceVersion"] = String(++version);
    objects.set(key, next);
    emit(existed ? "MODIFIED" : "ADDED", next);
  };

  const bundleObjects = (): Array<[string, KubeObject]> =>
    [...objects.entries()].filter(([, o]) => typeof o.metadata.annotations?.[BUNDLE_ANNOTATION] === "string" && o.kind !== "Namespace");

  return {
    objects,
    async apply(object, applyOptions = {}) {
      await Promise.resolve();
      const ref = refOf(object);
      const namespaced = scopeOf(object.apiVersion, object.kind);
      if (namespaced === undefined) throw new KubeApiError(404, "NotFound", formatRef(ref), "the server could not find the requested resource");
      if (namespaced && !objects.has(keyOf({ group: "", kind: "Namespace", namespace: "", name: ref.namespace }))) {
        throw new KubeApiError(404, "NotFound", formatRef(ref), `namespaces "${ref.namespace}" not found`);
      }
      const key = keyOf(ref);
      const live = objects.get(key);
      const next: KubeObject = structuredClone(object);
      const liveMeta = live?.metadata;
      const specChanged = !live || JSON.stringify(live["spec"]) !== JSON.stringify(object["spec"]);
      next.metadata = {
        ...next.metadata,
        uid: liveMeta?.["uid"] ?? `sim-${version}-${ref.name}`,
        creationTimestamp: liveMeta?.["creationTimestamp"] ?? now(),
        resourceVersion: liveMeta?.["resourceVersion"] ?? String(version),
        ...(object["spec"] !== undefined ? { generation: (Number(liveMeta?.["generation"]) || 0) + (specChanged ? 1 : 0) } : {}),
        // A forced apply of the whole object takes every field back from other managers.
        managedFields: [{ manager: FIELD_MANAGER, operation: "Apply", apiVersion: object.apiVersion, time: now(), fieldsType: "FieldsV1", fieldsV1: fieldsOf(object) }],
      };
      withStatus(next, key);
      if (applyOptions.dryRun) return next;
      if (next.kind === "CustomResourceDefinition" && groupOf(next.apiVersion) === "apiextensions.k8s.io") {
        const spec = isRecord(next["spec"]) ? next["spec"] : {};
        const names = isRecord(spec["names"]) ? spec["names"] : {};
        if (typeof spec["group"] === "string" && typeof names["kind"] === "string") defined.set(`${spec["group"]}|${names["kind"]}`, spec["scope"] !== "Cluster");
      }
      put(key, next, live !== undefined);
      return structuredClone(next);
    },
    async get(ref) {
      await Promise.resolve();
      const found = objects.get(keyOf(ref));
      return found ? structuredClone(found) : undefined;
    },
    async delete(ref) {
      await Promise.resolve();
      const key = keyOf(ref);
      const existing = objects.get(key);
      if (!existing) return false;
      objects.delete(key);
      failing.delete(key);
      emit("DELETED", existing);
      return true;
    },
    async list(query) {
      await Promise.resolve();
      const [label, value] = (query.labelSelector ?? "").split("=");
      return [...objects.values()]
        .filter(
          (o) =>
            o.apiVersion === query.apiVersion &&
            o.kind === query.kind &&
            (!query.namespace || o.metadata.namespace === query.namespace) &&
            (!label || o.metadata.labels?.[label] === value),
        )
        .map((o) => structuredClone(o));
    },
    async listWithVersion(query) {
      return { items: await this.list(query), resourceVersion: String(version) };
    },
    async watch(query, onEvent, signal) {
      const watcher = { apiVersion: query.apiVersion, kind: query.kind, namespace: query.namespace ?? "", emit: onEvent };
      watchers.add(watcher);
      try {
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        watchers.delete(watcher);
      }
    },
    // Events are accepted and dropped: thousands of clusters would only grow memory with them.
    async create(object) {
      await Promise.resolve();
      return object;
    },
    async replaceManagedFields(ref, managedFields, resourceVersion) {
      await Promise.resolve();
      const key = keyOf(ref);
      const live = objects.get(key);
      if (!live) throw new KubeApiError(404, "NotFound", formatRef(ref), "not found");
      if (live.metadata["resourceVersion"] !== resourceVersion) throw new KubeApiError(409, "Conflict", formatRef(ref), "the object has been modified");
      const next = structuredClone(live);
      next.metadata["managedFields"] = managedFields;
      put(key, next, true);
      return structuredClone(next);
    },
    async isNamespaced(apiVersion, kind) {
      await Promise.resolve();
      return scopeOf(apiVersion, kind);
    },
    async serverVersion() {
      await Promise.resolve();
      return options.version ?? "v1.36.0-sim";
    },
    drift(count = 1) {
      let changed = 0;
      for (const [key, live] of bundleObjects()) {
        if (changed >= count) break;
        const path = firstLeaf(live);
        if (!path) continue;
        const next = structuredClone(live);
        let node: Record<string, unknown> = next;
        for (const step of path.slice(0, -1)) node = node[step] as Record<string, unknown>;
        const leaf = path[path.length - 1] ?? "";
        const old = node[leaf];
        driftCount++;
        node[leaf] = typeof old === "number" ? old + 1 : typeof old === "boolean" ? !old : `${String(old)}-drift-${driftCount}`;
        next.metadata["managedFields"] = [
          ...(Array.isArray(next.metadata["managedFields"]) ? (next.metadata["managedFields"] as unknown[]) : []),
          { manager: DRIFT_MANAGER, operation: "Update", apiVersion: live.apiVersion, time: now(), fieldsType: "FieldsV1", fieldsV1: trieOfPath(path) },
        ];
        if (path[0] === "spec") next.metadata["generation"] = (Number(next.metadata["generation"]) || 0) + 1;
        withStatus(next, key);
        put(key, next, true);
        changed++;
      }
      return changed;
    },
    failHealth() {
      const all = bundleObjects();
      const workloads = all.filter(([, o]) => WORKLOADS.has(`${groupOf(o.apiVersion)}|${o.kind}`));
      const targets = workloads.length > 0 ? workloads : all;
      for (const [key, live] of targets) {
        failing.add(key);
        put(key, withStatus(structuredClone(live), key), true);
      }
      return targets.length;
    },
    restoreHealth() {
      let restored = 0;
      for (const key of [...failing]) {
        failing.delete(key);
        const live = objects.get(key);
        if (!live) continue;
        put(key, withStatus(structuredClone(live), key), true);
        restored++;
      }
      return restored;
    },
  };
}
