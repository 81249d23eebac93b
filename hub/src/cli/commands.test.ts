import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { clusterList, type ClusterView } from "./commands.js";
import type { HubClient } from "./hub-client.js";
import { HubApiError } from "./hub-client.js";
import { runCli } from "./main.js";

const clusters: ClusterView[] = [
  { id: "c1", name: "prod-eu", connected: true, observedRevision: "a".repeat(40), agentVersion: "0.3.0" },
  { id: "c2", name: "prod-us", connected: true, observedRevision: "a".repeat(40), agentVersion: "0.2.4" },
];

/** A hub that answers /clusters, and /version when it has a version. */
function fakeHub(version: string | undefined): HubClient {
  const get = <T>(path: string): Promise<T> => {
    if (path === "/clusters") return Promise.resolve({ items: clusters } as T);
    if (path === "/version" && version !== undefined) return Promise.resolve({ product: "gitfleet", version } as T);
    return Promise.reject(new HubApiError(404, "not-found", `no route ${path}`));
  };
  const refuse = (): Promise<never> => Promise.reject(new Error("not in this test"));
  return { get, post: refuse, patch: refuse, delete: refuse, stream: refuse };
}

async function list(version: string | undefined, output: "table" | "json"): Promise<string> {
  const out: string[] = [];
  await clusterList({ hub: fakeHub(version), output, print: (s) => out.push(s) });
  return out.join("\n");
}

void describe("gitfleet cluster list and versions", () => {
  void it("shows each agent's version and marks the ones older than the hub", async () => {
    const table = await list("0.3.1", "table");
    assert.match(table, /^NAME\s+CONNECTED\s+REVISION\s+AGENT\s+OUTDATED\s+LAST SEEN\s+LABELS$/m);
    assert.match(table, /^prod-eu\s+yes\s+a{12}\s+0\.3\.0\s+yes \(hub 0\.3\.1\)\s/m);
    assert.match(table, /^prod-us\s+yes\s+a{12}\s+0\.2\.4\s+yes \(hub 0\.3\.1\)\s/m);
    assert.match(await list("0.3.0", "table"), /^prod-eu\s+yes\s+a{12}\s+0\.3\.0\s+no\s/m);
    const json = JSON.parse(await list("0.3.0", "json")) as { hubVersion: string; items: ClusterView[] };
    assert.equal(json.hubVersion, "0.3.0");
    assert.deepEqual(json.items.map((c) => [c.name, c.agentOutdated]), [["prod-eu", false], ["prod-us", true]]);
  });

  void it("says it cannot tell when the hub does not tell its version", async () => {
    assert.match(await list(undefined, "table"), /^prod-eu\s+yes\s+a{12}\s+0\.3\.0\s+\?\s/m);
  });

  void it("marks stale clusters, whose sync and health are unknown", async () => {
    const out: string[] = [];
    const stale: ClusterView = { id: "c3", name: "edge", connected: false, stale: true, observedRevision: "", agentVersion: "0.3.0" };
    const hub: HubClient = { ...fakeHub("0.3.0"), get: <T>(path: string) => Promise.resolve((path === "/clusters" ? { items: [stale] } : { version: "0.3.0" }) as T) };
    await clusterList({ hub, output: "table", print: (s) => out.push(s) });
    assert.match(out.join("\n"), /^edge\s+no \(stale\)\s/m);
  });

  void it("prints its own version with --version, needing no hub and no token", async () => {
    const out: string[] = [];
    assert.equal(await runCli(["--version"], (s) => out.push(s), {}), 0);
    assert.deepEqual(out, [`gitfleet ${PRODUCT_VERSION}`]);
  });
});
