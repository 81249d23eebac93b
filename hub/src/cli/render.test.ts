import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseSettings, runCli } from "./main.js";
import type { RenderedBundleView } from "./render.js";

const fleetYaml = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: platform
    path: platform
  - name: web
    path: apps/web
    namespace: web
    targets:
      - name: eu
        clusterSelector: { matchLabels: { region: eu } }
        overlay: eu
        variables: { replicas: "3" }
      - name: us
        clusterSelector: { matchLabels: { region: us } }
        overlay: us
        substitute: true
`;

const files: Record<string, string> = {
  "fleet.yaml": fleetYaml,
  "platform/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
  "apps/web/eu/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  cluster: ${cluster_name}\n  replicas: "${replicas}"\n  owner: ${owner}\n  enabled: "yes"\n',
  "apps/web/us/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  region: ${cluster_label_region}\n",
  ".git/HEAD": "ref: refs/heads/main\n",
};

/** Runs the CLI and returns its exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spy = mock.method(console, "error", (line: string) => err.push(line));
  try {
    const code = await runCli(args, (line) => out.push(line));
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    spy.mock.restore();
  }
}

void describe("gitfleet render", () => {
  let repo: string;

  before(async () => {
    repo = await mkdtemp(join(tmpdir(), "gitfleet-render-"));
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(repo, path)), { recursive: true });
      await writeFile(join(repo, path), content);
    }
  });

  after(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  void test("prints what a cluster receives as multi-document YAML, variables filled in, without a hub or token", async () => {
    const { code, out, err } = await cli("render", "--repo", repo, "--cluster", "eu-1", "--labels", "region=eu", "--var", "owner=team-a");
    assert.equal(code, 0, err);
    const docs = parseAllDocuments(out, { version: "1.1" }).map((d) => d.toJS() as { kind: string; data?: Record<string, unknown> });
    assert.deepEqual(docs.map((d) => d.kind), ["Namespace", "ConfigMap"]);
    assert.deepEqual(docs[1]?.data, { cluster: "eu-1", replicas: "3", owner: "team-a", enabled: "yes" }, "strings stay strings, also for YAML 1.1 readers");
    assert.match(out, /^# bundle platform, target default, overlay platform, digest [0-9a-f]{64}$/m);
    assert.match(out, /^# bundle web, target eu, overlay apps\/web\/eu, digest [0-9a-f]{64}$/m);
  });

  void test("-o json gives each bundle with its target, digest, policy and objects; --bundle picks one", async () => {
    const { code, out } = await cli("render", "--repo", repo, "--cluster", "us-1", "--labels", "region=us", "--bundle", "web", "-o", "json");
    assert.equal(code, 0);
    const parsed = JSON.parse(out) as { cluster: string; commit: string; bundles: RenderedBundleView[] };
    assert.equal(parsed.cluster, "us-1");
    assert.equal(parsed.commit, "working-tree");
    assert.deepEqual(parsed.bundles.map((b) => [b.name, b.target, b.overlay]), [["web", "us", "apps/web/us"]]);
    assert.deepEqual(parsed.bundles[0]?.policy, { drift: "correct", ignore: [], prune: true, namespace: "web" });
    assert.deepEqual(parsed.bundles[0]?.objects, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "web" }, data: { region: "us" } }]);
  });

  void test("fails with the hub's message and prints nothing when a bundle fails for the cluster", async () => {
    const { code, out, err } = await cli("render", "--repo", repo, "--cluster", "eu-1", "--labels", "region=eu");
    assert.equal(code, 1);
    assert.equal(out, "");
    assert.match(err, /^gitfleet: bundle web \(target eu, overlay apps\/web\/eu\): ConfigMap web \(apps\/web\/eu\/cm\.yaml:1 \(document 1\)\): data\.owner: variable owner is not defined/);
  });

  void test("names a bundle that is not there or does not target the cluster, and refuses bad flags", async () => {
    assert.match((await cli("render", "--repo", repo, "--cluster", "x", "--bundle", "api")).err, /bundle api is not in fleet\.yaml/);
    assert.match((await cli("render", "--repo", repo, "--cluster", "x", "--labels", "region=ap", "--bundle", "web")).err, /bundle web has no target that matches cluster x \(labels region=ap\)/);
    assert.equal((await cli("render", "--repo", repo)).code, 2);
    assert.match((await cli("render", "--repo", repo, "--cluster", "Bad_Name")).err, /--cluster: "Bad_Name" must consist of lowercase/);
    assert.match((await cli("render", "--repo", repo, "--cluster", "x", "--var", "cluster_name=y")).err, /--var: variable name "cluster_name" is reserved/);
    assert.match((await cli("render", "--repo", repo, "--cluster", "x", "-o", "table")).err, /--output must be yaml or json for render/);
    assert.equal((await cli("render", "--repo", join(repo, "missing"), "--cluster", "x")).code, 1);
  });

  void test("--check renders every target once, says whether it substitutes and why, and lists what clusters must set", async () => {
    const { code, out, err } = await cli("render", "--repo", repo, "--check");
    assert.equal(code, 0, err);
    assert.equal(err, "");
    assert.match(out, /^BUNDLE\s+TARGET\s+OVERLAY\s+RENDERER\s+OBJECTS\s+SUBSTITUTE\s+CLUSTERS MUST SET$/m);
    assert.match(out, /^platform\s+default\s+platform\s+plain\s+1\s+off\s+-$/m);
    assert.match(out, /^web\s+eu\s+apps\/web\/eu\s+plain\s+1\s+on \(variables\)\s+owner$/m);
    assert.match(out, /^web\s+us\s+apps\/web\/us\s+plain\s+1\s+on \(target\)\s+cluster_label_region$/m);
    const json = JSON.parse((await cli("render", "--repo", repo, "--check", "-o", "json")).out) as { ok: boolean; targets: Array<{ substitution: unknown; warnings: unknown }> };
    assert.equal(json.ok, true);
    assert.equal(json.targets.length, 3);
    assert.deepEqual(json.targets[2]?.substitution, { on: true, by: "target" });
  });

  void test("--check warns, without failing, where a target without substitution holds references written for it", async () => {
    await writeFile(join(repo, "fleet.yaml"), fleetYaml.replace("        substitute: true\n", ""));
    try {
      const { code, out, err } = await cli("render", "--repo", repo, "--check");
      assert.equal(code, 0, err);
      assert.match(out, /^web\s+us\s+apps\/web\/us\s+plain\s+1\s+off\s+-$/m);
      assert.match(err, /^gitfleet: warning: bundle web \(target us, overlay apps\/web\/us\): fleet\.yaml:14: substitution is off for this target, so these reach its clusters as written: ConfigMap web \(apps\/web\/us\/cm\.yaml:1 \(document 1\)\): data\.region: holds \$\{cluster_label_region\}\. Substitution is opt-in: set substitute: true on target us/m);
    } finally {
      await writeFile(join(repo, "fleet.yaml"), fleetYaml);
    }
  });

  void test("--check fails on a broken overlay and on an invalid fleet.yaml, naming them", async () => {
    await writeFile(join(repo, "apps/web/us/dup.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
    const broken = await cli("render", "--repo", repo, "--check");
    assert.equal(broken.code, 1);
    assert.match(broken.err, /bundle web \(target us, overlay apps\/web\/us\): ConfigMap web\/web is defined twice/);
    await rm(join(repo, "apps/web/us/dup.yaml"));
    await writeFile(join(repo, "fleet.yaml"), fleetYaml.replace("overlay: us", "overlay: ../api"));
    const invalid = await cli("render", "--repo", repo, "--check");
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /fleet\.yaml:16: bundles\[1\]\.targets\[1\]\.overlay: "\.\.\/api" must be a folder inside the bundle's path apps\/web/);
    await writeFile(join(repo, "fleet.yaml"), fleetYaml);
  });
});

void describe("gitfleet cluster set flags", () => {
  void test("k=v sets, k- removes, anything else is refused", () => {
    assert.deepEqual(parseSettings(["a=1", "b=x=y", "c-", "d="], "--var"), { a: "1", b: "x=y", c: null, d: "" });
    assert.throws(() => parseSettings(["nope"], "--label"), /--label: "nope" is not key=value \(or key- to remove it\)/);
  });
});
