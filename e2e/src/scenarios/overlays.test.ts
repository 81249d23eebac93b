// One app, two regions, two overlays: the eu clusters get a kustomize overlay of the app's base,
// the us cluster a plain folder, each with its clusters' variables filled in (the eu target opts
// in to substitution by declaring variables, the us target with substitute: true). A commit that
// touches one overlay republishes only that overlay's clusters; a broken overlay fails only its
// own clusters, which keep their last good state; `gitfleet render` prints exactly what an agent
// received. End to end on the lab: real NATS, Git server, kube-apiservers, hub, agents, kustomize.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { DesiredStateSchema, decodeBundlePayload, fromBinary, type DesiredState } from "@gitfleet/proto";
import { chunkKey, pointerKey } from "@gitfleet/hub/delivery";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";
import { skipUnlessTool } from "../lab/skip.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";

const run = promisify(execFile);
const kustomize = process.env["GITFLEET_KUSTOMIZE"];

const configMap = (data: Record<string, string>): string =>
  ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: web-config", "data:", ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`), ""].join("\n");
const namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n";

/** The fleet repository: the eu overlay is a kustomization over the base, the us one a plain folder. */
const seedFiles: Record<string, string> = {
  "fleet.yaml": `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    namespace: web
    targets:
      - name: eu
        clusterSelector:
          matchLabels: { region: eu }
        overlay: overlays/eu
        variables: { tier: gold }
      - name: us
        clusterSelector:
          matchExpressions:
            - { key: region, operator: In, values: [us] }
        overlay: overlays/us
        substitute: true
`,
  "apps/web/base/kustomization.yaml": "resources:\n  - namespace.yaml\n  - config.yaml\n",
  "apps/web/base/namespace.yaml": namespace,
  "apps/web/base/config.yaml": configMap({ region: "base", cluster: "${cluster_name}", tier: "${tier:=standard}", owner: "${owner:=nobody}", note: "$${literal}" }),
  "apps/web/overlays/eu/kustomization.yaml": [
    "resources:",
    "  - ../../base",
    "patches:",
    "  - patch: |-",
    "      apiVersion: v1",
    "      kind: ConfigMap",
    "      metadata:",
    "        name: web-config",
    "      data:",
    "        region: eu",
    "",
  ].join("\n"),
  "apps/web/overlays/us/namespace.yaml": namespace,
  "apps/web/overlays/us/config.yaml": configMap({ region: "us", cluster: "${cluster_name}", color: "blue" }),
};

const regions: Record<string, string> = { "eu-1": "eu", "eu-2": "eu", "us-1": "us" };

/** One cluster's desired state as its agent reads it: the pointer and each bundle's objects. */
interface Received {
  pointer: DesiredState;
  objects: Map<string, unknown[]>;
}

describe("two regions get different overlays of one app", { timeout: 600_000, skip: skipUnlessTool(kustomize ? false : "GITFLEET_KUSTOMIZE is not set (npm test sets it)") }, () => {
  let fleet: Fleet;
  let seed: string;
  let nc: NatsConnection;
  let desired: KV;
  let head: string;
  const ids = new Map<string, string>();

  const data = async (cluster: string) =>
    (await readObject<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(kubeConfigFor(fleet.cluster(cluster)), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-config", namespace: "web" } }))?.data;

  const received = async (cluster: string): Promise<Received> => {
    const id = ids.get(cluster) ?? "";
    const entry = await desired.get(pointerKey(id));
    assert.ok(entry && entry.operation === "PUT", `${cluster} has a desired state`);
    const pointer = fromBinary(DesiredStateSchema, entry.value);
    const objects = new Map<string, unknown[]>();
    for (const ref of pointer.bundles) {
      const chunks: Array<Uint8Array | undefined> = [];
      for (let i = 0; i < ref.chunks; i++) chunks.push((await desired.get(chunkKey(id, ref.name, ref.digest, i)))?.value);
      const payload = await decodeBundlePayload({ digest: ref.digest, size: ref.size, chunkCount: ref.chunks, chunks });
      objects.set(ref.name, payload.objects.map((bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown));
    }
    return { pointer, objects };
  };
  const generations = async (): Promise<Record<string, bigint>> =>
    Object.fromEntries(await Promise.all(Object.keys(regions).map(async (c) => [c, (await received(c)).pointer.generation] as const)));

  /** The hub's log lines about `commit`, once it logged that the commit is resolved and published. */
  const hubLogFor = async (commit: string): Promise<Array<Record<string, unknown>>> =>
    await waitFor(
      async () => {
        const lines = (await readFile(join(fleet.lab.dir, "hub.log"), "utf8").catch(() => ""))
          .split("\n")
          .filter((line) => line.includes(commit))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        return lines.some((l) => l["msg"] === "resolved") ? lines : undefined;
      },
      { what: `the hub to resolve and publish ${commit.slice(0, 12)}`, timeoutMs: 60_000 },
    );
  const publishedTo = (lines: ReadonlyArray<Record<string, unknown>>): string[] =>
    lines.filter((l) => l["msg"] === "desired state published").map((l) => [...ids].find(([, id]) => id === l["cluster"])?.[0] ?? String(l["cluster"])).sort();


  /** A working tree of the fleet repository at its head. */
  const checkout = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), "gitfleet-render-"));
    await run("git", ["clone", "--quiet", fleet.lab.info().git.url, dir]);
    return dir;
  };

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-overlays-seed-"));
    for (const [path, content] of Object.entries(seedFiles)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), content);
    }
    fleet = await startFleet({ clusters: Object.keys(regions), seed });
    head = await fleet.head();
    const info = fleet.lab.info();
    nc = await connect({ servers: info.nats.url, authenticator: credsAuthenticator(await readFile(fleet.lab.nats.adminCredsPath)) });
    desired = await new Kvm(nc).open("gitfleet_desired", { allow_direct: true });
  });

  after(async () => {
    await nc?.close();
    await fleet?.stop();
    await rm(seed, { recursive: true, force: true });
  });

  test("each region's clusters get their overlay, with cluster name, target and default variables filled in", async () => {
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 3, allowedLabels: { region: ["*"] } });
    for (const [name, region] of Object.entries(regions)) await fleet.startAgent(name, { token: token.secret, labels: { region } });
    for (const name of Object.keys(regions)) {
      const status = await waitForSynced(fleet.api, name, head);
      ids.set(name, status.id);
    }
    assert.deepEqual(await data("eu-1"), { region: "eu", cluster: "eu-1", tier: "gold", owner: "nobody", note: "${literal}" });
    assert.deepEqual(await data("eu-2"), { region: "eu", cluster: "eu-2", tier: "gold", owner: "nobody", note: "${literal}" });
    assert.deepEqual(await data("us-1"), { region: "us", cluster: "us-1", color: "blue" });
    const bundle = await fleet.api.get<{ targets: Array<{ name: string; clusters: string[] }>; states: Record<string, number> }>("/bundles/web");
    assert.deepEqual(bundle.targets.map((t) => [t.name, t.clusters]), [["eu", ["eu-1", "eu-2"]], ["us", ["us-1"]]]);
    assert.deepEqual(bundle.states, { synced: 3 });
  });

  test("a commit that changes one overlay republishes only that overlay's clusters", async () => {
    const before = await generations();
    const sha = await fleet.commit({ "apps/web/overlays/us/config.yaml": configMap({ region: "us", cluster: "${cluster_name}", color: "green" }) }, "web: us turns green");
    await fleet.webhook();
    await waitForSynced(fleet.api, "us-1", sha);
    assert.deepEqual(publishedTo(await hubLogFor(sha)), ["us-1"], "the hub published to the us cluster only");
    assert.deepEqual(await generations(), { ...before, "us-1": (before["us-1"] ?? 0n) + 1n });
    assert.equal((await data("us-1"))?.["color"], "green");
    // A change to the base reaches the eu overlay through kustomize, and only it.
    const next = await fleet.commit(
      { "apps/web/base/config.yaml": configMap({ region: "base", cluster: "${cluster_name}", tier: "${tier:=standard}", owner: "${owner:=nobody}", note: "$${literal}", size: "l" }) },
      "web: base gets a size",
    );
    await fleet.webhook();
    for (const name of ["eu-1", "eu-2"]) await waitForSynced(fleet.api, name, next);
    assert.deepEqual(publishedTo(await hubLogFor(next)), ["eu-1", "eu-2"]);
    assert.equal((await data("eu-2"))?.["size"], "l");
    head = next;
  });

  test("a cluster variable set with gitfleet cluster set reaches that cluster only", async () => {
    const before = await generations();
    const set = await runGitfleet(fleet, "cluster", "set", "eu-2", "--var", "owner=team-x");
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /variables:\s+owner=team-x/);
    await waitFor(async () => (await data("eu-2"))?.["owner"] === "team-x", { what: "owner=team-x in eu-2", timeoutMs: 60_000 });
    const after = await generations();
    assert.equal(after["eu-2"], (before["eu-2"] ?? 0n) + 1n);
    assert.deepEqual({ ...after, "eu-2": 0n }, { ...before, "eu-2": 0n }, "other clusters are not republished");
  });

  test("gitfleet render prints exactly what the agents received", async () => {
    const tree = await checkout();
    try {
      for (const [name, extra] of [["eu-2", ["--var", "owner=team-x"]], ["us-1", []]] as const) {
        const out = await runGitfleet(fleet, "render", "--repo", tree, "--cluster", name, "--labels", `region=${regions[name]}`, ...extra, "-o", "json");
        assert.equal(out.code, 0, out.stderr);
        const rendered = JSON.parse(out.stdout) as { bundles: Array<{ name: string; digest: string; objects: unknown[] }> };
        const agent = await received(name);
        assert.deepEqual(rendered.bundles.map((b) => [b.name, b.digest]), agent.pointer.bundles.map((b) => [b.name, b.digest]), `${name}: same bundles and digests`);
        for (const bundle of rendered.bundles) assert.deepEqual(bundle.objects, agent.objects.get(bundle.name), `${name}: same objects in ${bundle.name}`);
      }
      const yaml = await runGitfleet(fleet, "render", "--repo", tree, "--cluster", "us-1", "--labels", "region=us");
      assert.match(yaml.stdout, /^# bundle web, target us, overlay apps\/web\/overlays\/us, digest [0-9a-f]{64}\n---\napiVersion: v1\nkind: ConfigMap\n/);
      assert.match(yaml.stdout, /\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n {2}name: web\n/);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });

  test("a broken overlay fails only its clusters, which keep their last good state; the error shows in cluster and bundle status", async () => {
    const before = await generations();
    const lastGood = await data("eu-1");
    const sha = await fleet.commit(
      {
        "apps/web/overlays/eu/kustomization.yaml": "resources:\n  - ../../base\n  - missing.yaml\n",
        "apps/web/overlays/us/config.yaml": configMap({ region: "us", cluster: "${cluster_name}", color: "red" }),
      },
      "web: break eu, us turns red",
    );
    await fleet.webhook();
    await waitForSynced(fleet.api, "us-1", sha);
    assert.equal((await data("us-1"))?.["color"], "red", "the other target of the same bundle moves on");
    for (const name of ["eu-1", "eu-2"]) {
      const status = await fleet.api.get<ClusterStatusView>(`/clusters/${name}`);
      const error = status.errors?.find((e) => e.bundle === "web");
      assert.equal(error?.target, "eu");
      assert.equal(error?.path, "apps/web/overlays/eu");
      assert.equal(error?.commit, sha);
      assert.match(error?.message ?? "", /missing\.yaml/);
    }
    const bundle = await fleet.api.get<{ commit: string; clusters: Array<{ name: string; state: string; errors: Array<{ message: string }> }> }>("/bundles/web");
    assert.equal(bundle.commit, sha);
    assert.deepEqual(bundle.clusters.map((c) => [c.name, c.state]), [["eu-1", "error"], ["eu-2", "error"], ["us-1", "synced"]]);
    const after = await generations();
    assert.deepEqual([after["eu-1"], after["eu-2"]], [before["eu-1"], before["eu-2"]], "the eu clusters keep their last good desired state");
    assert.deepEqual(await data("eu-1"), lastGood);

    // Offline render fails the same way, with the hub's message.
    const tree = await checkout();
    try {
      const out = await runGitfleet(fleet, "render", "--repo", tree, "--cluster", "eu-1", "--labels", "region=eu");
      assert.equal(out.code, 1);
      assert.equal(out.stdout, "");
      const hubError = (await fleet.api.get<ClusterStatusView>("/clusters/eu-1")).errors?.[0]?.message ?? "";
      assert.ok(out.stderr.includes(hubError), `render says ${JSON.stringify(out.stderr)}, the hub ${JSON.stringify(hubError)}`);
      const check = await runGitfleet(fleet, "render", "--repo", tree, "--check");
      assert.equal(check.code, 1);
      assert.match(check.stdout, /^web\s+eu\s+apps\/web\/overlays\/eu\s+kustomize\s+error\s+on \(variables\)/m);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }

    // The fix renders what the eu clusters already have: the error goes, and nothing is published.
    head = await fleet.commit({ "apps/web/overlays/eu/kustomization.yaml": seedFiles["apps/web/overlays/eu/kustomization.yaml"] ?? "" }, "web: fix eu");
    await fleet.webhook();
    assert.deepEqual(publishedTo(await hubLogFor(head)), []);
    for (const name of ["eu-1", "eu-2"]) assert.deepEqual((await fleet.api.get<ClusterStatusView>(`/clusters/${name}`)).errors, []);
    assert.deepEqual((await generations())["eu-1"], before["eu-1"]);
  });
});
