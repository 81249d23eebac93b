// The service with the real edits over a fleet laid out like the demo's: the commit changes the
// tag line of the target overlay's kustomization.yaml and nothing else.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { parseFleetFile } from "../delivery/index.js";
import { fakeLock, fakeRecords, fakeRepository, fakeStageStates, quietLogger } from "../test-support/promotion-fakes.js";
import type { PromotionRecord } from "./contracts.js";
import { createPromotionService } from "./service.js";

const fleet = parseFleetFile(`apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    targets:
      - { name: staging, clusterSelector: { matchLabels: { env: staging } }, overlay: staging }
      - { name: prod-us, clusterSelector: { matchLabels: { env: prod } }, overlay: prod-us }
pipelines:
  - name: web
    bundle: web
    promote:
      images: [registry.example.com/web]
    stages:
      - { name: staging, target: staging }
      - { name: prod-us, target: prod-us }
`);

const kustomization = (tag: string, comment: string) => `# ${comment}
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base   # the shared objects
images:
  - name: registry.example.com/web
    newTag: "${tag}"   # bumped by promotions
replicas:
  - name: web
    count: 3
`;

void describe("promoting with the real edits", () => {
  void test("changes exactly the tag line of the target's kustomization.yaml", async () => {
    const pipeline = fleet.pipelines[0];
    assert.ok(pipeline);
    const repository = fakeRepository({}, pipeline);
    repository.set("apps/web/staging/kustomization.yaml", kustomization("1.4.2", "staging"));
    repository.set("apps/web/prod-us/kustomization.yaml", kustomization("1.4.1", "prod in the US"));
    const now = () => new Date("2026-05-01T12:00:00Z");
    const service = createPromotionService({ repository, stages: fakeStageStates(now), records: fakeRecords(), lock: fakeLock(), logger: quietLogger, now });

    const dry = await service.promote({ pipeline: "web", from: "staging", to: "prod-us", dryRun: true, author: "alice" });
    assert.ok("dryRun" in dry);
    assert.deepEqual(
      dry.values.map((v) => v.value),
      ["registry.example.com/web:1.4.2"],
    );
    assert.ok((dry.diff[0]?.diff ?? "").includes(`-    newTag: "1.4.1"   # bumped by promotions\n+    newTag: "1.4.2"   # bumped by promotions\n`));

    const record = (await service.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" })) as PromotionRecord;
    assert.equal(repository.read("apps/web/prod-us/kustomization.yaml"), kustomization("1.4.2", "prod in the US"));
    assert.equal(repository.commits.at(-1)?.message.split("\n")[0], "promote web: staging → prod-us (web:1.4.2)");

    const rollback = await service.rollback({ id: record.id, author: "bob" });
    assert.ok(!("dryRun" in rollback));
    assert.equal(repository.read("apps/web/prod-us/kustomization.yaml"), kustomization("1.4.1", "prod in the US"));
  });
});
