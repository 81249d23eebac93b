// An in-memory KubeClient for unit tests: enough of the API server's behaviour (scopes,
// namespaces that must exist, CRDs that add kinds, dry-runs that persist nothing) to test the
// reconcile logic fast. Not part of the build.
import { KubeApiError } from "../errors.js";
import type { KubeClient, WatchEvent } from "../kube-client.js";
import { asRecord, crdDefinition, formatRef, isCrd, refKey, refOf, splitApiVersion } from "../kube-objects.js";
import type { KubeObject, ObjectRef } from "../kube-objects.js";

/** One call the fake received. */
export interface FakeCall {
  verb: "apply" | "dry-run" | "get" | "delete" | "list" | "watch" | "create" | "managed-fields";
  ref: string;
}

/** A fake {@link KubeClient} with its state open to the test. */
export interface FakeKube extends KubeClient {
  readonly objects: Map<string, KubeObject>;
  readonly calls: FakeCall[];
  /** Makes apply (and dry-run) of matching objects fail like an invalid object. */
  reject(predicate: (object: KubeObject) => string | undefined): void;
  /** The stored object for a reference, if any. */
  find(ref: Omit<ObjectRef, "version">): KubeObject | undefined;
}

/** Creates a {@link FakeKube} that serves Namespace, ConfigMap, Secret, ServiceAccount, Deployment, Lease, RBAC and CRDs. */
export function createFakeKube(): FakeKube {
  const objects = new Map<string, KubeObject>();
  const calls: FakeCall[] = [];
  const scopes = new Map<string, boolean>([
    ["v1|Namespace", false],
    ["v1|ConfigMap", true],
    ["v1|Secret", true],
    ["apps/v1|Deployment", true],
    ["v1|ServiceAccount", true],
    ["coordination.k8s.io/v1|Lease", true],
    ["rbac.authorization.k8s.io/v1|Role", true],
    ["rbac.authorization.k8s.io/v1|RoleBinding", true],
    ["rbac.authorization.k8s.io/v1|ClusterRole", false],
    ["rbac.authorization.k8s.io/v1|ClusterRoleBinding", false],
    ["apiextensions.k8s.io/v1|CustomResourceDefinition", false],
  ]);
  let rejecter: (object: KubeObject) => string | undefined = () => undefined;
  let version = 1;
  const watchers = new Set<{ apiVersion: string; kind: string; namespace: string; emit: (event: WatchEvent) => void }>();
  const emit = (type: WatchEvent["type"], object: KubeObject): void => {
    for (const w of watchers) {
      if (w.apiVersion === object.apiVersion && w.kind === object.kind && (!w.namespace || w.namespace === object.metadata.namespace)) {
        w.emit({ type, object: structuredClone(object) });
      }
    }
  };

  const find = (ref: Omit<ObjectRef, "version">): KubeObject | undefined => objects.get(refKey({ ...ref, version: "" }));
  const namespaceExists = (name: string): boolean => find({ group: "", kind: "Namespace", namespace: "", name }) !== undefined;

  return {
    objects,
    calls,
    reject(predicate) {
      rejecter = predicate;
    },
    find,
    async apply(object, options = {}) {
      await Promise.resolve();
      const ref = refOf(object);
      calls.push({ verb: options.dryRun ? "dry-run" : "apply", ref: formatRef(ref) });
      const namespaced = scopes.get(`${object.apiVersion}|${object.kind}`);
      if (namespaced === undefined) throw new KubeApiError(404, "NotFound", formatRef(ref), "the server could not find the requested resource");
      if (namespaced && !namespaceExists(ref.namespace)) {
        throw new KubeApiError(404, "NotFound", formatRef(ref), `namespaces "${ref.namespace}" not found`);
      }
      const problem = rejecter(object);
      if (problem) throw new KubeApiError(422, "Invalid", formatRef(ref), problem);
      const live: KubeObject = structuredClone(object);
      if (isCrd(ref)) {
        live["status"] = { conditions: [{ type: "Established", status: "True" }] };
      }
      live.metadata.resourceVersion = String(options.dryRun ? version : ++version);
      if (!options.dryRun) {
        const existed = objects.has(refKey({ ...ref, version: "" }));
        objects.set(refKey({ ...ref, version: "" }), live);
        emit(existed ? "MODIFIED" : "ADDED", live);
        const defined = isCrd(ref) ? crdDefinition(object) : undefined;
        const versions = asRecord(object["spec"])?.["versions"];
        if (defined && Array.isArray(versions)) {
          for (const v of versions) {
            const name = asRecord(v)?.["name"];
            if (typeof name === "string") scopes.set(`${defined.group}/${name}|${defined.kind}`, defined.namespaced);
          }
        }
      }
      return live;
    },
    async get(ref) {
      await Promise.resolve();
      calls.push({ verb: "get", ref: formatRef(ref) });
      return find(ref);
    },
    async delete(ref) {
      await Promise.resolve();
      calls.push({ verb: "delete", ref: formatRef(ref) });
      const existing = find(ref);
      if (existing) emit("DELETED", existing);
      return objects.delete(refKey({ ...ref, version: "" }));
    },
    async list(query) {
      await Promise.resolve();
      calls.push({ verb: "list", ref: query.kind });
      const [key, value] = (query.labelSelector ?? "").split("=");
      return [...objects.values()].filter(
        (o) =>
          o.apiVersion === query.apiVersion &&
          o.kind === query.kind &&
          (!query.namespace || o.metadata.namespace === query.namespace) &&
          (!key || o.metadata.labels?.[key] === value),
      );
    },
    async listWithVersion(query) {
      return { items: await this.list(query), resourceVersion: String(version) };
    },
    async watch(query, onEvent, signal) {
      calls.push({ verb: "watch", ref: query.kind });
      const watcher = { apiVersion: query.apiVersion, kind: query.kind, namespace: query.namespace ?? "", emit: onEvent };
      watchers.add(watcher);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      watchers.delete(watcher);
    },
    async create(object) {
      await Promise.resolve();
      calls.push({ verb: "create", ref: formatRef(refOf(object)) });
      return object;
    },
    async replaceManagedFields(target, managedFields, resourceVersion) {
      await Promise.resolve();
      calls.push({ verb: "managed-fields", ref: formatRef(target) });
      const live = find(target);
      if (!live) throw new KubeApiError(404, "NotFound", formatRef(target), "not found");
      if (live.metadata.resourceVersion !== resourceVersion) throw new KubeApiError(409, "Conflict", formatRef(target), "the object has been modified");
      live.metadata.managedFields = managedFields;
      live.metadata.resourceVersion = String(++version);
      return live;
    },
    async isNamespaced(apiVersion, kind) {
      await Promise.resolve();
      return scopes.get(`${apiVersion}|${kind}`);
    },
    async serverVersion() {
      await Promise.resolve();
      return "v1.36.0-fake";
    },
  };
}

/** A reference for tests, e.g. `ref("v1", "ConfigMap", "web", "settings")`. */
export function ref(apiVersion: string, kind: string, namespace: string, name: string): ObjectRef {
  return { ...splitApiVersion(apiVersion), kind, namespace, name };
}
