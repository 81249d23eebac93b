// Attack: a bundle that overwrites the agent itself. Whoever can commit to the fleet repository
// could ship a bundle holding the agent's identity Secret (and so take over its credentials) or
// one of its inventories (and so make the agent prune whatever it lists). End to end on the lab
// (NATS, Git server, kube-apiserver, hub, agent): such a bundle is refused before anything of it
// is applied, the agent's objects are unchanged, the bundle's status in the hub names the object,
// and the cluster's other bundles stay synced.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";
import { skipUnlessTool } from "../lab/skip.js";

const apiserver = process.env["GITFLEET_KUBE_APISERVER_BIN"];
const agentNamespace = "gitfleet-system";

const fleetYaml = (extra: string[]): string =>
  ["apiVersion: gitfleet.dev/v1", "kind: Fleet", "bundles:", "  - name: app", "    path: app", ...extra.map((b) => `  - name: ${b}\n    path: ${b}`), ""].join("\n");

const seedFiles: Record<string, string> = {
  "fleet.yaml": fleetYaml([]),
  "app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n",
  "app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\ndata:\n  greeting: hello\n",
};

type Secret = KubernetesObject & { data?: Record<string, string> };
type ConfigMap = KubernetesObject & { data?: Record<string, string> };

describe("a bundle cannot overwrite the agent itself", { timeout: 600_000, skip: skipUnlessTool(apiserver ? false : "GITFLEET_KUBE_APISERVER_BIN is not set (npm test sets it)") }, () => {
  let fleet: Fleet;
  let seed: string;

  const read = async <T extends KubernetesObject>(kind: string, name: string, namespace: string): Promise<T | undefined> =>
    await readObject<T>(kubeConfigFor(fleet.cluster("lab-1")), { apiVersion: "v1", kind, metadata: { name, namespace } });
  /** Waits until the hub shows `bundle` on lab-1 at `revision`, and returns its status. */
  const bundleStatus = async (bundle: string, revision: string): Promise<NonNullable<ClusterStatusView["bundles"]>[number]> => {
    await fleet.webhook();
    return await waitFor(
      async () => {
        const cluster = await fleet.api.get<ClusterStatusView>("/clusters/lab-1");
        return cluster.observedRevision === revision ? cluster.bundles?.find((b) => b.name === bundle && b.sync === "failed") : undefined;
      },
      { what: `bundle ${bundle} reported failed at ${revision.slice(0, 12)}`, timeoutMs: 90_000 },
    );
  };

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-self-guard-seed-"));
    for (const [path, content] of Object.entries(seedFiles)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), content);
    }
    fleet = await startFleet({ clusters: ["lab-1"], seed });
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1 });
    await fleet.startAgent("lab-1", { token: token.secret });
    await waitForSynced(fleet.api, "lab-1", await fleet.head());
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("a bundle holding the agent's identity Secret with other data is refused; the Secret is unchanged and the status names it", async () => {
    const identityBefore = await read<Secret>("Secret", "gitfleet-agent-identity", agentNamespace);
    assert.ok(identityBefore?.data?.["identity.json"], "the agent registered and keeps its identity");
    const sha = await fleet.commit(
      {
        "fleet.yaml": fleetYaml(["takeover"]),
        "takeover/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: harmless\n  namespace: app\ndata:\n  k: v\n",
        "takeover/identity.yaml": [
          "apiVersion: v1",
          "kind: Secret",
          "metadata:",
          "  name: gitfleet-agent-identity",
          `  namespace: ${agentNamespace}`,
          "stringData:",
          '  identity.json: \'{"clusterId":"attacker","natsUserSeed":"SUATTACKER"}\'',
          "",
        ].join("\n"),
      },
      "takeover: replace the agent's identity",
    );
    const status = await bundleStatus("takeover", sha);
    assert.match(status.message ?? "", /Secret gitfleet-system\/gitfleet-agent-identity: refused: it is the agent's identity Secret, which no bundle may change/);

    const identityAfter = await read<Secret>("Secret", "gitfleet-agent-identity", agentNamespace);
    assert.deepEqual(identityAfter?.data, identityBefore.data, "the identity Secret's data changed");
    assert.equal(identityAfter?.metadata?.resourceVersion, identityBefore.metadata?.resourceVersion, "the identity Secret was written");
    assert.equal(await read<ConfigMap>("ConfigMap", "harmless", "app"), undefined, "part of the refused bundle was applied");
    const app = (await fleet.api.get<ClusterStatusView>("/clusters/lab-1")).bundles?.find((b) => b.name === "app");
    assert.equal(app?.sync, "synced", "the cluster's other bundle");
  });

  test("a bundle that rewrites an inventory into a prune list is refused, and the agent's namespace survives", async () => {
    const inventoryBefore = await read<ConfigMap>("ConfigMap", "gitfleet-inventory-app", agentNamespace);
    assert.ok(inventoryBefore?.data?.["inventory.json"], "the app bundle's inventory");
    const forged = JSON.stringify({
      bundle: "app",
      digest: "0".repeat(64),
      revision: "",
      prune: true,
      appliedAt: "",
      objects: [{ group: "", version: "v1", kind: "Namespace", namespace: "", name: agentNamespace }],
    });
    const sha = await fleet.commit(
      {
        "fleet.yaml": fleetYaml(["forgery"]),
        "takeover/identity.yaml": null,
        "takeover/configmap.yaml": null,
        "forgery/inventory.yaml": [
          "apiVersion: v1",
          "kind: ConfigMap",
          "metadata:",
          "  name: gitfleet-inventory-app",
          `  namespace: ${agentNamespace}`,
          "  labels:",
          '    gitfleet.io/inventory: "true"',
          "data:",
          `  inventory.json: '${forged}'`,
          "",
        ].join("\n"),
      },
      "forgery: make the agent prune its own namespace",
    );
    const status = await bundleStatus("forgery", sha);
    assert.match(status.message ?? "", /ConfigMap gitfleet-system\/gitfleet-inventory-app: refused: it is an inventory of the agent/);
    const inventoryAfter = await read<ConfigMap>("ConfigMap", "gitfleet-inventory-app", agentNamespace);
    assert.deepEqual(inventoryAfter?.data, inventoryBefore.data, "the inventory was rewritten");
    assert.ok(await read<KubernetesObject>("Namespace", agentNamespace, ""), "the agent's namespace");
  });
});
