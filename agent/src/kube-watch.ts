// One watch of a collection through the client's Watch, as a promise: it resolves when the
// server ends the watch and rejects with a KubeApiError when it fails (410 when the version it
// started from is too old).
import { ApiException } from "@kubernetes/client-node";
import type { Watch } from "@kubernetes/client-node";
import { messageOf } from "@gitfleet/proto/rules";
import { KubeApiError } from "./errors.js";
import type { WatchEvent } from "./kube-client.js";
import { toKubeApiError } from "./kube-client.js";
import { asRecord, asString } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

/** What {@link watchCollection} watches, and whom it tells. */
export interface WatchCollectionOptions {
  watcher: Watch;
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
  const { watcher, path, what, signal, onEvent } = options;
  await new Promise<void>((resolve, reject) => {
    let failure: KubeApiError | undefined;
    let controller: AbortController | undefined;
    const onAbort = (): void => controller?.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const done = (err: unknown): void => {
      signal.removeEventListener("abort", onAbort);
      if (failure) reject(failure);
      else if (err && !signal.aborted) reject(toKubeApiError(watchError(err), what));
      else resolve();
    };
    const params = { resourceVersion: options.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: options.timeoutSeconds };
    watcher
      .watch(
        path,
        params,
        (type: string, object: unknown) => {
          if (type === "ERROR") {
            const status = asRecord(object);
            const code = typeof status?.["code"] === "number" ? status["code"] : 500;
            failure ??= new KubeApiError(code, asString(status?.["reason"], "WatchError"), what, asString(status?.["message"], "watch failed"));
            controller?.abort();
            return;
          }
          if (type === "ADDED" || type === "MODIFIED" || type === "DELETED" || type === "BOOKMARK") {
            onEvent({ type, object: object as KubeObject });
          }
        },
        done,
      )
      .then((c) => {
        controller = c;
        if (signal.aborted) c.abort();
      })
      .catch(done);
  });
}

// The watch's fetch fails with plain errors; a non-200 answer carries its status code.
function watchError(err: unknown): unknown {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === "number" ? new ApiException(code, messageOf(err), undefined, {}) : err;
}
