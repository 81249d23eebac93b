// Substitution only where asked, end to end on the lab (real NATS, Git server, kube-apiserver with
// controllers and fake nodes, hub, agent, kustomize). A cache bundle holds a ConfigMap of shell
// scripts and a Deployment with `replicas: ${replicas}`, once as a kustomize overlay and once as a
// plain folder, both opting in: the scripts reach the cluster byte for byte and spec.replicas is an
// integer. A bundle that does not opt in gets every ${...} as written; a placeholder bundle is
// allowed to be empty, and refused without allowEmpty.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";
import { skipUnlessTool } from "../lab/skip.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";

const run = promisify(execFile);
const kustomize = process.env["GITFLEET_KUSTOMIZE"];

/**
 * A start-up script as Redis HA setups write them, with only shell forms that are not gitfleet
 * references (a `${SERVICE}` would be one: see envScript).
 */
const initScript = `#!/bin/sh
set -eu
INDEX="\${HOSTNAME##*-}"
SERVICE="\${HOSTNAME%-*}"
PORT=\${REDIS_PORT-6379}
HOST=\${POD_IP:-127.0.0.1}
echo "$1 \${1} \${#INDEX} $(hostname) $((INDEX + 1)) $host $SERVICE-announce-$INDEX on $HOST:$PORT"
`;

/** Scripts that use names gitfleet would substitute; the object opts out with the annotation. */
const envScript = `#!/bin/sh
: "\${REDIS_PORT:=6379}"
exec redis-server --port "\${REDIS_PORT}" --replica-announce-ip "\${ANNOUNCE_IP}"
`;

const indent = (text: string, by: string): string =>
  text
    .split("\n")
    .map((line) => (line === "" ? line : by + line))
    .join("\n");

const scripts = `apiVersion: v1
kind: ConfigMap
metadata:
  name: cache-scripts
data:
  init.sh: |
${indent(initScript, "    ")}`;

const envScripts = `apiVersion: v1
kind: ConfigMap
metadata:
  name: cache-env
  annotations:
    gitfleet.dev/substitute: disabled
data:
  start.sh: |
${indent(envScript, "    ")}`;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: cache
spec:
  replicas: \${replicas}
  selector:
    matchLabels: { app: cache }
  template:
    metadata:
      labels: { app: cache }
    spec:
      containers:
        - name: cache
          image: registry.example.com/cache:\${tag:=7.2}
          env:
            - name: CACHE_TAG
              value: "\${tag:=7.2}"
`;

const fleetYaml = (options: { allowEmpty: boolean }): string => `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: cache-kustomize
    path: cache
    namespace: cache-k
    targets:
      - name: all
        clusterSelector: {}
        overlay: overlays/lab
        variables: { replicas: "2" }
  - name: cache-plain
    path: cache-plain
    namespace: cache-p
    substitute: true
  - name: legacy
    path: legacy
    namespace: legacy
  - name: later
    path: later${options.allowEmpty ? "\n    allowEmpty: true" : ""}
`;

const namespace = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;

const seedFiles: Record<string, string> = {
  "fleet.yaml": fleetYaml({ allowEmpty: true }),
  "cache/base/kustomization.yaml": "resources: [namespace.yaml, scripts.yaml, env.yaml, deployment.yaml]\n",
  "cache/base/namespace.yaml": namespace("cache-k"),
  "cache/base/scripts.yaml": scripts,
  "cache/base/env.yaml": envScripts,
  "cache/base/deployment.yaml": deployment,
  "cache/overlays/lab/kustomization.yaml": "resources: [../../base]\nlabels:\n  - pairs: { tier: cache }\n",
  "cache-plain/namespace.yaml": namespace("cache-p"),
  "cache-plain/scripts.yaml": scripts,
  "cache-plain/env.yaml": envScripts,
  // The plain folder's target sets no variables: its replicas come from the default.
  "cache-plain/deployment.yaml": deployment.replace("${replicas}", "${replicas:=3}"),
  "cache-plain/variables.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-owner\ndata:\n  owner: ${owner:=platform}\n",
  "legacy/namespace.yaml": namespace("legacy"),
  "legacy/config.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\ndata:\n  cluster: ${cluster_name}\n  escaped: $${kept}\n  script: echo "${HOSTNAME##*-}"\n',
  "later/kustomization.yaml": "# Written by the cluster bootstrap: apps are added here later.\nresources: []\n",
};

describe("substitution only where asked: shell scripts arrive untouched, replicas as an integer", { timeout: 600_000, skip: skipUnlessTool(kustomize ? false : "GITFLEET_KUSTOMIZE is not set (npm test sets it)") }, () => {
  let fleet: Fleet;
  let seed: string;
  let head: string;

  const read = async <T extends object>(kind: string, apiVersion: string, name: string, ns: string): Promise<T | undefined> =>
    await readObject<T & KubernetesObject>(kubeConfigFor(fleet.cluster("lab-1")), { apiVersion, kind, metadata: { name, namespace: ns } });
  const configMapData = async (name: string, ns: string): Promise<Record<string, string> | undefined> => (await read<{ data?: Record<string, string> }>("ConfigMap", "v1", name, ns))?.data;

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-substitution-seed-"));
    for (const [path, content] of Object.entries(seedFiles)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), content);
    }
    fleet = await startFleet({ clusters: ["lab-1"], seed });
    head = await fleet.head();
  });

  after(async () => {
    await fleet?.stop();
    await rm(seed, { recursive: true, force: true });
  });

  test("a shell-script ConfigMap reaches the cluster byte for byte, and ${replicas} an integer, through kustomize and a plain folder", async () => {
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: { region: "lab" } });
    await fleet.startAgent("lab-1", { token: token.secret, labels: { region: "lab" } });
    const status = await waitForSynced(fleet.api, "lab-1", head);
    assert.deepEqual(status.bundles?.map((b) => b.name).sort(), ["cache-kustomize", "cache-plain", "later", "legacy"]);
    for (const [ns, replicas] of [["cache-k", 2], ["cache-p", 3]] as const) {
      assert.deepEqual(await configMapData("cache-scripts", ns), { "init.sh": initScript }, `${ns}: the script, byte for byte`);
      assert.deepEqual(await configMapData("cache-env", ns), { "start.sh": envScript }, `${ns}: the opted-out object, as written`);
      const live = await read<{ spec: { replicas: unknown; template: { spec: { containers: Array<{ image: string; env: Array<{ value: unknown }> }> } } } }>("Deployment", "apps/v1", "cache", ns);
      assert.strictEqual(live?.spec.replicas, replicas, `${ns}: spec.replicas is an integer`);
      assert.equal(live?.spec.template.spec.containers[0]?.image, "registry.example.com/cache:7.2");
      assert.strictEqual(live?.spec.template.spec.containers[0]?.env[0]?.value, "7.2", `${ns}: a quoted reference stays a string`);
    }
    assert.deepEqual(await configMapData("legacy", "legacy"), { cluster: "${cluster_name}", escaped: "$${kept}", script: 'echo "${HOSTNAME##*-}"' }, "without substitution, every ${...} as written");
  });

  test("a cluster's own variable reaches both Deployments as an integer", async () => {
    const set = await runGitfleet(fleet, "cluster", "set", "lab-1", "--var", "replicas=4");
    assert.equal(set.code, 0, set.stderr);
    // The cluster's own variable overrides the target's (kustomize) and the default (plain folder).
    for (const ns of ["cache-k", "cache-p"]) {
      await waitFor(async () => (await read<{ spec: { replicas: unknown } }>("Deployment", "apps/v1", "cache", ns))?.spec.replicas === 4, {
        what: `${ns}/cache at the integer 4 replicas`,
        timeoutMs: 60_000,
      });
    }
  });

  test("render --check says which targets substitute and warns about the bundle that relied on it", async () => {
    const tree = await mkdtemp(join(tmpdir(), "gitfleet-substitution-tree-"));
    try {
      await run("git", ["clone", "--quiet", fleet.lab.info().git.url, tree]);
      const check = await runGitfleet(fleet, "render", "--repo", tree, "--check");
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /^cache-kustomize\s+all\s+cache\/overlays\/lab\s+kustomize\s+4\s+on \(variables\)\s+-$/m);
      assert.match(check.stdout, /^cache-plain\s+default\s+cache-plain\s+plain\s+5\s+on \(bundle\)\s+-$/m);
      assert.match(check.stdout, /^legacy\s+default\s+legacy\s+plain\s+2\s+off\s+-$/m);
      assert.match(check.stdout, /^later\s+default\s+later\s+kustomize\s+0\s+off\s+-$/m);
      assert.match(check.stderr, /warning: bundle legacy \(target default, overlay legacy\): fleet\.yaml:\d+: substitution is off .*data\.cluster: holds \$\{cluster_name\}.*data\.escaped: holds a \$\$\{\.\.\.\} escape.*set substitute: true on bundle legacy in fleet\.yaml/);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });

  test("without allowEmpty the placeholder is refused, naming the option; the cluster keeps its last good state", async () => {
    const sha = await fleet.commit({ "fleet.yaml": fleetYaml({ allowEmpty: false }) }, "fleet: later without allowEmpty");
    await fleet.webhook();
    const error = await waitFor(
      async () => (await fleet.api.get<ClusterStatusView>("/clusters/lab-1")).errors?.find((e) => e.bundle === "later" && e.commit === sha),
      { what: "the later bundle's error at the new commit", timeoutMs: 60_000 },
    );
    assert.match(error.message, /renders no objects.*set allowEmpty: true on the bundle in fleet\.yaml/);
    assert.deepEqual(await configMapData("cache-scripts", "cache-k"), { "init.sh": initScript }, "other bundles are untouched");
  });
});
