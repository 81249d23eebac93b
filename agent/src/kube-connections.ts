// One pool of connections to the API server for all of the agent's requests. The client library
// (@kubernetes/client-node 2.0) builds a new undici Agent for every request it sends
// (KubeConfig.applySecurityAuthentication calls createDispatcher each time), so every request
// opened its own TLS connection: a handshake and a parse of the CA per request. Applying 1,000
// ConfigMaps took 2.4 times as long and 2.8 times the CPU, and left the agent 200 MiB larger,
// than on one shared dispatcher (docs/benchmarks.md, the agent at rest). This keeps one
// dispatcher per distinct TLS setting (a rotated client certificate gets a new one) and closes
// the one it replaces.
import type { KubeConfig } from "@kubernetes/client-node";

/** The part of KubeConfig replaced here; private in the library's types. */
interface DispatcherFactory {
  createDispatcher?: (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher | undefined;
}

interface Dispatcher {
  close(): Promise<void>;
}

const shared = Symbol.for("gitfleet.sharedDispatcher");

/**
 * Makes every request made through `kubeConfig` share one connection pool (see above); returns
 * the same KubeConfig. Safe to call more than once. Without the library's createDispatcher (a
 * later release), the KubeConfig is left as it is.
 */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  const target = kubeConfig as unknown as DispatcherFactory & { [shared]?: true };
  const create = target.createDispatcher;
  if (target[shared] || typeof create !== "function") return kubeConfig;
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const key = dispatcherKey(cluster, agentOptions);
    if (current?.key === key) return current.dispatcher;
    const replaced = current?.dispatcher;
    current = { key, dispatcher: create.call(kubeConfig, cluster, agentOptions) };
    // Requests under way on the old one finish first.
    void replaced?.close().catch(() => undefined);
    return current.dispatcher;
  };
  target[shared] = true;
  return kubeConfig;
}

// Everything the library builds a dispatcher from: the cluster's address and proxy, and the TLS
// material as read for this request.
function dispatcherKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const c = (cluster ?? {}) as { server?: unknown; proxyUrl?: unknown; skipTLSVerify?: unknown };
  const text = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString("base64") : value === undefined ? "" : JSON.stringify(value));
  return JSON.stringify([
    text(c.server),
    text(c.proxyUrl),
    text(c.skipTLSVerify),
    ...["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"].map((k) => text(agentOptions[k])),
  ]);
}
