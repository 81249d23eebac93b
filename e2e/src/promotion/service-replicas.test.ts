// Two hub replicas promoting into one stage at the same moment, with the real records and the
// real stage lock in JetStream: one promotion is written, the other sees it and has nothing left.
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import {
  HubError,
  createPromotionService,
  createPromotionStore,
  createStageLock,
  openLocksBucket,
  openPromotionsBucket,
  type FleetRepository,
  type PromotionService,
  type StageStates,
} from "@gitfleet/hub";
import { parseFleetFile } from "@gitfleet/hub/delivery";
import { skipWithoutNats, startNatsFixture, type NatsFixture } from "./nats-fixture.js";

const fleetYaml = `apiVersion: gitfleet.dev/v1
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
    promote: { images: [registry.example.com/web] }
    stages:
      - { name: staging, target: staging }
      - { name: prod-us, target: prod-us }
`;

const kustomization = (tag: string) => `resources: [../base]
images:
  - name: registry.example.com/web
    newTag: "${tag}"
`;

/** The Git server both replicas push to: one branch in memory, compare-and-swap on its head. */
function sharedRepository(): FleetRepository & { commits: string[]; read(file: string): string } {
  const encoder = new TextEncoder();
  const files = new Map<string, Uint8Array>([
    ["fleet.yaml", encoder.encode(fleetYaml)],
    ["apps/web/staging/kustomization.yaml", encoder.encode(kustomization("1.4.2"))],
    ["apps/web/prod-us/kustomization.yaml", encoder.encode(kustomization("1.4.1"))],
  ]);
  const commits = ["c0".padEnd(40, "0")];
  const head = () => ({ commit: commits.at(-1) ?? "", files: new Map(files) });
  return {
    commits,
    read: (file) => new TextDecoder().decode(files.get(file)),
    head: () => Promise.resolve({ ...head(), fleet: parseFleetFile(fleetYaml) }),
    async commit(request) {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const at = head();
        const changed = await request.change(at);
        // A round trip to the server, as a push would take.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (commits.at(-1) !== at.commit) continue;
        for (const [file, text] of changed) if (text !== null) files.set(file, encoder.encode(text));
        commits.push(`c${commits.length}`.padEnd(40, "0"));
        return { commit: commits.at(-1) ?? "", parent: at.commit, attempts: attempt };
      }
      throw new HubError("unavailable", "the branch kept moving");
    },
  };
}

const passingGates: StageStates = {
  evaluate: (_p, stage) => ({ stage, commit: "c0".padEnd(40, "0"), passed: true, gates: [], clusters: [], evaluatedAt: new Date().toISOString() }),
  verifyAt: (_p, stage) => ({ done: false, evaluation: { stage, commit: "", passed: false, gates: [], clusters: [], evaluatedAt: new Date().toISOString() } }),
  clusters: () => [],
};

void describe("promotions into one stage from two hub replicas", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  const repository = sharedRepository();
  const replicas: PromotionService[] = [];

  before(async () => {
    nats = await startNatsFixture("gitfleet-promote-");
    for (const owner of ["hub-a", "hub-b"]) {
      const kvm = await nats.kvm();
      replicas.push(
        createPromotionService({
          repository,
          stages: passingGates,
          records: createPromotionStore({ kv: await openPromotionsBucket(kvm, 1) }),
          lock: createStageLock({ kv: await openLocksBucket(kvm, 1), owner, pollMs: 10 }),
          logger: pino({ level: "silent" }),
          now: () => new Date(),
        }),
      );
    }
  });

  after(async () => {
    await nats?.stop();
  });

  test("are serialised: one commit, and the second replica sees it and has nothing to promote", async () => {
    const [a, b] = replicas;
    assert.ok(a && b);
    const outcomes = await Promise.allSettled([
      a.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "alice" }),
      b.promote({ pipeline: "web", from: "staging", to: "prod-us", author: "bob" }),
    ]);
    const written = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
    assert.equal(written.length, 1, "exactly one promotion is written");
    assert.equal(refused.length, 1);
    const [refusal] = refused;
    assert.ok(refusal instanceof HubError);
    assert.equal(refusal.code, "conflict");
    assert.equal(refusal.message, "nothing to promote: prod-us already runs registry.example.com/web:1.4.2");
    assert.equal(repository.commits.length, 2, "one commit on the branch");
    assert.equal(repository.read("apps/web/prod-us/kustomization.yaml"), kustomization("1.4.2"));
    const records = await a.list({});
    assert.equal(records.length, 1);
    assert.equal(records[0]?.state, "rolling-out");
    assert.deepEqual(await b.list({}), records, "both replicas read the same record");
  });
});
