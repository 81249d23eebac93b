// One watch of a collection as a promise: it resolves when the server ends the watch and rejects
// with a KubeApiError when it fails (410 when the version it started from is too old).
import { KubeApiError } from "./errors.js";
import type { WatchEvent } from "./kube-client.js";
import { KubeStatusError, toKubeApiError } from "./kube-client.js";
import type { KubeTransport } from "./kube-http.js";
import { asRecord, asString } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

/** What {@link watchCollection} watches, and whom it tells. */
export interface WatchCollectionOptions {
  transport: KubeTransport;
  /** The collection's path, e.g. "/api/v1/namespaces/web/configmaps". */
  path: string;
  /** How errors name the watch, e.g. "ConfigMap watch". */
  what: string;
  resourceVersion: string;
  /** The server ends the watch after this long. */
  timeoutSeconds: number;
  onEvent: (event: WatchEvent) => void;
  signal: AbortSignal;
}

/** Watches until the server ends the watch, it fails, or `signal` aborts (resolves). */
export async function watchCollection(options: WatchCollectionOptions): Promise<void> {
  const { transport, path, what, signal, onEvent } = options;
  // Stopped before it started (e.g. while the list before it ran): nothing to watch.
  if (signal.aborted) return;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let failure: KubeApiError | undefined;
  try {
    const res = await transport.watch({
      path,
      query: { resourceVersion: options.resourceVersion, allowWatchBookmarks: "true", timeoutSeconds: String(options.timeoutSeconds) },
      // Silence longer than the server's own end of the watch (and a minute) means a dead connection.
      inactivityMs: (options.timeoutSeconds + 60) * 1000,
      signal: controller.signal,
      onLine: (line) => {
        const data = asRecord(line);
        const type = data?.["type"];
        const object = data?.["object"];
        if (type === "ERROR") {
          const status = asRecord(object);
          const code = typeof status?.["code"] === "number" ? status["code"] : 500;
          failure ??= new KubeApiError(code, asString(status?.["reason"], "WatchError"), what, asString(status?.["message"], "watch failed"));
          controller.abort();
          return;
        }
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED" || type === "BOOKMARK") {
          onEvent({ type, object: object as KubeObject });
        }
      },
    });
    if (failure) throw failure;
    if (res.status !== 200 && !signal.aborted) throw toKubeApiError(new KubeStatusError(res.status, res.body), what);
  } catch (error) {
    if (failure) throw failure;
    if (signal.aborted) return;
    throw toKubeApiError(error, what);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
