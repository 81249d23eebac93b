// The agent's Kubernetes client: server-side apply, get, list and delete of plain JSON objects,
// built on @kubernetes/client-node's KubernetesObjectApi for discovery, auth and transport (undici).
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  Watch,
} from "@kubernetes/client-node";
import type { KubernetesObject, RequestContext, ResponseContext } from "@kubernetes/client-node";
import { messageOf } from "@gitfleet/proto/rules";
import { AgentError, KubeApiError } from "./errors.js";
import { apiVersionOf, asRecord, formatRef, refOf } from "./kube-objects.js";
import { watchCollection } from "./kube-watch.js";
import type { KubeObject, ObjectRef } from "./kube-objects.js";
import { shareConnections } from "./kube-connections.js";

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
  kubeConfig: KubeConfig;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

// Responses of requests made with this type are returned as parsed JSON, untouched.
const RAW = "gitfleet/raw-json";

/** The requests {@link RawObjectApi.send} makes. */
export type RawAction = "patch" | "read" | "delete" | "list" | "create" | "replace";

/**
 * KubernetesObjectApi with raw JSON bodies. The stock `patch` re-serializes an object through
 * the client's typed models, which silently drops fields it does not model (unknown fields, and
 * `x-kubernetes-*` keys in CRD schemas); an apply must send exactly what the bundle holds. The
 * discovery cache of the base class (`resource()`, per apiVersion) is kept, so one instance
 * does one discovery GET per group version, not one per call.
 */
export class RawObjectApi extends KubernetesObjectApi {
  timeoutMs = 30_000;

  /** Sends one request for `spec`; "create" and "list" go to the collection, the rest to the object. */
  async send(spec: KubeObject, action: RawAction, init: (ctx: RequestContext) => void): Promise<unknown> {
    const method = {
      patch: HttpMethod.PATCH,
      read: HttpMethod.GET,
      delete: HttpMethod.DELETE,
      list: HttpMethod.GET,
      create: HttpMethod.POST,
      replace: HttpMethod.PUT,
    }[action];
    const collection = action === "list" || action === "create";
    const ctx = this.configuration.baseServer.makeRequestContext(await this.pathOf(spec, collection), method);
    ctx.setHeaderParam("Accept", "application/json");
    ctx.setSignal(AbortSignal.timeout(this.timeoutMs));
    init(ctx);
    return this.requestPromise(ctx, RAW);
  }

  // The base class's specUriPath lower-cases the whole path, which breaks names such as RBAC's
  // "system:Foo"; this builds the same path from the same cached discovery, keeping case.
  private async pathOf(spec: KubeObject, collection: boolean): Promise<string> {
    const resource = await this.resource(spec.apiVersion, spec.kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${spec.apiVersion} ${spec.kind}`);
    const parts = [this.apiVersionPath(spec.apiVersion)];
    const namespace = spec.metadata.namespace || (collection ? "" : this.defaultNamespace);
    if (resource.namespaced && namespace) parts.push("namespaces", encodeURIComponent(namespace));
    parts.push(resource.name);
    if (!collection) parts.push(encodeURIComponent(spec.metadata.name));
    return parts.join("/");
  }

  /** The collection path of a kind, e.g. "/apis/apps/v1/namespaces/web/deployments". */
  async collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    return this.pathOf({ apiVersion, kind, metadata: { name: "", ...(namespace ? { namespace } : {}) } }, true);
  }

  async scope(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      return (await this.resource(apiVersion, kind))?.namespaced;
    } catch (error) {
      // resource() wraps a 404 of the group version's discovery document.
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  forget(apiVersion: string): void {
    // The base class caches a group version's resource list; a deleted or changed CRD needs a fresh one.
    delete this.apiVersionResourceCache[apiVersion];
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, type?: string): Promise<T> {
    if (type !== RAW) return super.processResponse<T>(response, type);
    const text = await response.body.text();
    const body: unknown = text === "" ? undefined : safeParse(text);
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return body as T;
    throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP Request", body, response.headers);
  }
}

/** Creates a {@link KubeClient} for a loaded KubeConfig; use one client for the agent's lifetime. */
export function createKubeClient(options: KubeClientOptions): KubeClient {
  shareConnections(options.kubeConfig);
  const api = options.kubeConfig.makeApiClient(RawObjectApi);
  api.timeoutMs = options.requestTimeoutMs ?? 30_000;
  const version = options.kubeConfig.makeApiClient(VersionApi);
  const watcher = new Watch(options.kubeConfig);
  // The server ends each watch after watchSeconds; silence longer than this means a dead connection.
  const watchSeconds = 300;
  // The client keeps this setting private; it is the watch's inactivity timeout.
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (watchSeconds + 60) * 1000;

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
        const live = await api.send(object, "patch", (ctx) => {
          ctx.setHeaderParam("Content-Type", PatchStrategy.ServerSideApply);
          ctx.setQueryParam("fieldManager", FIELD_MANAGER);
          ctx.setQueryParam("force", "true");
          if (applyOptions.dryRun) ctx.setQueryParam("dryRun", "All");
          ctx.setBody(JSON.stringify(object));
        });
        return live as KubeObject;
      });
    },
    async get(ref) {
      try {
        return (await call(formatRef(ref), apiVersionOf(ref), () => api.send(headerOf(ref), "read", () => {}))) as KubeObject;
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
        throw error;
      }
    },
    async delete(ref) {
      try {
        await call(formatRef(ref), apiVersionOf(ref), () =>
          api.send(headerOf(ref), "delete", (ctx) => ctx.setQueryParam("propagationPolicy", "Background")),
        );
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return false;
        throw error;
      }
    },
    async list(query) {
      const spec: KubeObject = {
        apiVersion: query.apiVersion,
        kind: query.kind,
        metadata: { name: "", ...(query.namespace ? { namespace: query.namespace } : {}) },
      };
      const body = await call(`${query.kind} list`, query.apiVersion, () =>
        api.send(spec, "list", (ctx) => {
          if (query.labelSelector) ctx.setQueryParam("labelSelector", query.labelSelector);
        }),
      );
      return typedItems(asRecord(body)?.["items"], query);
    },
    async listWithVersion(query) {
      const spec: KubeObject = {
        apiVersion: query.apiVersion,
        kind: query.kind,
        metadata: { name: "", ...(query.namespace ? { namespace: query.namespace } : {}) },
      };
      const body = asRecord(
        await call(`${query.kind} list`, query.apiVersion, () =>
          api.send(spec, "list", (ctx) => {
            if (query.labelSelector) ctx.setQueryParam("labelSelector", query.labelSelector);
          }),
        ),
      );
      const items = body?.["items"];
      const resourceVersion = asRecord(body?.["metadata"])?.["resourceVersion"];
      return { items: typedItems(items, query), resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "" };
    },
    async watch(query, onEvent, signal) {
      const what = `${query.kind} watch`;
      const path = await call(what, query.apiVersion, () => api.collectionPath(query.apiVersion, query.kind, query.namespace));
      await watchCollection({ watcher, path, what, resourceVersion: query.resourceVersion, timeoutSeconds: watchSeconds, onEvent, signal });
    },
    async create(object) {
      return call(formatRef(refOf(object)), object.apiVersion, async () =>
        (await api.send(object, "create", (ctx) => {
          ctx.setHeaderParam("Content-Type", "application/json");
          ctx.setQueryParam("fieldManager", FIELD_MANAGER);
          ctx.setBody(JSON.stringify(object));
        })) as KubeObject,
      );
    },
    async replaceManagedFields(ref, managedFields, resourceVersion) {
      return call(formatRef(ref), apiVersionOf(ref), async () =>
        (await api.send(headerOf(ref), "patch", (ctx) => {
          ctx.setHeaderParam("Content-Type", PatchStrategy.MergePatch);
          ctx.setQueryParam("fieldManager", FIELD_MANAGER);
          ctx.setBody(JSON.stringify({ metadata: { managedFields, resourceVersion } }));
        })) as KubeObject,
      );
    },
    async isNamespaced(apiVersion, kind) {
      return call(`discovery of ${kind} in ${apiVersion}`, apiVersion, () => api.scope(apiVersion, kind));
    },
    async serverVersion() {
      try {
        return (await version.getCode()).gitVersion;
      } catch (error) {
        throw toKubeApiError(error, "server version");
      }
    },
  };
}

/**
 * Loads the agent's KubeConfig: the given kubeconfig file, or the in-cluster service account
 * when none is given. Throws an {@link AgentError} with one clear line when neither works.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
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
  if (error instanceof ApiException) {
    const code = Number(error.code);
    const status = asRecord(typeof error.body === "string" ? safeParse(error.body) : error.body);
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
 * An error's message followed by those of its causes. The client's fetch (undici) rejects with
 * a bare "fetch failed" and keeps the reason (connect ECONNREFUSED, a TLS failure) in `cause`.
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

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// The API server leaves apiVersion and kind out of a list's items (of built-in kinds); a
// KubeObject has them.
function typedItems(items: unknown, query: ListQuery): KubeObject[] {
  return Array.isArray(items) ? items.map((item: KubeObject) => ({ ...item, apiVersion: query.apiVersion, kind: query.kind })) : [];
}
