// Command line and environment of gitfleet-agent, validated at the edge: everything after
// parseCommand() can trust its types. One table (settings) holds every flag with its value
// name, environment variable, description and default; the parser and --help both read it.
import type { AgentRbac } from "./self-guard.js";
import { parseArgs } from "node:util";
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
  /** CA file for TLS to NATS (--nats-ca); the system roots when absent. */
  natsCaFile?: string;
  logLevel: string;
  reconcileIntervalMs: number;
  /** The drift loop guard: this many corrections of one object within windowMs make a conflict. */
  loopGuard: { maxCorrections: number; windowMs: number };
  /** "[host]:port" of the /healthz and /readyz server; undefined when turned off. */
  healthAddress: string | undefined;
  /** Elect a leader among replicas on the Lease gitfleet-agent before doing anything. */
  leaderElect: boolean;
  /** The agent's ServiceAccount and RBAC names, which bundles may not touch. */
  agentRbac: AgentRbac;
}

/**
 * What the command line asks for. `warnings` are for the log, once the logger exists (e.g. a
 * deprecated environment variable was read).
 */
export type AgentCommand = { kind: "run"; config: AgentConfig; warnings: string[] } | { kind: "help" } | { kind: "version" };

/** One setting of gitfleet-agent: a flag and its environment variable. */
export interface AgentSetting {
  /** Name of the value in --help, e.g. "HOST:PORT"; absent for a switch (true or false). */
  value?: string;
  /** The environment variable; the flag wins over it. */
  env: string;
  /** The variable's former name, still read (with a warning) when `env` is unset. */
  deprecatedEnv?: string;
  /** One line for --help. */
  description: string;
  /** The value used when neither the flag nor the variable is set, written as one would set it. */
  default?: string;
  /** Needed on the first start only, to register. */
  registration?: boolean;
}

/** Every flag of gitfleet-agent (without "--"), in --help order. */
export const settings = {
  hub: {
    value: "HOST:PORT",
    env: "GITFLEET_HUB_ADDRESS",
    deprecatedEnv: "GITFLEET_HUB",
    description: "the hub's gRPC address",
    registration: true,
  },
  token: {
    value: "TOKEN",
    env: "GITFLEET_REGISTRATION_TOKEN",
    deprecatedEnv: "GITFLEET_TOKEN",
    description: "registration token, gf_reg_...",
    registration: true,
  },
  "cluster-name": { value: "NAME", env: "GITFLEET_CLUSTER_NAME", description: "cluster name, a DNS label", registration: true },
  labels: { value: "k=v,...", env: "GITFLEET_LABELS", description: "labels asked for at registration" },
  kubeconfig: { value: "PATH", env: "GITFLEET_KUBECONFIG", description: "kubeconfig; the in-cluster config when omitted" },
  namespace: { value: "NS", env: "GITFLEET_NAMESPACE", description: "the agent's namespace", default: "gitfleet-system" },
  "hub-ca": { value: "FILE", env: "GITFLEET_HUB_CA", description: "CA certificates (PEM) that sign the hub's certificate" },
  "insecure-skip-tls-verify": { env: "GITFLEET_INSECURE_SKIP_TLS_VERIFY", description: "do not verify the hub's certificate" },
  plaintext: { env: "GITFLEET_PLAINTEXT", description: "no TLS to the hub (loopback and tests only)" },
  "nats-ca": {
    value: "FILE",
    env: "GITFLEET_NATS_CA",
    description: "CA certificates (PEM) that sign the NATS servers' certificates; TLS to NATS is required unless every server is loopback",
  },
  "reconcile-interval": { value: "DURATION", env: "GITFLEET_RECONCILE_INTERVAL", description: "re-apply period, e.g. 30s or 2m", default: "30s" },
  "drift-max-corrections": {
    value: "N",
    env: "GITFLEET_DRIFT_MAX_CORRECTIONS",
    description: "corrections of one object within --drift-window before it is a conflict and corrections back off",
    default: "5",
  },
  "drift-window": { value: "DURATION", env: "GITFLEET_DRIFT_WINDOW", description: "the loop guard's window, e.g. 10m", default: "10m" },
  "health-addr": {
    value: "[HOST]:PORT",
    env: "GITFLEET_HEALTH_ADDR",
    description: 'serve GET /healthz, /readyz and /metrics there; "off" for none',
    default: ":8081",
  },
  "leader-elect": {
    env: "GITFLEET_LEADER_ELECT",
    description: "run as one of several replicas: only the holder of the Lease gitfleet-agent in the agent's namespace works, the others stand by",
  },
  "service-account": {
    value: "NAME",
    env: "GITFLEET_SERVICE_ACCOUNT",
    description: "the ServiceAccount the agent runs as: bundles may not change it or bind it",
  },
  "rbac-name": {
    value: "NAME",
    env: "GITFLEET_RBAC_NAME",
    description: "the name of the agent's own Roles, ClusterRoles and bindings (the chart's full name): bundles may not change them",
  },
  "log-level": { value: "LEVEL", env: "GITFLEET_LOG_LEVEL", description: "trace, debug, info, warn, error, fatal or silent", default: "info" },
} satisfies Record<string, AgentSetting>;

type Flag = keyof typeof settings;

const flags = Object.keys(settings) as Flag[];
const settingOf = (flag: Flag): AgentSetting => settings[flag];
const isFlag = (name: string): name is Flag => Object.hasOwn(settings, name);

/** The flags that are commands rather than settings. */
const commands = {
  help: { short: "h", description: "print this help" },
  version: { description: "print the version" },
} as const;

/** The --help text, generated from {@link settings}. */
export function usage(): string {
  const left = (flag: string): string => {
    const { value } = settingOf(flag as Flag);
    return `--${flag}${value ? ` ${value}` : ""}`;
  };
  const width = Math.max(...flags.map((f) => left(f).length)) + 4;
  const row = (head: string, lines: string[]): string[] =>
    lines.map((line, i) => `  ${(i === 0 ? head : "").padEnd(width)}${line}`);
  const rows = flags.flatMap((flag) => {
    const s = settingOf(flag);
    const env = s.deprecatedEnv ? `${s.env} (formerly ${s.deprecatedEnv}, deprecated)` : s.env;
    return row(left(flag), [...wrap(s.description, 72), `env ${env}${s.default ? `, default ${s.default}` : ""}`]);
  });
  const commandRows = Object.entries(commands).flatMap(([name, c]) =>
    row(`--${name}${"short" in c ? `, -${c.short}` : ""}`, [c.description]),
  );
  const registration = flags.filter((f) => settingOf(f).registration);
  return [
    `Usage: gitfleet-agent ${registration.map(left).join(" ")} [flags]`,
    "",
    "Pulls this cluster's desired state from the gitfleet hub and reconciles it.",
    `${listed(registration.map((f) => `--${f}`))} are needed on the first start only; later starts`,
    "reuse the identity stored in the Secret gitfleet-agent-identity.",
    "",
    "Every flag can be set through its environment variable instead; the flag wins.",
    "",
    "Flags:",
    ...rows,
    ...commandRows,
    "",
  ].join("\n");
}

/** The --help text. */
export const USAGE = usage();

function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1) ?? ""}`;
}

function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/** A value and where it came from ("--flag", or the variable's name), for error messages. */
interface Found {
  value: string;
  source: string;
}

/**
 * Reads the flags: name -> value as given ("true" for a bare switch). parseArgs does the
 * splitting; its errors become one line that names the flag.
 */
function readFlags(argv: readonly string[]): Map<Flag, string> | "help" | "version" {
  // parseArgs refuses a value on a boolean option; "--plaintext=false" has always worked.
  const switches: Array<[Flag, string]> = [];
  const rest: string[] = [];
  for (const [i, arg] of argv.entries()) {
    const inline = /^--([^=]+)=(.*)$/s.exec(arg);
    const name = inline?.[1] ?? "";
    if (inline && isFlag(name) && !settingOf(name).value && !argv.slice(0, i).includes("--")) switches.push([name, inline[2] ?? ""]);
    else rest.push(arg);
  }
  const options = Object.fromEntries([
    ...flags.map((flag) => [flag, { type: settingOf(flag).value ? ("string" as const) : ("boolean" as const) }]),
    ["help", { type: "boolean" as const, short: commands.help.short }],
    ["version", { type: "boolean" as const }],
  ]) as Record<string, { type: "string" | "boolean"; short?: string }>;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    if (argv.includes("--help") || argv.includes("-h")) return "help";
    throw flagError(error);
  }
  if (parsed.values["help"]) return "help";
  if (parsed.values["version"]) return "version";
  const positional = parsed.positionals[0];
  if (positional !== undefined) throw new ConfigError(`unexpected argument "${positional}"`);
  const given = new Map<Flag, string>();
  const give = (flag: string, value: string): void => {
    if (!isFlag(flag)) return;
    if (given.has(flag)) throw new ConfigError(`--${flag} is given twice`);
    given.set(flag, value);
  };
  for (const token of parsed.tokens) if (token.kind === "option") give(token.name, token.value ?? "true");
  for (const [flag, value] of switches) give(flag, value);
  return given;
}

function flagError(error: unknown): ConfigError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  // parseArgs quotes the option, as "'--hub <value>'" or "'-h, --help'".
  const flag = /'(?:-\w, )?(-[^' ]+)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new ConfigError(`unknown flag ${flag}`, { cause: error });
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(message)) return new ConfigError(`${flag} takes no value`, { cause: error });
    return new ConfigError(`${flag} needs a value`, { cause: error });
  }
  return new ConfigError(message.split("\n")[0] ?? message, { cause: error });
}

/**
 * Parses the command line and environment (flags win over variables, current variable names
 * over deprecated ones). Throws a {@link ConfigError} with one line that names the flag (or
 * variable) and what is wrong with it.
 */
export function parseCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AgentCommand {
  const given = readFlags(argv);
  if (given === "help" || given === "version") return { kind: given };
  const warnings: string[] = [];

  const read = (flag: Flag): Found | undefined => {
    const spec = settingOf(flag);
    const fromFlag = given.get(flag);
    if (fromFlag !== undefined) return { value: fromFlag, source: `--${flag}` };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: spec.env };
    const fromOld = spec.deprecatedEnv === undefined ? undefined : env[spec.deprecatedEnv];
    if (spec.deprecatedEnv !== undefined && fromOld !== undefined && fromOld !== "") {
      warnings.push(
        `${spec.deprecatedEnv} is deprecated for gitfleet-agent: set ${spec.env} instead (the gitfleet CLI reads ${spec.deprecatedEnv} with another meaning)`,
      );
      return { value: fromOld, source: spec.deprecatedEnv };
    }
    return spec.default === undefined ? undefined : { value: spec.default, source: `--${flag}` };
  };
  const bool = (flag: Flag): boolean => {
    const found = read(flag);
    if (!found) return false;
    if (/^(true|1|yes)$/i.test(found.value)) return true;
    if (/^(false|0|no)$/i.test(found.value)) return false;
    throw new ConfigError(`${found.source} must be true or false, not "${found.value}"`);
  };
  // Settings with a default in the table always have a value.
  const withDefault = (flag: Flag): Found => read(flag) ?? { value: settingOf(flag).default ?? "", source: `--${flag}` };
  const interval = withDefault("reconcile-interval");

  const config: AgentConfig = {
    labels: labelsOf(read("labels")),
    namespace: namespaceOf(withDefault("namespace")),
    tls: tlsOf(read("hub-ca"), bool("insecure-skip-tls-verify"), bool("plaintext")),
    logLevel: logLevelOf(withDefault("log-level")),
    reconcileIntervalMs: reconcileInterval(interval),
    loopGuard: { maxCorrections: positiveInteger(withDefault("drift-max-corrections")), windowMs: reconcileInterval(withDefault("drift-window")) },
    healthAddress: healthAddressOf(withDefault("health-addr")),
    leaderElect: bool("leader-elect"),
    agentRbac: {},
  };
  const serviceAccount = read("service-account");
  if (serviceAccount) config.agentRbac.serviceAccount = dnsSubdomainOf(serviceAccount);
  const rbacName = read("rbac-name");
  if (rbacName) config.agentRbac.rbacName = dnsSubdomainOf(rbacName);
  const natsCa = read("nats-ca");
  if (natsCa) config.natsCaFile = natsCa.value;
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
  return { kind: "run", config, warnings: [...new Set(warnings)] };
}

function namespaceOf(found: Found): string {
  const problem = dnsLabelProblem(found.value);
  if (problem !== undefined) throw new ConfigError(`${found.source} "${found.value}" is not a valid namespace name: it ${problem}`);
  return found.value;
}

function dnsSubdomainOf(found: Found): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(found.value)) {
    throw new ConfigError(`${found.source} "${found.value}" is not a valid object name (lower-case letters, digits, "-" and ".")`);
  }
  return found.value;
}

function tlsOf(ca: Found | undefined, insecure: boolean, plaintext: boolean): HubTlsConfig {
  const chosen = [ca && "--hub-ca", insecure && "--insecure-skip-tls-verify", plaintext && "--plaintext"].filter(Boolean);
  if (chosen.length > 1) throw new ConfigError(`${chosen.join(" and ")} exclude each other; choose one`);
  if (ca) return { mode: "ca", caFile: ca.value };
  if (insecure) return { mode: "insecure-skip-verify" };
  if (plaintext) return { mode: "plaintext" };
  return { mode: "system" };
}

function logLevelOf(found: Found): string {
  if (!LOG_LEVELS.has(found.value)) throw new ConfigError(`${found.source} "${found.value}" is not one of ${[...LOG_LEVELS].join(", ")}`);
  return found.value;
}

function healthAddressOf(found: Found): string | undefined {
  if (found.value === "off") return undefined;
  if (!HOST_PORT.test(found.value) || Number(found.value.slice(found.value.lastIndexOf(":") + 1)) > 65_535) {
    throw new ConfigError(`${found.source} "${found.value}" is not a [HOST]:PORT address (e.g. :8081 or 127.0.0.1:8081) or "off"`);
  }
  return found.value;
}

/** The labels of --labels k=v,... with Kubernetes' rules for keys and values. */
function labelsOf(found: Found | undefined): Record<string, string> {
  if (!found) return {};
  const { labels, problems } = parseLabels(found.value, found.source);
  if (problems[0] !== undefined) throw new ConfigError(problems[0]);
  return labels;
}

/** The re-apply period: a duration like 30s, 2m, 1h30m or 2d, at least 1 s. */
function positiveInteger(found: Found): number {
  const n = Number(found.value);
  if (!/^[0-9]+$/.test(found.value) || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${found.source} must be a whole number of at least 1, not "${found.value}"`);
  return n;
}

function reconcileInterval(found: Found): number {
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
