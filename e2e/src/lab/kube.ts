import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { startProcess, waitFor, type LabProcess } from "./process.js";

/** Options for {@link startKubeApiserver}. */
export interface KubeApiserverOptions {
  /** Cluster name, used in the kubeconfig and in messages. */
  name: string;
  /** The lab-apiserver binary (kube-apiserver with embedded etcd). */
  binary: string;
  /** Folder owned by this cluster: etcd data, certificates, keys, log. */
  dir: string;
  detached?: boolean;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

/** One running lab cluster: a real kube-apiserver and its etcd. */
export interface KubeApiserver {
  readonly name: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** Bearer token of a static user in system:masters (cluster-admin). */
  readonly token: string;
  /** PEM of the self-signed serving certificate, usable as the CA. */
  readonly caData: string;
  /** Path of a kubeconfig file for the admin token. */
  readonly kubeconfig: string;
  readonly process: LabProcess;
  stop(): Promise<void>;
}

/** Starts kube-apiserver with embedded etcd and waits until /readyz answers ok. */
export async function startKubeApiserver(options: KubeApiserverOptions): Promise<KubeApiserver> {
  const { dir, name } = options;
  const certDir = join(dir, "certs");
  await mkdir(certDir, { recursive: true });
  const token = randomBytes(24).toString("hex");
  const tokenFile = join(dir, "tokens.csv");
  await writeFile(tokenFile, `${token},lab-admin,lab-admin,"system:masters"\n`, { mode: 0o600 });
  // One RSA key signs and verifies service account tokens (TokenRequest works).
  const saKey = join(dir, "sa.key");
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });

  const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${securePort}`;
  const proc = await startProcess({
    name: `kube-apiserver ${name}`,
    command: options.binary,
    logFile: join(dir, "kube-apiserver.log"),
    detached: options.detached ?? false,
    args: [
      `--etcd-dir=${join(dir, "etcd")}`,
      `--etcd-client-url=http://127.0.0.1:${etcdClient}`,
      `--etcd-peer-url=http://127.0.0.1:${etcdPeer}`,
      "--",
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${securePort}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--v=0",
    ],
  });
  try {
    await waitFor(async () => (await readyz(server, token)) || undefined, {
      what: `kube-apiserver ${name} /readyz`,
      timeoutMs: options.readyTimeoutMs ?? 120_000,
      intervalMs: 250,
      process: proc,
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const caData = await readFile(join(certDir, "apiserver.crt"), "utf8");
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml({ name, server, token, caData }), { mode: 0o600 });
  return { name, server, token, caData, kubeconfig, process: proc, stop: () => proc.stop(10_000) };
}

/** Renders a kubeconfig for one cluster and one bearer token. */
export function kubeconfigYaml(c: { name: string; server: string; token: string; caData: string }): string {
  const ca = Buffer.from(c.caData).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${c.name}`,
    "  cluster:",
    `    server: ${c.server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${c.name}-admin`,
    "  user:",
    `    token: ${c.token}`,
    "contexts:",
    `- name: ${c.name}`,
    "  context:",
    `    cluster: ${c.name}`,
    `    user: ${c.name}-admin`,
    `current-context: ${c.name}`,
    "",
  ].join("\n");
}

function readyz(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once("error", () => resolve(false));
    req.once("timeout", () => req.destroy());
    req.end();
  });
}
