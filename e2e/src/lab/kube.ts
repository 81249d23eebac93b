import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
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

/**
 * The control plane components a lab cluster can run beside its apiserver, each with its own
 * static token and user. The scheduler is the user the bootstrap RBAC policy knows. The
 * controller manager is too, but in system:masters: with one ServiceAccount per controller
 * (`--use-service-account-credentials`, as kubeadm runs it) a cluster took 4-5 s longer to be
 * ready, for every lab any test starts. kwok stands in for every kubelet and gets cluster-admin.
 */
export type KubeComponent = "kube-controller-manager" | "kube-scheduler" | "kwok";

const componentUsers: Record<KubeComponent, string> = {
  "kube-controller-manager": 'system:kube-controller-manager,system:kube-controller-manager,"system:masters"',
  "kube-scheduler": "system:kube-scheduler,system:kube-scheduler",
  kwok: 'lab-kwok,lab-kwok,"system:masters"',
};

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
  /** PEM file of {@link caData}. */
  readonly caFile: string;
  /** The RSA key that signs and verifies service account tokens. */
  readonly serviceAccountKeyFile: string;
  readonly process: LabProcess;
  /** Writes a kubeconfig for a control plane component's own user and returns its path. */
  componentKubeconfig(component: KubeComponent): Promise<string>;
  stop(): Promise<void>;
}

/** Starts kube-apiserver with embedded etcd and waits until /readyz answers ok. */
export async function startKubeApiserver(options: KubeApiserverOptions): Promise<KubeApiserver> {
  const { dir, name } = options;
  const certDir = join(dir, "certs");
  await mkdir(certDir, { recursive: true });
  const token = randomBytes(24).toString("hex");
  const componentTokens = Object.fromEntries(
    Object.keys(componentUsers).map((c) => [c, randomBytes(24).toString("hex")]),
  ) as Record<KubeComponent, string>;
  const tokenFile = join(dir, "tokens.csv");
  const tokenLines = [
    `${token},lab-admin,lab-admin,"system:masters"`,
    ...Object.entries(componentUsers).map(([c, user]) => `${componentTokens[c as KubeComponent]},${user}`),
  ];
  await writeFile(tokenFile, `${tokenLines.join("\n")}\n`, { mode: 0o600 });
  // One RSA key signs and verifies service account tokens (TokenRequest works).
  const saKey = join(dir, "sa.key");
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });

  // A port found free can be taken (by another test's outgoing connection) before the server
  // binds it: a start that fails on a taken port is tried again on new ports.
  const start = async (): Promise<{ proc: LabProcess; server: string }> => {
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
    return { proc, server };
  };
  let started: { proc: LabProcess; server: string } | undefined;
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await start();
    } catch (err) {
      const log = await readFile(join(dir, "kube-apiserver.log"), "utf8").catch(() => "");
      if (attempt >= 3 || !/address already in use/.test(log)) throw err;
      await rm(join(dir, "etcd"), { recursive: true, force: true });
    }
  }
  const { proc, server } = started;
  const caFile = join(certDir, "apiserver.crt");
  const caData = await readFile(caFile, "utf8");
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml({ name, server, token, caData }), { mode: 0o600 });
  const componentKubeconfig = async (component: KubeComponent): Promise<string> => {
    const path = join(dir, `${component}.kubeconfig`);
    const yaml = kubeconfigYaml({ name, server, token: componentTokens[component], caData, user: component });
    await writeFile(path, yaml, { mode: 0o600 });
    return path;
  };
  return {
    name,
    server,
    token,
    caData,
    kubeconfig,
    caFile,
    serviceAccountKeyFile: saKey,
    process: proc,
    componentKubeconfig,
    stop: () => proc.stop(10_000),
  };
}

/** Renders a kubeconfig for one cluster and one bearer token (the user is `NAME-admin` unless named). */
export function kubeconfigYaml(c: { name: string; server: string; token: string; caData: string; user?: string }): string {
  const ca = Buffer.from(c.caData).toString("base64");
  const user = `${c.name}-${c.user ?? "admin"}`;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${c.name}`,
    "  cluster:",
    `    server: ${c.server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${c.token}`,
    "contexts:",
    `- name: ${c.name}`,
    "  context:",
    `    cluster: ${c.name}`,
    `    user: ${user}`,
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
