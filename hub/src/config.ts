// gitfleet-hub configuration from the environment and flags (flags win), checked
// up front so a bad setting stops the hub with one line that names it.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { messageOf, parseDuration } from "@gitfleet/proto/rules";
import { decode } from "@nats-io/jwt";
import { fromPublic, fromSeed } from "@nats-io/nkeys";
import { parseApiToken, parseApiTokenList, type ApiToken } from "./api/auth.js";
import { parseHostPort } from "./api/server.js";
import { HubError } from "./errors.js";
import { plaintextGrpcProblem } from "./grpc/server.js";
import { defaultEventLogLimits, type EventLogLimits } from "./fleet-events/index.js";
import { defaultHistoryLimit } from "./history/index.js";
import type { HubNatsOptions } from "./nats-connection.js";
import { parseSinks, type SinkConfig } from "./notifications/index.js";

/** The hub's settings, as read by {@link loadConfig}. */
export interface HubConfig {
  nats: HubNatsOptions;
  /** NATS URLs handed to agents (GITFLEET_NATS_PUBLIC_URL); the hub's own URLs by default. */
  agentNatsServers: string[];
  /**
   * The hub's own account; `signingSeed` mints agent users when no agents account is set
   * (agents then share the hub's account; docs/security.md, "NATS accounts").
   */
  account: { publicKey: string; signingSeed: string | undefined };
  /** The agents account and its scoped signing key (GITFLEET_NATS_AGENT_ACCOUNT/_SIGNING_SEED). */
  agentAccount: { publicKey: string; signingSeed: string } | undefined;
  /** What revoking a deleted cluster's NATS user takes; undefined: users expire on their own. */
  natsRevocation: { operatorSigningSeed: string; systemCreds: string; repushIntervalMs: number } | undefined;
  httpAddress: string;
  /** Where GET /metrics is served apart from the API (GITFLEET_METRICS_ADDRESS); undefined: on the API port. */
  metricsAddress: string | undefined;
  grpcAddress: string;
  grpcTls: { certPath: string; keyPath: string } | undefined;
  /** Serve plaintext gRPC on a non-loopback address (GITFLEET_GRPC_ALLOW_PLAINTEXT); refused otherwise. */
  grpcAllowPlaintext: boolean;
  /** HTTPS for the admin API (GITFLEET_API_TLS_CERT/KEY); plain HTTP when unset. */
  apiTls: { certPath: string; keyPath: string } | undefined;
  /** Accepted API tokens; no admin among them means the hub bootstraps one. */
  apiTokens: ApiToken[];
  webhookSecret: string | undefined;
  /** Where a generated admin token is written; undefined: the default (see adminTokenAnnouncer). */
  adminTokenFile: string | undefined;
  /** The fleet repository, for the delivery part; undefined when GITFLEET_GIT_URL is unset. */
  git: { url: string; branch: string; pollIntervalMs: number; auth?: { username: string; password: string } } | undefined;
  /** The kustomize binary that renders overlays with a kustomization: a path or a name on PATH. */
  kustomize: string;
  credentialTtlMs: number;
  heartbeatIntervalSeconds: number;
  /** How long the delivery leader lease lasts without renewal (GITFLEET_DELIVERY_LEASE_TTL, 3 s to 5 min; default 15 s). */
  deliveryLeaseTtlMs: number;
  /** How long and how many fleet events are kept. */
  eventLimits: EventLogLimits;
  /** Entries of each cluster's history kept. */
  historyPerCluster: number;
  /** Where fleet events are sent, from the sinks file (docs/events.md). */
  notificationSinks: SinkConfig[];
  logLevel: string;
}

/** Raised for a bad setting; its message is the one line to print. */
export class ConfigError extends HubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid-argument", message, options);
    this.name = "ConfigError";
  }
}

/** Flag name -> environment variable; `gitfleet-hub --help` prints this table. */
export const settings = {
  "nats-url": "GITFLEET_NATS_URL",
  "nats-creds": "GITFLEET_NATS_CREDS",
  "nats-user-jwt": "GITFLEET_NATS_USER_JWT",
  "nats-user-seed": "GITFLEET_NATS_USER_SEED",
  "nats-account": "GITFLEET_NATS_ACCOUNT",
  "nats-account-signing-seed": "GITFLEET_NATS_ACCOUNT_SIGNING_SEED",
  "nats-account-signing-seed-file": "GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE",
  "nats-agent-account": "GITFLEET_NATS_AGENT_ACCOUNT",
  "nats-agent-signing-seed": "GITFLEET_NATS_AGENT_SIGNING_SEED",
  "nats-agent-signing-seed-file": "GITFLEET_NATS_AGENT_SIGNING_SEED_FILE",
  "nats-operator-signing-seed": "GITFLEET_NATS_OPERATOR_SIGNING_SEED",
  "nats-operator-signing-seed-file": "GITFLEET_NATS_OPERATOR_SIGNING_SEED_FILE",
  "nats-system-creds": "GITFLEET_NATS_SYSTEM_CREDS",
  "nats-public-url": "GITFLEET_NATS_PUBLIC_URL",
  "nats-replicas": "GITFLEET_NATS_REPLICAS",
  "http-addr": "GITFLEET_HTTP_ADDR",
  "metrics-addr": "GITFLEET_METRICS_ADDRESS",
  "grpc-addr": "GITFLEET_GRPC_ADDR",
  "grpc-tls-cert": "GITFLEET_GRPC_TLS_CERT",
  "grpc-tls-key": "GITFLEET_GRPC_TLS_KEY",
  "grpc-allow-plaintext": "GITFLEET_GRPC_ALLOW_PLAINTEXT",
  "admin-token": "GITFLEET_ADMIN_TOKEN",
  "admin-token-file": "GITFLEET_ADMIN_TOKEN_FILE",
  "api-tls-cert": "GITFLEET_API_TLS_CERT",
  "api-tls-key": "GITFLEET_API_TLS_KEY",
  "viewer-tokens": "GITFLEET_VIEWER_TOKENS",
  "webhook-secret": "GITFLEET_WEBHOOK_SECRET",
  "git-url": "GITFLEET_GIT_URL",
  "git-username": "GITFLEET_GIT_USERNAME",
  "git-password": "GITFLEET_GIT_PASSWORD",
  "git-branch": "GITFLEET_GIT_BRANCH",
  "git-poll-interval": "GITFLEET_GIT_POLL_INTERVAL",
  kustomize: "GITFLEET_KUSTOMIZE",
  "credential-ttl": "GITFLEET_CREDENTIAL_TTL",
  "heartbeat-interval": "GITFLEET_HEARTBEAT_INTERVAL",
  "delivery-lease-ttl": "GITFLEET_DELIVERY_LEASE_TTL",
  "nats-revocation-repush-interval": "GITFLEET_NATS_REVOCATION_REPUSH_INTERVAL",
  "events-max-age": "GITFLEET_EVENTS_MAX_AGE",
  "events-max-count": "GITFLEET_EVENTS_MAX_COUNT",
  "history-per-cluster": "GITFLEET_HISTORY_PER_CLUSTER",
  "notify-sinks-file": "GITFLEET_NOTIFY_SINKS_FILE",
  "log-level": "GITFLEET_LOG_LEVEL",
} as const;

type Setting = keyof typeof settings;

// Settings that are switches: `--flag` alone means true; the environment variable says true or false.
const switches: ReadonlySet<Setting> = new Set<Setting>(["grpc-allow-plaintext"]);

/** Thrown when `--help` was given; main prints {@link usage}. */
export class HelpRequested extends Error {}

/** Thrown when `--version` was given; main prints the version. */
export class VersionRequested extends Error {}

/** The help text: every flag with its environment variable. */
export function usage(): string {
  const rows = Object.entries(settings).map(([flag, env]) => `  --${flag.padEnd(32)} ${env}`);
  return [
    "usage: gitfleet-hub [flags]   (every flag can be set through its environment variable)",
    ...rows,
    `  --${"version".padEnd(32)} print the version and exit`,
  ].join("\n");
}

function wrap<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(err instanceof Error ? err.message : `${what}: ${String(err)}`, { cause: err });
  }
}

/**
 * Reads the configuration from `env` and `argv` (flags win). Files named by
 * settings are read here. Throws {@link ConfigError} with a one-line message.
 */
export async function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<HubConfig> {
  const options = Object.fromEntries(
    Object.keys(settings).map((flag) => [flag, { type: switches.has(flag as Setting) ? ("boolean" as const) : ("string" as const) }]),
  ) as Record<Setting, { type: "string" | "boolean" }>;
  let values: Partial<Record<Setting | "help" | "version", string | boolean>>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean" }, version: { type: "boolean" } }, strict: true }));
  } catch (err) {
    throw new ConfigError(`${messageOf(err)}; see --help`);
  }
  if (values.help) throw new HelpRequested();
  if (values.version) throw new VersionRequested();
  const get = (setting: Setting): string | undefined => {
    const flag = values[setting];
    const value = typeof flag === "string" ? flag : typeof flag === "boolean" ? String(flag) : env[settings[setting]];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const name = (setting: Setting): string => settings[setting];

  const natsUrl = get("nats-url");
  if (!natsUrl) throw new ConfigError(`${name("nats-url")} is required: the NATS server URL(s), e.g. nats://127.0.0.1:4222`);
  const servers = urlList(natsUrl, name("nats-url"));
  const agentServers = get("nats-public-url");

  const credsFile = get("nats-creds");
  const userJwt = get("nats-user-jwt");
  const userSeed = get("nats-user-seed");
  if ((userJwt === undefined) !== (userSeed === undefined)) {
    throw new ConfigError(`${name("nats-user-jwt")} and ${name("nats-user-seed")} must be set together`);
  }
  if (credsFile && userJwt) {
    throw new ConfigError(`set either ${name("nats-creds")} or ${name("nats-user-jwt")}/${name("nats-user-seed")}, not both`);
  }
  let credsText: string | undefined;
  if (credsFile) credsText = await readText(credsFile, name("nats-creds"));

  const agentAccountKey = get("nats-agent-account");
  const agentSigningSeed = await seedOf(get, name, "nats-agent-signing-seed", "nats-agent-signing-seed-file", "A");
  if ((agentAccountKey === undefined) !== (agentSigningSeed === undefined)) {
    throw new ConfigError(
      `${name("nats-agent-account")} and ${name("nats-agent-signing-seed")} (or ${name("nats-agent-signing-seed-file")}) must be set together: the agents account and its scoped signing key`,
    );
  }
  if (agentAccountKey) wrap(name("nats-agent-account"), () => checkAccountKey(agentAccountKey, name("nats-agent-account")));
  const agentAccount = agentAccountKey && agentSigningSeed ? { publicKey: agentAccountKey, signingSeed: agentSigningSeed } : undefined;
  const signingSeed = await seedOf(get, name, "nats-account-signing-seed", "nats-account-signing-seed-file", "A");
  if (!signingSeed && !agentAccount) {
    throw new ConfigError(
      `${name("nats-account-signing-seed")} (or ${name("nats-account-signing-seed-file")}) is required: the seed (SA...) of a signing key of the gitfleet account ` +
        `(or set ${name("nats-agent-account")} and ${name("nats-agent-signing-seed")} for a separate agents account)`,
    );
  }
  const operatorSigningSeed = await seedOf(get, name, "nats-operator-signing-seed", "nats-operator-signing-seed-file", "O");
  const systemCredsFile = get("nats-system-creds");
  if ((operatorSigningSeed === undefined) !== (systemCredsFile === undefined)) {
    throw new ConfigError(
      `${name("nats-operator-signing-seed")} (or ${name("nats-operator-signing-seed-file")}) and ${name("nats-system-creds")} must be set together: revoking a deleted cluster's NATS user takes both`,
    );
  }
  if (operatorSigningSeed && !agentAccount) {
    throw new ConfigError(`${name("nats-operator-signing-seed")} needs ${name("nats-agent-account")}: the hub revokes users of the agents account only`);
  }
  const natsRevocation =
    operatorSigningSeed && systemCredsFile
      ? {
          operatorSigningSeed,
          systemCreds: await readText(systemCredsFile, name("nats-system-creds")),
          repushIntervalMs: repushIntervalOf(get("nats-revocation-repush-interval"), name("nats-revocation-repush-interval")),
        }
      : undefined;
  const accountPublicKey = get("nats-account") ?? accountFromUserJwt(userJwt ?? jwtInCreds(credsText));
  if (!accountPublicKey) {
    throw new ConfigError(`${name("nats-account")} is required: the public key (A...) of the gitfleet NATS account`);
  }
  wrap(name("nats-account"), () => checkAccountKey(accountPublicKey, name("nats-account")));

  const replicas = Number(get("nats-replicas") ?? "1");
  if (![1, 3, 5].includes(replicas)) throw new ConfigError(`${name("nats-replicas")} must be 1, 3 or 5 (got ${get("nats-replicas")})`);

  const httpAddress = get("http-addr") ?? "127.0.0.1:8080";
  wrap(name("http-addr"), () => parseHostPort(httpAddress, name("http-addr")));
  const metricsAddress = get("metrics-addr");
  if (metricsAddress !== undefined) {
    wrap(name("metrics-addr"), () => parseHostPort(metricsAddress, name("metrics-addr")));
    if (metricsAddress === httpAddress) throw new ConfigError(`${name("metrics-addr")} must differ from ${name("http-addr")} (${httpAddress}); leave it unset to serve /metrics on the API port`);
  }
  const grpcAddress = get("grpc-addr") ?? "127.0.0.1:9090";
  wrap(name("grpc-addr"), () => parseHostPort(grpcAddress, name("grpc-addr")));
  const certPath = get("grpc-tls-cert");
  const keyPath = get("grpc-tls-key");
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError(`${name("grpc-tls-cert")} and ${name("grpc-tls-key")} must be set together`);
  }
  const grpcAllowPlaintext = switchOf(get("grpc-allow-plaintext"), name("grpc-allow-plaintext"));
  if (certPath === undefined) {
    const problem = plaintextGrpcProblem(grpcAddress, grpcAllowPlaintext);
    if (problem !== undefined) throw new ConfigError(problem);
  }

  const apiCertPath = get("api-tls-cert");
  const apiKeyPath = get("api-tls-key");
  if ((apiCertPath === undefined) !== (apiKeyPath === undefined)) {
    throw new ConfigError(`${name("api-tls-cert")} and ${name("api-tls-key")} must be set together`);
  }

  const apiTokens: ApiToken[] = [];
  const admin = get("admin-token");
  if (admin) apiTokens.push(wrap(name("admin-token"), () => parseApiToken(admin, "admin", name("admin-token"))));
  const viewers = get("viewer-tokens");
  if (viewers) apiTokens.push(...wrap(name("viewer-tokens"), () => parseApiTokenList(viewers, "viewer", name("viewer-tokens"))));
  // A name is who did something (a promotion's author): two tokens must not share one.
  const seen = new Set<string>();
  for (const token of apiTokens) {
    if (seen.has(token.name)) {
      throw new ConfigError(`${name("admin-token")}/${name("viewer-tokens")}: two tokens are named ${token.name}; give each its own name (name=secret)`);
    }
    seen.add(token.name);
  }

  const gitUrl = get("git-url");
  if (gitUrl) urlList(gitUrl, name("git-url"));
  // Credentials apart from the URL, so that a Kubernetes Secret can hold them alone.
  const gitUsername = get("git-username");
  const gitPassword = get("git-password");
  if (gitPassword !== undefined && !gitUrl) throw new ConfigError(`${name("git-password")} is set but ${name("git-url")} is not`);
  if (gitUsername !== undefined && gitPassword === undefined) {
    throw new ConfigError(`${name("git-username")} needs ${name("git-password")} (the password or access token)`);
  }

  return {
    nats: {
      servers,
      ...(credsText !== undefined ? { creds: credsText } : {}),
      ...(userJwt !== undefined && userSeed !== undefined ? { userJwt, userSeed } : {}),
      replicas,
    },
    agentNatsServers: agentServers ? urlList(agentServers, name("nats-public-url")) : servers,
    account: { publicKey: accountPublicKey, signingSeed },
    agentAccount,
    natsRevocation,
    httpAddress,
    metricsAddress,
    grpcAddress,
    grpcTls: certPath && keyPath ? { certPath, keyPath } : undefined,
    grpcAllowPlaintext,
    apiTls: apiCertPath && apiKeyPath ? { certPath: apiCertPath, keyPath: apiKeyPath } : undefined,
    apiTokens,
    webhookSecret: get("webhook-secret"),
    adminTokenFile: get("admin-token-file"),
    git: gitUrl
      ? {
          url: gitUrl,
          branch: get("git-branch") ?? "main",
          pollIntervalMs: wrap(name("git-poll-interval"), () => parseDuration(get("git-poll-interval") ?? "60s", name("git-poll-interval"))),
          // Git hosts ignore the user name for token auth but need one.
          ...(gitPassword !== undefined ? { auth: { username: gitUsername ?? "git", password: gitPassword } } : {}),
        }
      : undefined,
    kustomize: get("kustomize") ?? "kustomize",
    credentialTtlMs: wrap(name("credential-ttl"), () => parseDuration(get("credential-ttl") ?? "1h", name("credential-ttl"))),
    heartbeatIntervalSeconds: Math.max(
      1,
      Math.round(wrap(name("heartbeat-interval"), () => parseDuration(get("heartbeat-interval") ?? "15s", name("heartbeat-interval"))) / 1000),
    ),
    deliveryLeaseTtlMs: leaseTtlOf(get("delivery-lease-ttl"), name("delivery-lease-ttl")),
    eventLimits: eventLimitsOf(get, name),
    historyPerCluster: historyPerClusterOf(get("history-per-cluster"), name("history-per-cluster")),
    notificationSinks: await sinksOf(get("notify-sinks-file"), name("notify-sinks-file")),
    logLevel: get("log-level") ?? "info",
  };
}

// How often every replica pushes the agents account's revocations again, for servers that missed
// a push. Below 5 s it would only load the resolver; above 1 h a server that missed one would
// trail the hub for longer than a user JWT lives.
function repushIntervalOf(value: string | undefined, what: string): number {
  const ms = wrap(what, () => parseDuration(value ?? "1m", what));
  if (ms < 5_000 || ms > 3_600_000) throw new ConfigError(`${what} must be between 5s and 1h (got ${value})`);
  return ms;
}

// Below 3 s renewals (every third) would race NATS round trips; above 5 min a dead leader stalls delivery too long.
function leaseTtlOf(value: string | undefined, what: string): number {
  const ms = wrap(what, () => parseDuration(value ?? "15s", what));
  if (ms < 3_000 || ms > 300_000) throw new ConfigError(`${what} must be between 3s and 5m (got ${value})`);
  return ms;
}

function switchOf(value: string | undefined, what: string): boolean {
  if (value === undefined) return false;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${what} must be true or false (got ${value})`);
}

function eventLimitsOf(get: (s: Setting) => string | undefined, name: (s: Setting) => string): EventLogLimits {
  const age = get("events-max-age");
  const count = get("events-max-count");
  const maxCount = count === undefined ? defaultEventLogLimits.maxCount : Number(count);
  if (!Number.isInteger(maxCount) || maxCount < 100) throw new ConfigError(`${name("events-max-count")} must be a whole number of at least 100 (got ${count})`);
  const maxAgeMs = age === undefined ? defaultEventLogLimits.maxAgeMs : wrap(name("events-max-age"), () => parseDuration(age, name("events-max-age")));
  if (maxAgeMs < 60_000) throw new ConfigError(`${name("events-max-age")} must be at least 1m (got ${age})`);
  return { maxAgeMs, maxCount };
}

function historyPerClusterOf(text: string | undefined, what: string): number {
  const count = text === undefined ? defaultHistoryLimit : Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new ConfigError(`${what} must be a whole number from 1 to 10000 (got ${text})`);
  return count;
}

// The file holds URLs and secrets: errors name the setting and the sink, never a value.
async function sinksOf(path: string | undefined, what: string): Promise<SinkConfig[]> {
  if (path === undefined) return [];
  const text = await readText(path, what);
  return wrap(what, () => parseSinks(text, `${what} (${path})`));
}

function urlList(value: string, what: string): string[] {
  const urls = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  for (const url of urls) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError(`${what}: "${url}" is not a URL`);
    }
  }
  if (urls.length === 0) throw new ConfigError(`${what}: no URL given`);
  return urls;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${messageOf(err)}`, { cause: err });
  }
}

// A seed given inline or in a file; `kind` is the key type its public key starts with.
async function seedOf(
  get: (s: Setting) => string | undefined,
  name: (s: Setting) => string,
  inlineSetting: Setting,
  fileSetting: Setting,
  kind: "A" | "O",
): Promise<string | undefined> {
  const inline = get(inlineSetting);
  const file = get(fileSetting);
  if (inline && file) throw new ConfigError(`set either ${name(inlineSetting)} or ${name(fileSetting)}, not both`);
  const seed = inline ?? (file ? (await readText(file, name(fileSetting))).trim() : undefined);
  if (seed === undefined) return undefined;
  let ok = false;
  try {
    ok = fromSeed(new TextEncoder().encode(seed)).getPublicKey().startsWith(kind);
  } catch {
    ok = false;
  }
  const what = kind === "A" ? "an account nkey seed (SA...)" : "an operator nkey seed (SO...)";
  if (!ok) throw new ConfigError(`${name(inlineSetting)}: not ${what}`);
  return seed;
}

function checkAccountKey(key: string, what: string): void {
  let ok = false;
  try {
    fromPublic(key);
    ok = key.startsWith("A");
  } catch {
    ok = false;
  }
  if (!ok) throw new ConfigError(`${what}: "${key}" is not an account public key (A...)`);
}

function jwtInCreds(creds: string | undefined): string | undefined {
  const match = /-----BEGIN NATS USER JWT-----\s*(\S+)\s*------END NATS USER JWT------/.exec(creds ?? "");
  return match?.[1];
}

// A user JWT issued with a signing key names its account in issuer_account.
function accountFromUserJwt(jwt: string | undefined): string | undefined {
  if (!jwt) return undefined;
  try {
    const claims = decode<{ issuer_account?: string }>(jwt);
    return claims.nats.issuer_account ?? (claims.iss.startsWith("A") ? claims.iss : undefined);
  } catch {
    return undefined;
  }
}
