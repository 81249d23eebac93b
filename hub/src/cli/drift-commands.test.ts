import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { CommandContext } from "./commands.js";
import { driftList, driftSummary, type DriftItemView } from "./drift-commands.js";
import type { HubClient } from "./hub-client.js";

const item = (cluster: string, init: Partial<DriftItemView> = {}): DriftItemView => ({
  cluster,
  bundle: "web",
  resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" },
  state: "drifted",
  fields: [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }],
  fieldsOmitted: 0,
  firstSeen: new Date(Date.now() - 120_000).toISOString(),
  stale: false,
  ...init,
});

const totals = { clusters: 3, clustersDrifted: 3, objectsDrifted: 3, clustersStale: 1 };

/** A hub that answers the drift API in pages of one item, and records the paths asked. */
function pagedHub(items: DriftItemView[]) {
  const asked: string[] = [];
  const hub: HubClient = {
    get: <T>(path: string) => {
      asked.push(path);
      const at = Number(new URLSearchParams(path.split("?")[1]).get("continue") ?? "0");
      const next = at + 1 < items.length ? String(at + 1) : null;
      return Promise.resolve({ items: items.slice(at, at + 1), totals, continue: next } as T);
    },
    post: () => Promise.reject(new Error("unused")),
    patch: () => Promise.reject(new Error("unused")),
    delete: () => Promise.reject(new Error("unused")),
    stream: () => Promise.reject(new Error("unused")),
  };
  return { hub, asked };
}

void describe("gitfleet drift", () => {
  void test("follows continue to print every page, one row per drifted field and one per missing object", async () => {
    const printed: string[] = [];
    const { hub, asked } = pagedHub([
      item("eu-1"),
      item("eu-2", { state: "missing", fields: [], resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "settings" } }),
      item("us-1", { stale: true, fields: [{ path: "/data/password", desired: "", live: "", manager: "kubectl-edit", redacted: true }] }),
    ]);
    const ctx: CommandContext = { hub, output: "table", print: (s) => printed.push(s) };
    await driftList(ctx, { clusterSelector: "region=eu", state: "drifted,missing" });
    assert.equal(asked.length, 3);
    assert.equal(asked[0], "/drift?clusterSelector=region%3Deu&state=drifted%2Cmissing");
    const lines = (printed[0] ?? "").split("\n");
    assert.match(lines[0] ?? "", /^CLUSTER\s+OBJECT\s+STATE\s+FIELD\s+DESIRED\s+LIVE\s+MANAGER\s+SINCE$/);
    assert.match(lines[1] ?? "", /^eu-1\s+Deployment web\/web\s+drifted\s+\/spec\/replicas\s+3\s+5\s+kubectl-edit\s+2m ago$/);
    assert.match(lines[2] ?? "", /^eu-2\s+ConfigMap web\/settings\s+missing\s+\(object deleted\)\s+-\s+-\s+-/);
    assert.match(lines[3] ?? "", /^us-1 \(stale\)\s+.*\(redacted\)\s+\(redacted\)\s+kubectl-edit/);
    assert.equal(lines.at(-1), "3 objects drifted in 3 of 3 clusters; 1 stale (their last report)");
  });

  void test("prints every item and the totals as JSON with -o json", async () => {
    const printed: string[] = [];
    const { hub } = pagedHub([item("eu-1"), item("eu-2")]);
    await driftList({ hub, output: "json", print: (s) => printed.push(s) }, {});
    const parsed = JSON.parse(printed[0] ?? "") as { items: DriftItemView[]; totals: unknown };
    assert.deepEqual(parsed.items.map((i) => i.cluster), ["eu-1", "eu-2"]);
    assert.deepEqual(parsed.totals, totals);
  });

  void test("summary prints counts per group", async () => {
    const printed: string[] = [];
    let asked = "";
    const hub = {
      get: <T>(path: string) => {
        asked = path;
        return Promise.resolve({ groupBy: "manager", groups: [{ key: "", clusters: 1, objects: 1, drifted: 0, missing: 1, conflict: 0 }], totals } as T);
      },
    } as HubClient;
    await driftSummary({ hub, output: "table", print: (s) => printed.push(s) }, "manager", { bundle: "web" });
    assert.equal(asked, "/drift/summary?groupBy=manager&bundle=web");
    assert.match(printed[0] ?? "", /^MANAGER\s+CLUSTERS\s+OBJECTS\s+DRIFTED\s+MISSING\s+CONFLICT\n\(none\)\s+1\s+1\s+0\s+1\s+0\n/);
  });
});
