// The agent's Kubernetes client: server-side apply, get, list, watch and delete of plain JSON
// objects over its own small HTTP layer (kube-http.ts), with a discovery cache per group version.
// It does not load @kubernetes/client-node (kube-config.ts says why); it sends exactly the JSON a
// bundle holds, unknown fields and all.
import { messageOf } from "@gitfleet/proto/rules";
import { AgentError, KubeApiError } from "./errors.js";
import { LeanKubeConfig } from "./kube-config.js";
import type { KubeConfigLike } from "./kube-config.js";
import { kubeTransport } from "./kube-http.js";
import type { KubeRequest, KubeTransport } from "./kube-http.js";
import { apiVersionOf, asRecord, formatRef, refOf } from "./kube-objects.js";
import { watchCollection } from "./kube-watch.js";
import type { KubeObject, ObjectRef } from "./kube-objects.js";

export type { KubeConfigLike } from "./kube-config.js";

/** Field manager of everything the agent applies. */
export const FIELD_MANAGER = "gitfleet";

/** Options of {@link KubeClient.apply}. */
export interface ApplyOptions {
  /** Validate and admit the object on the server without persisting it. */
  dryRun?: boolean;
}

/** What {@link KubeClient.list} lists. */
export interface ListQuery {
  apiVersion: string;
  kind: string;
  /** Namespace to list in; all namespaces (or cluster-scoped) when omitted. */
  namespace?: string;
  labelSelector?: string;
}

/** What {@link KubeClient.watch} watches: one kind, in one namespace or everywhere, from a version. */
export interface WatchQuery {
  apiVersion: string;
  kind: string;
  namespace?: string;
  /** The resourceVersion of the list the watch continues. */
  resourceVersion: string;
}

/** One change a watch saw; BOOKMARK carries only a newer resourceVersion. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  object: KubeObject;
}

/**
 * The Kubernetes operations the agent needs. Errors are {@link KubeApiError}s whose message
 * names the object; the real client and test fakes implement it alike.
 */
export interface KubeClient {
  /** Server-side apply under the `gitfleet` field manager, forcing conflicts; returns the live object. */
  apply(object: KubeObject, options?: ApplyOptions): Promise<KubeObject>;
  /** Reads one object; undefined when it does not exist. */
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /** Deletes one object (background propagation); false when it was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
  /** Lists objects of one kind. */
  list(query: ListQuery): Promise<KubeObject[]>;
  /** Lists objects of one kind with the list's resourceVersion, where a watch can continue. */
  listWithVersion(query: ListQuery): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /**
   * Watches one kind from a resourceVersion until the server ends the watch (resolves) or it
   * fails (rejects; a KubeApiError with status 410 when the version is too old to continue).
   */
  watch(query: WatchQuery, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
  /** Creates an object (e.g. an Event); returns it as stored. */
  create(object: KubeObject): Promise<KubeObject>;
  /**
   * Replaces an object's managedFields, if its resourceVersion is still `resourceVersion`
   * (a 409 KubeApiError otherwise).
   */
  replaceManagedFields(ref: ObjectRef, managedFields: unknown[], resourceVersion: string): Promise<KubeObject>;
  /** Whether a kind is namespaced, from (cached) discovery; undefined when the server does not serve it. */
  isNamespaced(apiVersion: string, kind: string): Promise<boolean | undefined>;
  /** The API server's gitVersion, e.g. "v1.36.3". */
  serverVersion(): Promise<string>;
}

/** Options of {@link createKubeClient}. */
export interface KubeClientOptions {
  /** The cluster and credentials: {@link loadKubeConfig}'s, or @kubernetes/client-node's KubeConfig. */
  kubeConfig: KubeConfigLike;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

/** The requests {@link KubeApi.send} makes. */
export type RawAction = "patch" | "read" | "delete" | "list" | "create" | "replace";

/** What a request sends besides its path: query, body and its content type. */
interface SendOptions {
  query?: Record<string, string | undefined>;
  contentType?: string;
  body?: string;
}

/** One entry of a group version's discovery document. */
interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const METHODS = { patch: "PATCH", read: "GET", delete: "DELETE", list: "GET", create: "POST", replace: "PUT" } as const;

/** A non-2xx answer of the API server: its status and body (a Status, usually). */
export class KubeStatusError extends Error {
  override readonly name = "KubeStatusError";
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${statusCode}`);
  }
}

/**
 * Requests for objects by apiVersion, kind, namespace and name, with discovery (one GET per
 * group version, cached; a kind it does not list is looked up again), raw JSON bodies and paths
 * that keep the case of names such as RBAC's "system:Foo".
 */
export class KubeApi {
  timeoutMs = 30_000;
  private readonly discovered = new Map<string, DiscoveredResource[]>();

  constructor(readonly transport: KubeTransport) {}

  /** Sends one request for `spec`; "create" and "list" go to the collection, the rest to the object. */
  async send(spec: KubeObject, action: RawAction, options: SendOptions = {}): Promise<unknown> {
    const collection = action === "list" || action === "create";
    return this.call({ method: METHODS[action], path: await this.pathOf(spec, collection), ...options, timeoutMs: this.timeoutMs });
  }

  /** Sends one request; the parsed body of a 2xx answer, a {@link KubeStatusError} otherwise. */
  async call(req: KubeRequest): Promise<unknown> {
    const res = await this.transport.request(req);
    if (res.status >= 200 && res.status <= 299) return res.body;
    throw new KubeStatusError(res.status, res.body);
  }

  private async pathOf(spec: KubeObject, collection: boolean): Promise<string> {
    const resource = await this.resource(spec.apiVersion, spec.kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${spec.apiVersion} ${spec.kind}`);
    const parts = [apiVersionPath(spec.apiVersion)];
    const namespace = spec.metadata.namespace || (collection ? "" : "default");
    if (resource.namespaced && namespace) parts.push("namespaces", encodeURIComponent(namespace));
    parts.push(resource.name);
    if (!collection) parts.push(encodeURIComponent(spec.metadata.name));
    return parts.join("/");
  }

  /** The collection path of a kind, e.g. "/apis/apps/v1/namespaces/web/deployments". */
  async collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    return this.pathOf({ apiVersion, kind, metadata: { name: "", ...(namespace ? { namespace } : {}) } }, true);
  }

  /** Whether a kind is namespaced; undefined when its group version or the kind is not served. */
  async scope(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      return (await this.resource(apiVersion, kind))?.namespaced;
    } catch (error) {
      if (error instanceof KubeStatusError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  /** Forgets a group version's resources: a deleted or changed CRD needs a fresh list. */
  forget(apiVersion: string): void {
    this.discovered.delete(apiVersion);
  }

  private async resource(apiVersion: string, kind: string): Promise<DiscoveredResource | undefined> {
    const cached = this.discovered.get(apiVersion)?.find((r) => r.kind === kind);
    if (cached) return cached;
    const body = asRecord(await this.call({ method: "GET", path: apiVersionPath(apiVersion), timeoutMs: this.timeoutMs }));
    // Only what a path needs is kept of each resource (subresources such as "pods/log" included, as listed).
    const resources = (Array.isArray(body?.["resources"]) ? (body["resources"] as unknown[]) : []).flatMap((r) => {
      const entry = asRecord(r);
      return typeof entry?.["name"] === "string" && typeof entry["kind"] === "string"
        ? [{ name: entry["name"], kind: entry["kind"], namespaced: entry["namespaced"] === true }]
        : [];
    });
    this.discovered.set(apiVersion, resources);
    return resources.find((r) => r.kind === kind);
  }
}

/** Creates a {@link KubeClient} for a loaded configuration; use one client for the agent's lifetime. */
export function createKubeClient(options: KubeClientOptions): KubeClient {
  const transport = kubeTransport(options.kubeConfig);
  const api = new KubeApi(transport);
  api.timeoutMs = options.requestTimeoutMs ?? 30_000;
  // The server ends each watch after watchSeconds; silence longer than this means a dead connection.
  const watchSeconds = 300;

  const call = async <T>(what: string, apiVersion: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const mapped = toKubeApiError(error, what);
      if (mapped.statusCode === 404) api.forget(apiVersion);
      throw mapped;
    }
  };

  return {
    async apply(object, applyOptions = {}) {
      const what = formatRef(refOf(object));
      return call(what, object.apiVersion, async () => {
        const live = await api.send(object, "patch", {
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: FIELD_MANAGER, force: "true", dryRun: applyOptions.dryRun ? "All" : undefined },
          body: JSON.stringify(object),
        });
        return live as KubeObject;
      });
    },
    async get(ref) {
      try {
        return (await call(formatRef(ref), apiVersionOf(ref), () => api.send(headerOf(ref), "read"))) as KubeObject;
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
        throw error;
      }
    },
    async delete(ref) {
      try {
        await call(formatRef(ref), apiVersionOf(ref), () => api.send(headerOf(ref), "delete", { query: { propagationPolicy: "Background" } }));
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return false;
        throw error;
      }
    },
    async list(query) {
      return (await listOf(query)).items;
    },
    async listWithVersion(query) {
      return listOf(query);
    },
    async watch(query, onEvent, signal) {
      const what = `${query.kind} watch`;
      const path = await call(what, query.apiVersion, () => api.collectionPath(query.apiVersion, query.kind, query.namespace));
      await watchCollection({ transport, path, what, resourceVersion: query.resourceVersion, timeoutSeconds: watchSeconds, onEvent, signal });
    },
    async create(object) {
      return call(formatRef(refOf(object)), object.apiVersion, async () =>
        (await api.send(object, "create", { query: { fieldManager: FIELD_MANAGER }, body: JSON.stringify(object) })) as KubeObject,
      );
    },
    async replaceManagedFields(ref, managedFields, resourceVersion) {
      return call(formatRef(ref), apiVersionOf(ref), async () =>
        (await api.send(headerOf(ref), "patch", {
          contentType: "application/merge-patch+json",
          query: { fieldManager: FIELD_MANAGER },
          body: JSON.stringify({ metadata: { managedFields, resourceVersion } }),
        })) as KubeObject,
      );
    },
    async isNamespaced(apiVersion, kind) {
      return call(`discovery of ${kind} in ${apiVersion}`, apiVersion, () => api.scope(apiVersion, kind));
    },
    async serverVersion() {
      try {
        const body = asRecord(await api.call({ method: "GET", path: "/version", timeoutMs: api.timeoutMs }));
        return typeof body?.["gitVersion"] === "string" ? body["gitVersion"] : "";
      } catch (error) {
        throw toKubeApiError(error, "server version");
      }
    },
  };

  async function listOf(query: ListQuery): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const spec: KubeObject = {
      apiVersion: query.apiVersion,
      kind: query.kind,
      metadata: { name: "", ...(query.namespace ? { namespace: query.namespace } : {}) },
    };
    const body = asRecord(
      await call(`${query.kind} list`, query.apiVersion, () => api.send(spec, "list", { query: { labelSelector: query.labelSelector || undefined } })),
    );
    const resourceVersion = asRecord(body?.["metadata"])?.["resourceVersion"];
    return { items: typedItems(body?.["items"], query), resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "" };
  }
}

/**
 * Loads the agent's KubeConfig: the given kubeconfig file, or the in-cluster service account
 * when none is given. Throws an {@link AgentError} with one clear line when neither works.
 */
export function loadKubeConfig(kubeconfigPath?: string): LeanKubeConfig {
  const kc = new LeanKubeConfig();
  if (kubeconfigPath) {
    try {
      kc.loadFromFile(kubeconfigPath);
    } catch (error) {
      throw new AgentError("invalid-config", `cannot load kubeconfig ${kubeconfigPath}: ${messageOf(error)}`, { cause: error });
    }
    if (!kc.getCurrentCluster()) {
      throw new AgentError("invalid-config", `kubeconfig ${kubeconfigPath} has no current context with a cluster`);
    }
    return kc;
  }
  if (!process.env["KUBERNETES_SERVICE_HOST"]) {
    throw new AgentError(
      "invalid-config",
      "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set) and no --kubeconfig given",
    );
  }
  try {
    kc.loadFromCluster();
  } catch (error) {
    throw new AgentError("invalid-config", `cannot load the in-cluster configuration: ${messageOf(error)}`, { cause: error });
  }
  return kc;
}

/** Maps anything the client threw to a {@link KubeApiError} whose message starts with `what`. */
export function toKubeApiError(error: unknown, what: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof KubeStatusError) {
    const code = error.statusCode;
    const status = asRecord(error.body);
    const reason = typeof status?.["reason"] === "string" ? status["reason"] : `HTTP${code}`;
    const detail = typeof status?.["message"] === "string" ? status["message"] : `HTTP ${code}`;
    return new KubeApiError(code, reason, what, detail, { cause: error });
  }
  const message = messageOf(error);
  // pathOf throws a plain Error when discovery does not know the kind.
  if (/Unrecognized API version and kind/.test(message)) {
    return new KubeApiError(404, "NoKindMatch", what, "the API server does not serve this kind", { cause: error });
  }
  return new KubeApiError(0, "Unreachable", what, withCauses(error), { cause: error });
}

/**
 * An error's message followed by those of its causes: a transport error keeps the reason (connect
 * ECONNREFUSED, a TLS failure) in `cause`.
 */
function withCauses(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const own =
      current instanceof AggregateError && !current.message
        ? current.errors.map((e: unknown) => messageOf(e)).join("; ")
        : messageOf(current);
    if (own && !parts.some((part) => part.includes(own))) parts.push(own);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

function headerOf(ref: ObjectRef): KubeObject {
  return {
    apiVersion: apiVersionOf(ref),
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
  };
}

function apiVersionPath(apiVersion: string): string {
  return `/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}`;
}

// The API server leaves apiVersion and kind out of a list's items (of built-in kinds); a
// KubeObject has them.
function typedItems(items: unknown, query: ListQuery): KubeObject[] {
  return Array.isArray(items) ? items.map((item: KubeObject) => ({ ...item, apiVersion: query.apiVersion, kind: query.kind })) : [];
}
