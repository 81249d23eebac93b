import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { diffCommand, type DiffAnswer } from "./diff-commands.js";
import type { HubClient } from "./hub-client.js";
import { runCli } from "./main.js";

const commit = "4f0b60f9d1c2a3b4c5d6e7f8091a2b3c4d5e6f70";
const answer: DiffAnswer = {
  from: { kind: "cluster", name: "prod-us", commit, cluster: "prod-us", clusters: ["prod-us"], uniform: true },
  to: { kind: "stage", name: "prod-eu", pipeline: "web", commit, cluster: "prod-eu-1", clusters: ["prod-eu-1", "prod-eu-2"], uniform: false },
  bundles: ["web"],
  objects: [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "web",
      name: "web-config",
      change: "changed",
      bundle: "web",
      fields: [
        { path: "/data/region", field: "data.region", from: "us", to: "eu" },
        { path: "/data/extra", field: "data.extra", to: "x".repeat(80) },
      ],
    },
    { apiVersion: "v1", kind: "Secret", namespace: "web", name: "db", change: "changed", bundle: "web", fields: [{ path: "/data/password", field: "data.password", redacted: true }] },
    { apiVersion: "v1", kind: "Namespace", namespace: "", name: "old", change: "removed", bundle: "web", fields: [] },
  ],
  counts: { added: 0, removed: 1, changed: 2, unchanged: 4 },
  notes: ["the 2 clusters of stage prod-eu get 2 different renders of bundle web; prod-eu-1, the first by name, stands for the stage"],
};

function hub(): { hub: HubClient; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    hub: {
      get: <T>(path: string) => {
        asked.push(path);
        return Promise.resolve(answer as T);
      },
    } as HubClient,
  };
}

void describe("gitfleet diff", () => {
  void test("prints both sides, each differing object and field with both values, the counts and the notes", async () => {
    const printed: string[] = [];
    const { hub: client, asked } = hub();
    await diffCommand({ hub: client, output: "table", print: (s) => printed.push(s) }, { from: "prod-us", to: "stage:prod-eu", revision: "4f0b60f" });
    assert.deepEqual(asked, ["/diff?from=prod-us&to=stage%3Aprod-eu&revision=4f0b60f"]);
    assert.equal(
      printed[0],
      [
        "prod-us (cluster, at 4f0b60f) → web/prod-eu (stage, as prod-eu-1, at 4f0b60f)",
        "bundles: web",
        "",
        "~ ConfigMap web/web-config  [v1, bundle web]",
        `    data.region  "us" → "eu"`,
        `    data.extra   (absent) → "${"x".repeat(58)}…`,
        "~ Secret web/db  [v1, bundle web]",
        "    data.password  (redacted) → (redacted)",
        "- Namespace old (removed)  [v1, bundle web]",
        "",
        "2 changed, 0 added, 1 removed, 4 unchanged",
        "note: the 2 clusters of stage prod-eu get 2 different renders of bundle web; prod-eu-1, the first by name, stands for the stage",
      ].join("\n"),
    );
  });

  void test("asks for a range of one cluster, and prints JSON with -o json", async () => {
    const printed: string[] = [];
    const { hub: client, asked } = hub();
    await diffCommand({ hub: client, output: "json", print: (s) => printed.push(s) }, { cluster: "prod-us", revisions: "4f0b60f..91ac2e3" });
    assert.deepEqual(asked, ["/diff?cluster=prod-us&revisions=4f0b60f..91ac2e3"]);
    assert.deepEqual(JSON.parse(printed[0] ?? ""), answer);
  });

  void test("refuses a command line that names neither two sides nor a cluster and a range", async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (s: string) => errors.push(s);
    try {
      const env = { GITFLEET_TOKEN: "t", GITFLEET_HUB: "http://127.0.0.1:1" };
      assert.equal(await runCli(["diff", "prod-us"], () => {}, env), 2);
      assert.equal(await runCli(["diff", "--cluster", "prod-us"], () => {}, env), 2);
      assert.equal(await runCli(["diff", "a", "b", "--revisions", "1234..5678"], () => {}, env), 2);
    } finally {
      console.error = original;
    }
    assert.deepEqual(errors, [
      "gitfleet: gitfleet diff needs FROM and TO (each a cluster or a stage)",
      "gitfleet: gitfleet diff --cluster NAME needs --revisions A..B, and --revisions needs --cluster",
      "gitfleet: gitfleet diff takes FROM TO [--revision R], or --cluster NAME --revisions A..B, not both",
    ]);
  });
});
