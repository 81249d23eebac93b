// Fault injection for the lab: a real toxiproxy (github.com/Shopify/toxiproxy/v2, built from
// e2e/servers/toxiproxy) driven through its HTTP API. A proxy sits between a client (an agent, a
// hub) and an endpoint (a hub's gRPC port, a NATS server); toxics on it add latency or drop
// connections, and disabling it partitions the link.
import { join } from "node:path";
import { freePort } from "./ports.js";
import { startProcess, waitFor, type LabProcess } from "./process.js";

/** Options for {@link startFaults}. */
export interface FaultsOptions {
  /** Path of the toxiproxy server binary. */
  binary: string;
  /** An existing folder owned by the lab: the log goes here. */
  dir: string;
  /** Passed through to {@link startProcess}: let the server outlive this process. */
  detached?: boolean;
  /** How long to wait for the API to answer; default 30 s. */
  readyTimeoutMs?: number;
}

/** Options of {@link FaultProxy.drops}. */
export interface DropOptions {
  /**
   * How long a doomed connection lives after it first carries data, in ms. Default 0: it is reset
   * as soon as the client sends anything.
   */
  afterMs?: number;
}

/** Options of {@link FaultProxy.partition}. */
export interface PartitionOptions {
  /**
   * Drop every byte both ways instead of closing connections: open connections stay open but go
   * silent and new ones are accepted into the same silence, as when a network path is lost
   * without any peer noticing. Clients find out only through their own timeouts and heartbeats.
   * Default false: connections are closed and refused.
   */
  blackhole?: boolean;
}

/** One TCP proxy: clients connect to {@link FaultProxy.listen} instead of the upstream. */
export interface FaultProxy {
  readonly name: string;
  /** Where clients connect: `127.0.0.1:PORT`; the same for the proxy's whole life. */
  readonly listen: string;
  /** Where the proxy forwards to: `127.0.0.1:PORT`. */
  readonly upstream: string;
  /**
   * Delays every chunk from the upstream to the client by `ms` (± `jitterMs`), so each round trip
   * over the link takes that much longer. 0 removes the delay. Applies to open connections too.
   */
  latency(ms: number, jitterMs?: number): Promise<void>;
  /**
   * Resets (TCP RST) a `share` (0..1) of the connections: each connection, open or new, is picked
   * with that probability and reset once the client sends data (see {@link DropOptions.afterMs}).
   * 0 stops dropping.
   */
  drops(share: number, options?: DropOptions): Promise<void>;
  /**
   * Cuts the link: open connections are closed and new ones refused until {@link restore}, or for
   * `ms` when given (the call returns once the link is cut; it heals by itself afterwards). With
   * `blackhole`, connections are not closed but every byte is dropped.
   */
  partition(ms?: number, options?: PartitionOptions): Promise<void>;
  /** Ends a partition: the proxy accepts connections again on the same port. */
  restore(): Promise<void>;
  /** Removes every toxic (latency, drops) and ends a partition: a clean link again. */
  reset(): Promise<void>;
  /** True while the link is cut. */
  partitioned(): boolean;
}

/** The lab's fault injection. */
export interface Faults {
  /**
   * Creates a proxy named `name` (unique) in front of `upstream` (`127.0.0.1:PORT`) on a free
   * loopback port.
   */
  proxy(name: string, upstream: string): Promise<FaultProxy>;
  /** The proxies created so far. */
  proxies(): readonly FaultProxy[];
  /** Resets every proxy to a clean link. */
  reset(): Promise<void>;
  /** Stops toxiproxy; every proxied connection closes. Safe to call twice. */
  stop(): Promise<void>;
}

/** A running toxiproxy. */
export interface RunningFaults extends Faults {
  /** toxiproxy's HTTP API, `http://127.0.0.1:PORT`. */
  readonly apiUrl: string;
  readonly process: LabProcess;
}

/** Starts toxiproxy on loopback and resolves once its API answers. */
export async function startFaults(options: FaultsOptions): Promise<RunningFaults> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const logFile = join(options.dir, "toxiproxy.log");
  // The API port is picked free and bound a moment later: if another process took it meanwhile,
  // toxiproxy exits and is started again on another port.
  let proc: LabProcess | undefined;
  let apiUrl = "";
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    proc = await startProcess({
      name: "toxiproxy",
      command: options.binary,
      args: ["-host", "127.0.0.1", "-port", String(port)],
      logFile,
      env: { ...process.env, LOG_LEVEL: process.env["GITFLEET_TOXIPROXY_LOG_LEVEL"] ?? "info" },
      ...(options.detached !== undefined ? { detached: options.detached } : {}),
    });
    try {
      const url = apiUrl;
      await waitFor(
        async () => {
          const res = await fetch(`${url}/version`);
          return res.ok;
        },
        { what: `toxiproxy's API at ${apiUrl}`, timeoutMs: readyTimeoutMs, process: proc },
      );
      break;
    } catch (err) {
      await proc.stop();
      if (attempt >= 3) throw err;
    }
  }
  const running = proc;
  const api = createApi(apiUrl);
  const proxies = new Map<string, ProxyHandle>();
  let stopping: Promise<void> | undefined;

  return {
    apiUrl,
    process: running,
    async proxy(name, upstream) {
      if (stopping) throw new Error("fault injection is stopped");
      if (!/^[\w.-]+$/.test(name)) throw new Error(`proxy name "${name}" may only hold letters, digits, "_", "." and "-"`);
      if (proxies.has(name)) throw new Error(`a fault proxy named "${name}" already exists`);
      const created = await api<{ listen: string; upstream: string }>("POST", "/proxies", {
        name,
        listen: "127.0.0.1:0",
        upstream,
        enabled: true,
      });
      const handle = createProxy(api, name, created.listen, created.upstream);
      proxies.set(name, handle);
      return handle;
    },
    proxies: () => [...proxies.values()],
    async reset() {
      await Promise.all([...proxies.values()].map((p) => p.reset()));
    },
    stop() {
      stopping ??= (async () => {
        for (const p of proxies.values()) p.dispose();
        await running.stop();
      })();
      return stopping;
    },
  };
}

/** A {@link Faults} whose toxiproxy starts on first use; `started()` starts it now. */
export interface LazyFaults extends Faults {
  /** Starts toxiproxy if it is not running yet and returns it. */
  started(): Promise<RunningFaults>;
}

/** Wraps a start function so toxiproxy starts only when a proxy is first asked for. */
export function lazyFaults(start: () => Promise<RunningFaults>): LazyFaults {
  let running: Promise<RunningFaults> | undefined;
  let ready: RunningFaults | undefined;
  let stopped = false;
  const started = (): Promise<RunningFaults> => {
    if (stopped) return Promise.reject(new Error("fault injection is stopped"));
    if (!running) {
      const launch = start();
      running = launch;
      // A failed start may be tried again.
      launch.then(
        (f) => (ready = f),
        () => (running = undefined),
      );
    }
    return running;
  };
  return {
    started,
    proxy: async (name, upstream) => (await started()).proxy(name, upstream),
    proxies: () => ready?.proxies() ?? [],
    async reset() {
      if (running) await (await running).reset();
    },
    async stop() {
      stopped = true;
      const r = await running?.catch(() => undefined);
      await r?.stop();
    },
  };
}

type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

function createApi(apiUrl: string): Api {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new ToxiproxyError(res.status, `toxiproxy ${method} ${path} answered ${res.status}: ${text.trim()}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

class ToxiproxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface ProxyHandle extends FaultProxy {
  /** Forgets pending timers (toxiproxy is stopping). */
  dispose(): void;
}

// Toxic names this module manages on each proxy.
const latencyToxic = "gitfleet-latency";
const dropsToxic = "gitfleet-drops";
const blackholeToxics = { upstream: "gitfleet-blackhole-up", downstream: "gitfleet-blackhole-down" } as const;

function createProxy(api: Api, name: string, listen: string, upstream: string): ProxyHandle {
  const path = `/proxies/${encodeURIComponent(name)}`;
  let healTimer: NodeJS.Timeout | undefined;
  let cut = false;
  const clearHeal = (): void => {
    if (healTimer) clearTimeout(healTimer);
    healTimer = undefined;
  };

  // Creates the toxic, or updates it when it exists already (409).
  const setToxic = async (toxic: string, type: string, stream: "upstream" | "downstream", toxicity: number, attributes: Record<string, number>): Promise<void> => {
    try {
      await api("POST", `${path}/toxics`, { name: toxic, type, stream, toxicity, attributes });
    } catch (err) {
      if (!(err instanceof ToxiproxyError && err.status === 409)) throw err;
      await api("POST", `${path}/toxics/${toxic}`, { toxicity, attributes });
    }
  };
  const removeToxic = async (toxic: string): Promise<void> => {
    try {
      await api("DELETE", `${path}/toxics/${toxic}`);
    } catch (err) {
      if (!(err instanceof ToxiproxyError && err.status === 404)) throw err;
    }
  };
  const restore = async (): Promise<void> => {
    clearHeal();
    await api("POST", path, { enabled: true });
    await Promise.all([removeToxic(blackholeToxics.upstream), removeToxic(blackholeToxics.downstream)]);
    cut = false;
  };

  return {
    name,
    listen,
    upstream,
    partitioned: () => cut,
    async latency(ms, jitterMs = 0) {
      if (!(ms >= 0) || !(jitterMs >= 0)) throw new Error(`latency and jitter must be at least 0 ms, got ${ms} and ${jitterMs}`);
      if (ms === 0 && jitterMs === 0) return removeToxic(latencyToxic);
      await setToxic(latencyToxic, "latency", "downstream", 1, { latency: Math.round(ms), jitter: Math.round(jitterMs) });
    },
    async drops(share, options = {}) {
      if (!(share >= 0 && share <= 1)) throw new Error(`the share of dropped connections must be from 0 to 1, got ${share}`);
      if (share === 0) return removeToxic(dropsToxic);
      await setToxic(dropsToxic, "reset_peer", "upstream", share, { timeout: Math.round(options.afterMs ?? 0) });
    },
    async partition(ms, options = {}) {
      if (ms !== undefined && !(ms > 0)) throw new Error(`a partition lasts more than 0 ms, got ${ms}`);
      clearHeal();
      if (options.blackhole) {
        // A timeout toxic with timeout 0 swallows everything and never closes the connection.
        await Promise.all(
          (["upstream", "downstream"] as const).map((stream) => setToxic(blackholeToxics[stream], "timeout", stream, 1, { timeout: 0 })),
        );
      } else {
        // Disabling the proxy closes its listener and every connection through it.
        await api("POST", path, { enabled: false });
      }
      cut = true;
      if (ms !== undefined) {
        healTimer = setTimeout(() => {
          healTimer = undefined;
          restore().catch(() => undefined);
        }, ms);
      }
    },
    restore,
    async reset() {
      const toxics = await api<{ name: string }[]>("GET", `${path}/toxics`);
      await Promise.all(toxics.map((t) => removeToxic(t.name)));
      await restore();
    },
    dispose: clearHeal,
  };
}
