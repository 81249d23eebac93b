// Command line and environment of gitfleet-agent, validated at the edge: everything after
// parseCommand() can trust its types.
import { DurationError, dnsLabelProblem, parseDuration, parseLabels } from "@gitfleet/proto/rules";
import { ConfigError } from "./errors.js";

/** How the channel to the hub is secured, before any file is read. */
export type HubTlsConfig =
  | { mode: "system" }
  | { mode: "ca"; caFile: string }
  | { mode: "insecure-skip-verify" }
  | { mode: "plaintext" };

/** The agent's validated configuration. */
export interface AgentConfig {
  /** Hub gRPC address "host:port"; needed to register, optional once registered. */
  hub?: string;
  /** Registration token ("gf_reg_..."); needed only to register. */
  token?: string;
  /** Cluster name (DNS label); needed only to register. */
  clusterName?: string;
  labels: Record<string, string>;
  /** Kubeconfig path; the in-cluster service account when absent. */
  kubeconfig?: string;
  namespace: string;
  tls: HubTlsConfig;
  logLevel: string;
  reconcileIntervalMs: number;
  /** "[host]:port" of the /healthz and /readyz server; undefined when turned off. */
  healthAddress: string | undefined;
  /** Elect a leader among replicas on the Lease gitfleet-agent before doing anything. */
  leaderElect: boolean;
}

/** What the command line asks for. */
export type AgentCommand = { kind: "run"; config: AgentConfig } | { kind: "help" } | { kind: "version" };

interface FlagSpec {
  env: string;
  boolean?: boolean;
}

const flags: Record<string, FlagSpec> = {
  hub: { env: "GITFLEET_HUB" },
  token: { env: "GITFLEET_TOKEN" },
  "cluster-name": { env: "GITFLEET_CLUSTER_NAME" },
  labels: { env: "GITFLEET_LABELS" },
  kubeconfig: { env: "GITFLEET_KUBECONFIG" },
  namespace: { env: "GITFLEET_NAMESPACE" },
  "hub-ca": { env: "GITFLEET_HUB_CA" },
  "insecure-skip-tls-verify": { env: "GITFLEET_INSECURE_SKIP_TLS_VERIFY", boolean: true },
  plaintext: { env: "GITFLEET_PLAINTEXT", boolean: true },
  "log-level": { env: "GITFLEET_LOG_LEVEL" },
  "reconcile-interval": { env: "GITFLEET_RECONCILE_INTERVAL" },
  "health-addr": { env: "GITFLEET_HEALTH_ADDR" },
  "leader-elect": { env: "GITFLEET_LEADER_ELECT", boolean: true },
};

/** The --help text. */
export const USAGE = `Usage: gitfleet-agent --hub HOST:PORT --token TOKEN --cluster-name NAME [options]

Pulls this cluster's desired state from the gitfleet hub and reconciles it.
--hub, --token and --cluster-name are needed on the first start only; later starts
reuse the identity stored in the Secret gitfleet-agent-identity.

Options (environment variable in brackets):
  --hub HOST:PORT               hub gRPC address [GITFLEET_HUB]
  --token TOKEN                 registration token, gf_reg_... [GITFLEET_TOKEN]
  --cluster-name NAME           cluster name, a DNS label [GITFLEET_CLUSTER_NAME]
  --labels k=v,...              labels asked for at registration [GITFLEET_LABELS]
  --kubeconfig PATH             kubeconfig; in-cluster config when omitted [GITFLEET_KUBECONFIG]
  --namespace NS                the agent's namespace, default gitfleet-system [GITFLEET_NAMESPACE]
  --hub-ca FILE                 CA certificates (PEM) that sign the hub's certificate [GITFLEET_HUB_CA]
  --insecure-skip-tls-verify    do not verify the hub's certificate [GITFLEET_INSECURE_SKIP_TLS_VERIFY]
  --plaintext                   no TLS to the hub (loopback and tests only) [GITFLEET_PLAINTEXT]
  --reconcile-interval DURATION re-apply period, e.g. 30s, 2m; default 30s [GITFLEET_RECONCILE_INTERVAL]
  --health-addr [HOST]:PORT     serve GET /healthz and /readyz there; default :8081, "off" for none [GITFLEET_HEALTH_ADDR]
  --leader-elect                run as one of several replicas: only the holder of the Lease
                                gitfleet-agent in the agent's namespace works, the others stand by [GITFLEET_LEADER_ELECT]
  --log-level LEVEL             trace, debug, info, warn, error; default info [GITFLEET_LOG_LEVEL]
  --help, --version
`;

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/**
 * Parses the command line and environment (flags win). Throws a {@link ConfigError} with one
 * line that names the flag (or variable) and what is wrong with it.
 */
export function parseCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AgentCommand {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--version") return { kind: "version" };
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = flags[name];
    if (!spec) throw new ConfigError(`unknown flag --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.boolean) value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (given.has(name)) throw new ConfigError(`--${name} is given twice`);
    given.set(name, value);
  }

  const read = (name: string): { value: string; source: string } | undefined => {
    const spec = flags[name];
    const flag = given.get(name);
    if (flag !== undefined) return { value: flag, source: `--${name}` };
    const fromEnv = spec ? env[spec.env] : undefined;
    return fromEnv !== undefined && fromEnv !== "" ? { value: fromEnv, source: spec?.env ?? name } : undefined;
  };
  const bool = (name: string): boolean => {
    const found = read(name);
    if (!found) return false;
    if (/^(true|1|yes)$/i.test(found.value)) return true;
    if (/^(false|0|no)$/i.test(found.value)) return false;
    throw new ConfigError(`${found.source} must be true or false, not "${found.value}"`);
  };

  const config: AgentConfig = {
    labels: labelsOf(read("labels")),
    namespace: "gitfleet-system",
    tls: { mode: "system" },
    logLevel: "info",
    reconcileIntervalMs: 30_000,
    healthAddress: ":8081",
    leaderElect: bool("leader-elect"),
  };
  const hub = read("hub");
  if (hub) {
    if (/\s/.test(hub.value) || hub.value === "") throw new ConfigError(`${hub.source} "${hub.value}" is not a HOST:PORT address`);
    config.hub = hub.value.replace(/^(grpcs?|https?):\/\//, "");
  }
  const token = read("token");
  if (token) {
    if (!/^gf_reg_[A-Za-z0-9_-]{43}$/.test(token.value)) {
      throw new ConfigError(`${token.source} is not a registration token (expected gf_reg_ and 43 base64url characters)`);
    }
    config.token = token.value;
  }
  const name = read("cluster-name");
  if (name) {
    const problem = dnsLabelProblem(name.value);
    if (problem !== undefined) throw new ConfigError(`${name.source} "${name.value}" is not a DNS label: it ${problem}`);
    config.clusterName = name.value;
  }
  const kubeconfig = read("kubeconfig");
  if (kubeconfig) config.kubeconfig = kubeconfig.value;
  const namespace = read("namespace");
  if (namespace) {
    const problem = dnsLabelProblem(namespace.value);
    if (problem !== undefined) throw new ConfigError(`${namespace.source} "${namespace.value}" is not a valid namespace name: it ${problem}`);
    config.namespace = namespace.value;
  }

  const ca = read("hub-ca");
  const insecure = bool("insecure-skip-tls-verify");
  const plaintext = bool("plaintext");
  const chosen = [ca && "--hub-ca", insecure && "--insecure-skip-tls-verify", plaintext && "--plaintext"].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`${chosen.join(" and ")} exclude each other; choose one`);
  if (ca) config.tls = { mode: "ca", caFile: ca.value };
  else if (insecure) config.tls = { mode: "insecure-skip-verify" };
  else if (plaintext) config.tls = { mode: "plaintext" };

  const level = read("log-level");
  if (level) {
    if (!LOG_LEVELS.has(level.value)) throw new ConfigError(`${level.source} "${level.value}" is not one of ${[...LOG_LEVELS].join(", ")}`);
    config.logLevel = level.value;
  }
  const interval = read("reconcile-interval");
  if (interval) config.reconcileIntervalMs = reconcileInterval(interval);
  const health = read("health-addr");
  if (health) {
    if (health.value === "off") config.healthAddress = undefined;
    else if (!HOST_PORT.test(health.value) || Number(health.value.slice(health.value.lastIndexOf(":") + 1)) > 65_535) {
      throw new ConfigError(`${health.source} "${health.value}" is not a [HOST]:PORT address (e.g. :8081 or 127.0.0.1:8081) or "off"`);
    } else config.healthAddress = health.value;
  }
  return { kind: "run", config };
}

/** The labels of --labels k=v,... with Kubernetes' rules for keys and values. */
function labelsOf(found: { value: string; source: string } | undefined): Record<string, string> {
  if (!found) return {};
  const { labels, problems } = parseLabels(found.value, found.source);
  if (problems[0] !== undefined) throw new ConfigError(problems[0]);
  return labels;
}

/** The re-apply period: a duration like 30s, 2m, 1h30m or 2d, at least 1 s. */
function reconcileInterval(found: { value: string; source: string }): number {
  let ms: number;
  try {
    ms = parseDuration(found.value, found.source);
  } catch (error) {
    if (error instanceof DurationError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
  if (ms < 1000) throw new ConfigError(`${found.source} must be at least 1s`);
  return ms;
}
