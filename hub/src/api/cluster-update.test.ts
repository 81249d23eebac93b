import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { applyClusterUpdate, MAX_LABELS } from "./cluster-update.js";

const record: ClusterRecord = {
  id: "caaaaaaaaaaaaaaaaaaaa",
  name: "eu-1",
  labels: { env: "prod", region: "eu" },
  registeredAt: "2025-01-01T00:00:00.000Z",
  lastSeen: null,
  connected: false,
  credentialEpoch: 1,
  natsUserPublicKey: "U",
  signingPublicKey: "U",
  agentVersion: "",
  kubernetesVersion: "",
  observedRevision: "",
  observedGeneration: 0,
  registrationTokenId: "t",
  credentialsExpireAt: null,
  session: null,
};

function refusal(update: Parameters<typeof applyClusterUpdate>[1]): HubError {
  try {
    applyClusterUpdate(record, update);
  } catch (err) {
    assert.ok(err instanceof HubError);
    return err;
  }
  assert.fail("the update was accepted");
}

void describe("updating a cluster's labels and variables", () => {
  void test("a string sets a key, null removes it, other keys stay", () => {
    const updated = applyClusterUpdate(record, { labels: { tier: "gold", region: null }, variables: { replicas: "5", ingress_host: "eu.example.com" } });
    assert.deepEqual(updated?.labels, { env: "prod", tier: "gold" });
    assert.deepEqual(updated?.variables, { ingress_host: "eu.example.com", replicas: "5" });
    assert.deepEqual(applyClusterUpdate({ ...record, variables: { a: "1", b: "2" } }, { variables: { a: null } })?.variables, { b: "2" });
  });

  void test("an update that changes nothing leaves the record alone", () => {
    assert.equal(applyClusterUpdate(record, { labels: { env: "prod" } }), undefined);
    assert.equal(applyClusterUpdate(record, { variables: { absent: null } }), undefined);
    assert.equal(applyClusterUpdate(record, {}), undefined);
  });

  void test("refuses invalid label keys and values and variable names, naming each", () => {
    const err = refusal({ labels: { "bad key": "x", env: "not valid!" }, variables: { "image-tag": "1", cluster_name: "x" } });
    assert.equal(err.code, "invalid-argument");
    assert.match(err.message, /^invalid update of cluster eu-1: /);
    assert.match(err.message, /labels: key "bad key" name must consist of/);
    assert.match(err.message, /labels\["env"\]: value "not valid!" must consist of/);
    assert.match(err.message, /variables: name "image-tag" must start with a letter/);
    assert.match(err.message, /variables: name "cluster_name" is reserved/);
  });

  void test("refuses values and maps that are too large", () => {
    assert.match(refusal({ variables: { big: "x".repeat(5000) } }).message, /variables\["big"\]: value must be at most 4096 characters/);
    const many = Object.fromEntries(Array.from({ length: MAX_LABELS }, (_, i) => [`l${i}`, "x"]));
    assert.match(refusal({ labels: many }).message, /labels: at most 64 labels are allowed \(would be 66\)/);
  });
});
