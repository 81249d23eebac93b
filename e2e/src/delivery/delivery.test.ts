// The hub's delivery part on the real lab: a Git smart-HTTP server with a seeded fleet repository
// and a real nats-server. Desired state is read back the way an agent reads it: the pointer
// first, then the chunks it names, decoded and verified.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  DesiredStateSchema,
  decodeBundlePayload,
  fromBinary,
  generateDesiredSigningKey,
  type BundlePayload,
  type DesiredState,
} from "@gitfleet/proto";
import { activeKeySigner, createDelivery, pointerKey, type ClusterRef, type Delivery } from "@gitfleet/hub/delivery";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { pino, type Logger } from "pino";
import { ensureBinary } from "../lab/binaries.js";
import { startGitServer, type GitServer } from "../lab/git-server.js";
import { isolatedGitEnv } from "../lab/git-server-repos.js";
import { startNats, type NatsLab } from "../lab/nats.js";
import { waitFor } from "../lab/process.js";

// Pointers are signed; this story reads them without checking the signature.
const signingKey = generateDesiredSigningKey();
const signer = activeKeySigner(() => signingKey);

const execFileAsync = promisify(execFile);

const fleetYaml = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: base
    path: base
  - name: web
    path: apps/web
    namespace: web
    clusterSelector:
      matchLabels: { env: prod }
    ignore:
      - /spec/replicas
      - { path: /data/greeting, kind: ConfigMap, name: web }
`;

const seed: Record<string, string> = {
  "fleet.yaml": fleetYaml,
  "base/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
  "base/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  color: blue\n",
  "apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: hello\n",
};

/** A decoded snapshot of one cluster's key space, as its agent would see it. */
interface ClusterState {
  /** KV revision of the pointer entry. */
  revision: number;
  pointer: DesiredState;
  payloads: Map<string, BundlePayload>;
}

async function readState(kv: KV, clusterId: string): Promise<ClusterState | undefined> {
  const entry = await kv.get(pointerKey(clusterId));
  if (entry === null || entry.operation !== "PUT") return undefined;
  const pointer = fromBinary(DesiredStateSchema, entry.value);
  const payloads = new Map<string, BundlePayload>();
  for (const ref of pointer.bundles) {
    const chunks: Array<Uint8Array | undefined> = [];
    for (let i = 0; i < ref.chunks; i++) {
      chunks.push((await kv.get(`${clusterId}.bundles.${ref.name}.${ref.digest}.${i}`))?.value);
    }
    payloads.set(ref.name, await decodeBundlePayload({ digest: ref.digest, size: ref.size, chunkCount: ref.chunks, chunks }));
  }
  return { revision: entry.revision, pointer, payloads };
}

function objectsOf(payload: BundlePayload | undefined): unknown[] {
  return (payload?.objects ?? []).map((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown);
}

function refOf(state: ClusterState | undefined, bundle: string): { digest: string; revision: string } | undefined {
  const ref = state?.pointer.bundles.find((b) => b.name === bundle);
  return ref && { digest: ref.digest, revision: ref.revision };
}

void describe("hub delivery on a real Git server and NATS", { timeout: 300_000 }, () => {
  let temp: string;
  let git: GitServer;
  let nats: NatsLab;
  let nc: NatsConnection;
  let agentView: KV;
  let logger: Logger;
  let delivery: Delivery;
  let work: string;
  const clusters: ClusterRef[] = [
    { id: "cprod", name: "prod-eu", labels: { env: "prod" } },
    { id: "cdev", name: "dev-eu", labels: { env: "dev" } },
  ];

  /** Writes (or, for null, deletes) files in the work clone, commits and pushes; returns the sha. */
  async function push(files: Record<string, string | null>, message: string): Promise<string> {
    const env = isolatedGitEnv({
      GIT_AUTHOR_NAME: "Test Operator",
      GIT_AUTHOR_EMAIL: "operator@gitfleet.invalid",
      GIT_COMMITTER_NAME: "Test Operator",
      GIT_COMMITTER_EMAIL: "operator@gitfleet.invalid",
      GIT_TERMINAL_PROMPT: "0",
    });
    const gitCli = async (...args: string[]): Promise<string> => (await execFileAsync("git", args, { cwd: work, env })).stdout.trim();
    for (const [path, content] of Object.entries(files)) {
      if (content === null) {
        await gitCli("rm", "--quiet", path);
      } else {
        await mkdir(dirname(join(work, path)), { recursive: true });
        await writeFile(join(work, path), content);
        await gitCli("add", path);
      }
    }
    await gitCli("commit", "--quiet", "-m", message);
    await gitCli("push", "--quiet", "origin", "main");
    return gitCli("rev-parse", "HEAD");
  }

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-delivery-e2e-"));
    const seedDir = join(temp, "seed");
    for (const [path, content] of Object.entries(seed)) {
      await mkdir(dirname(join(seedDir, path)), { recursive: true });
      await writeFile(join(seedDir, path), content);
    }
    git = await startGitServer({ dir: join(temp, "git"), seeds: { fleet: seedDir } });
    const natsDir = join(temp, "nats");
    await mkdir(natsDir);
    nats = await startNats({ binary: await ensureBinary("nats-server"), dir: natsDir });
    nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(await readFile(nats.adminCredsPath)) });
    work = join(temp, "work");
    await execFileAsync("git", ["clone", "--quiet", git.url("fleet"), work], { env: isolatedGitEnv({ GIT_TERMINAL_PROMPT: "0" }) });
    logger = pino({ level: "debug" }, pino.destination({ dest: join(temp, "hub.log"), sync: true }));
    delivery = createDelivery({
      // Credentials in the URL: the source must use them for auth and keep them out of SourceRef.
      source: { url: git.url("fleet"), branch: "main", pollIntervalMs: 3_600_000, dir: join(temp, "source") },
      nats: nc,
      clusters: { list: () => clusters },
      logger,
      signer,
      // Tiny chunks, so that every payload spans several keys.
      maxChunkBytes: 128,
    });
  });

  after(async () => {
    await delivery?.stop();
    await nc?.close();
    await nats?.stop();
    await git?.stop();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  void test("publishes each cluster's pointer and chunks for the seeded commit", async () => {
    await delivery.triggerFetch();
    const status = delivery.current();
    assert.equal(status.error, undefined, `delivery error: ${status.error ?? ""}`);
    const head = (await execFileAsync("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
    assert.equal(status.commit, head);
    assert.equal(status.resolvedCommit, head);

    // The agent's way in: a direct get, which only works when the bucket allows it.
    agentView = await new Kvm(nc).open("gitfleet_desired", { allow_direct: true });
    const info = await (await new Kvm(nc).open("gitfleet_desired")).status();
    assert.equal(info.streamInfo.config.allow_direct, true);
    assert.equal(info.streamInfo.config.storage, "file");

    const prod = await readState(agentView, "cprod");
    assert.ok(prod, "cprod has a pointer");
    assert.equal(prod.pointer.revision, head);
    assert.equal(prod.pointer.generation, 1n);
    assert.deepEqual({ ...prod.pointer.source, $typeName: undefined }, { $typeName: undefined, repository: git.plainUrl("fleet"), branch: "main", commit: head });
    assert.deepEqual(prod.pointer.bundles.map((b) => [b.name, b.revision]), [["base", head], ["web", head]]);
    assert.ok(prod.pointer.bundles.every((b) => b.chunks > 1), "payloads span several 128-byte chunks");
    assert.deepEqual(objectsOf(prod.payloads.get("web")), [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" }, data: { greeting: "hello" } },
    ]);
    // Every rule in ignore_rules, the unscoped ones also in ignore for agents that read only that.
    assert.deepEqual(prod.payloads.get("web")?.policy?.ignore, ["/spec/replicas"]);
    assert.deepEqual(
      prod.payloads.get("web")?.policy?.ignoreRules.map(({ path, group, kind, namespace, name }) => ({ path, group, kind, namespace, name })),
      [
        { path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" },
        { path: "/data/greeting", group: "", kind: "ConfigMap", namespace: "", name: "web" },
      ],
    );
    assert.deepEqual(objectsOf(prod.payloads.get("base")), [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "default" }, data: { color: "blue" } },
    ]);

    const dev = await readState(agentView, "cdev");
    assert.ok(dev, "cdev has a pointer");
    assert.deepEqual(dev.pointer.bundles.map((b) => b.name), ["base"]);
    assert.equal(refOf(dev, "base")?.digest, refOf(prod, "base")?.digest, "the same render gives the same digest everywhere");
  });

  void test("a commit that changes one bundle republishes only the clusters that get it", async () => {
    const before = { prod: await readState(agentView, "cprod"), dev: await readState(agentView, "cdev") };
    const oldWeb = refOf(before.prod, "web");
    const commit = await push({ "apps/web/config.yaml": seed["apps/web/config.yaml"]!.replace("hello", "bonjour") }, "web: say bonjour");
    await delivery.triggerFetch();
    assert.equal(delivery.current().commit, commit);

    const prod = await readState(agentView, "cprod");
    assert.equal(prod?.pointer.generation, 2n);
    assert.equal(prod?.pointer.revision, commit);
    assert.notEqual(refOf(prod, "web")?.digest, oldWeb?.digest);
    assert.equal(refOf(prod, "web")?.revision, commit);
    assert.deepEqual(refOf(prod, "base"), refOf(before.prod, "base"), "base did not change: same digest, same revision");
    assert.deepEqual(objectsOf(prod?.payloads.get("web")), [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" }, data: { greeting: "bonjour" } },
    ]);

    const dev = await readState(agentView, "cdev");
    assert.equal(dev?.revision, before.dev?.revision, "cdev's pointer was not written again");
    assert.equal(dev?.pointer.generation, 1n);

    // The superseded payload's chunks are gone once the new pointer is in place.
    await waitFor(async () => (await agentView.get(`cprod.bundles.web.${oldWeb?.digest ?? ""}.0`)) === null, {
      what: "the old web chunks of cprod to be removed",
      timeoutMs: 5_000,
    });
  });

  void test("a broken bundle keeps its last good payload while other bundles move on", async () => {
    const before = await readState(agentView, "cprod");
    const commit = await push(
      {
        "apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: [oops\n",
        "base/settings.yaml": seed["base/settings.yaml"]!.replace("blue", "green"),
      },
      "break web, recolour base",
    );
    await delivery.triggerFetch();

    const errors = delivery.errorsFor("cprod");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.bundle, "web");
    assert.equal(errors[0]?.commit, commit);
    assert.equal(errors[0]?.file, "apps/web/config.yaml");
    assert.match(errors[0]?.message ?? "", /^apps\/web\/config\.yaml:\d+ \(document 1\): invalid YAML/);
    assert.deepEqual(delivery.errorsFor("cdev"), []);

    const prod = await readState(agentView, "cprod");
    assert.equal(prod?.pointer.generation, 3n);
    assert.deepEqual(refOf(prod, "web"), refOf(before, "web"), "web keeps its last good ref");
    assert.equal(refOf(prod, "base")?.revision, commit);
    assert.deepEqual(objectsOf(prod?.payloads.get("web")), objectsOf(before?.payloads.get("web")));
    const dev = await readState(agentView, "cdev");
    assert.equal(dev?.pointer.generation, 2n, "cdev gets the new base");

    await push({ "apps/web/config.yaml": seed["apps/web/config.yaml"]! }, "fix web");
    await delivery.triggerFetch();
    assert.deepEqual(delivery.errorsFor("cprod"), []);
  });

  void test("a broken fleet.yaml publishes nothing, and a new cluster still gets the last good state", async () => {
    const lastGood = delivery.current().resolvedCommit;
    const before = { prod: await readState(agentView, "cprod"), dev: await readState(agentView, "cdev") };
    await push({ "fleet.yaml": fleetYaml.replace("    path: apps/web\n", "    path: apps/web\n    drift: fix\n") }, "typo in fleet.yaml");
    await delivery.triggerFetch();

    const status = delivery.current();
    assert.match(status.error ?? "", /^fleet\.yaml:8: bundles\[1\]\.drift: must be one of correct, report; got fix/);
    assert.equal(status.resolvedCommit, lastGood);
    assert.equal((await readState(agentView, "cprod"))?.revision, before.prod?.revision);
    assert.equal((await readState(agentView, "cdev"))?.revision, before.dev?.revision);

    clusters.push({ id: "cnew", name: "prod-us", labels: { env: "prod" } });
    await delivery.clustersChanged();
    const added = await readState(agentView, "cnew");
    assert.equal(added?.pointer.revision, lastGood);
    assert.deepEqual(added?.pointer.bundles.map((b) => b.name), ["base", "web"]);
    assert.match(delivery.current().error ?? "", /fleet\.yaml:8/, "the broken head is still reported");
  });

  void test("purge removes every key of a cluster", async () => {
    await delivery.purge("cnew");
    clusters.pop();
    assert.equal(await readState(agentView, "cnew"), undefined);
    const left = [];
    for await (const key of await agentView.keys("cnew.>")) left.push(key);
    assert.deepEqual(left, []);
  });

  void test("the poll loop picks up a push without a trigger", async () => {
    const polling = createDelivery({
      source: { url: git.url("fleet"), pollIntervalMs: 200 },
      nats: nc,
      clusters: { list: () => clusters },
      logger,
      signer,
      bucket: "gitfleet_desired_poll",
    });
    try {
      await polling.start();
      const commit = await push({ "fleet.yaml": fleetYaml }, "fix fleet.yaml");
      const kv = await new Kvm(nc).open("gitfleet_desired_poll", { allow_direct: true });
      await waitFor(async () => (await readState(kv, "cprod"))?.pointer.revision === commit, {
        what: `the poll loop to publish ${commit} for cprod`,
        timeoutMs: 20_000,
      });
      assert.equal(polling.current().error, undefined);
    } finally {
      await polling.stop();
    }
  });
});
