// The agent's Kubernetes configuration without loading @kubernetes/client-node: importing that
// library loads every generated model and API of Kubernetes (about 80 MiB of resident memory,
// half of an idle agent; docs/benchmarks.md, the agent at rest). A kubeconfig file or the pod's
// service account with a token, a token file, a client certificate or a user name and password
// is read here; anything else (exec plugins, auth providers, proxies) is handed to the library's
// own KubeConfig, loaded the first time a request needs it.
import { readFileSync } from "node:fs";
import type { RequestOptions } from "node:https";
import { isIPv6 } from "node:net";
import { dirname, isAbsolute, join } from "node:path";
import { load as loadYaml } from "js-yaml";

/** The cluster a configuration talks to; the shape of @kubernetes/client-node's Cluster. */
export interface KubeClusterInfo {
  readonly server: string;
  readonly skipTLSVerify: boolean;
  readonly tlsServerName?: string | undefined;
  readonly proxyUrl?: string | undefined;
}

/**
 * What the agent needs of a Kubernetes configuration: the cluster's address and, per request,
 * the TLS material and credentials. @kubernetes/client-node's KubeConfig has this shape (tests
 * and embedders may pass one); {@link LeanKubeConfig} is the agent's own.
 */
export interface KubeConfigLike {
  getCurrentCluster(): KubeClusterInfo | null;
  /**
   * Sets the TLS options (ca, cert, key, rejectUnauthorized, servername), headers
   * (Authorization, impersonation) and basic auth of one request; may set `agent` (a proxy).
   */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
// Like client-go and the library, a token file is read again at most once a minute.
const FILE_TTL_MS = 60_000;

interface LeanCluster extends KubeClusterInfo {
  readonly caData?: string | undefined;
  readonly caFile?: string | undefined;
}

interface LeanUser {
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly certData?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyData?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly impersonateUser?: string | undefined;
  /** exec or auth-provider: left to the library. */
  readonly plugin: boolean;
}

/** Where a {@link LeanKubeConfig} came from, so that the library can load the same. */
type Source = { kind: "file"; path: string } | { kind: "cluster" };

/** The library's KubeConfig, as far as it is used here. */
interface LibraryKubeConfig extends KubeConfigLike {
  loadFromFile(file: string): void;
  loadFromCluster(): void;
}

/** A kubeconfig file or the in-cluster service account, read without the client library. */
export class LeanKubeConfig implements KubeConfigLike {
  private cluster: LeanCluster | null = null;
  private user: LeanUser | null = null;
  private source: Source | undefined;
  private readonly files = new Map<string, { read: number; data: Buffer }>();
  private library: Promise<KubeConfigLike> | undefined;

  /** Loads a kubeconfig file (YAML or JSON); relative paths in it are relative to its folder. */
  loadFromFile(file: string): void {
    const root = dirname(file);
    const doc = record(loadYaml(readFileSync(file, "utf8")));
    if (!doc) throw new Error("the kubeconfig is not a YAML mapping");
    const abs = (p: unknown): string | undefined => (typeof p === "string" && p ? (isAbsolute(p) ? p : join(root, p)) : undefined);
    const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);
    const current = str(doc["current-context"]);
    const named = (list: unknown, name: string | undefined, key: string): Record<string, unknown> | undefined => {
      if (name === undefined || !Array.isArray(list)) return undefined;
      return record(list.map(record).find((e) => e?.["name"] === name)?.[key]);
    };
    const context = named(doc["contexts"], current, "context");
    const c = named(doc["clusters"], str(context?.["cluster"]), "cluster");
    const u = named(doc["users"], str(context?.["user"]), "user");
    const server = str(c?.["server"]);
    this.cluster =
      c && server
        ? {
            server: server.replace(/\/$/, ""),
            skipTLSVerify: c["insecure-skip-tls-verify"] === true,
            tlsServerName: str(c["tls-server-name"]),
            proxyUrl: str(c["proxy-url"]),
            caData: str(c["certificate-authority-data"]),
            caFile: abs(c["certificate-authority"]),
          }
        : null;
    this.user = u
      ? {
          token: str(u["token"]),
          tokenFile: abs(u["token-file"]),
          certData: str(u["client-certificate-data"]),
          certFile: abs(u["client-certificate"]),
          keyData: str(u["client-key-data"]),
          keyFile: abs(u["client-key"]),
          username: str(u["username"]),
          password: str(u["password"]),
          impersonateUser: str(u["as"]),
          plugin: u["exec"] != null || u["auth-provider"] != null,
        }
      : null;
    // The library reads a token file once, when it loads the file: so does this.
    if (this.user?.tokenFile && !this.user.token) this.user = { ...this.user, token: readFileSync(this.user.tokenFile, "utf8") };
    this.source = { kind: "file", path: file };
  }

  /** Loads the pod's service account: its token (read again once a minute), CA and the API server's address. */
  loadFromCluster(): void {
    const host = process.env["KUBERNETES_SERVICE_HOST"] ?? "";
    const port = process.env["KUBERNETES_SERVICE_PORT"] ?? "";
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
    this.cluster = { server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, skipTLSVerify: false, caFile: `${SERVICE_ACCOUNT}/ca.crt` };
    this.user = { tokenFile: `${SERVICE_ACCOUNT}/token`, plugin: false };
    this.source = { kind: "cluster" };
  }

  getCurrentCluster(): KubeClusterInfo | null {
    return this.cluster;
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const cluster = this.cluster;
    const user = this.user;
    if (user?.plugin || cluster?.proxyUrl) {
      await (await this.libraryConfig()).applyToHTTPSOptions(opts);
      return;
    }
    if (!user) return;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = this.material(cluster?.caFile, cluster?.caData);
    if (ca) opts.ca = ca;
    const cert = this.material(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = this.material(user.keyFile, user.keyData);
    if (key) opts.key = key;
    const headers: Record<string, string> = {};
    if (user.impersonateUser) headers["Impersonate-User"] = user.impersonateUser;
    const token = user.token ?? (user.tokenFile ? this.file(user.tokenFile).toString("utf8") : undefined);
    if (token) headers["Authorization"] = `Bearer ${token}`;
    opts.headers = { ...(opts.headers as Record<string, string> | undefined), ...headers };
    if (user.username) opts.auth = `${user.username}:${user.password ?? ""}`;
  }

  // TLS material from a file (read again once a minute, so that rotated files are picked up) or inline base64.
  private material(file: string | undefined, data: string | undefined): Buffer | undefined {
    if (file) return this.file(file);
    return data ? Buffer.from(data, "base64") : undefined;
  }

  private file(path: string): Buffer {
    const now = Date.now();
    const cached = this.files.get(path);
    if (cached && now - cached.read < FILE_TTL_MS) return cached.data;
    const data = readFileSync(path);
    this.files.set(path, { read: now, data });
    return data;
  }

  private libraryConfig(): Promise<KubeConfigLike> {
    this.library ??= (async () => {
      const { KubeConfig } = (await import("@kubernetes/client-node")) as unknown as { KubeConfig: new () => LibraryKubeConfig };
      const kc = new KubeConfig();
      if (this.source?.kind === "file") kc.loadFromFile(this.source.path);
      else kc.loadFromCluster();
      return kc;
    })();
    return this.library;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
