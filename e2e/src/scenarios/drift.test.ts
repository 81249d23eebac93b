// Drift is reported and corrected, end to end on the lab: a hub and an agent on a real cluster,
// objects changed with other field managers the way kubectl and controllers change them, and
// what a user sees of it through the hub's drift and events API and the gitfleet CLI.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfigFor, mergePatchAs, readObject, serverSideApply, updateAs } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import { configMap, manifestsYaml, namespace, writeSeed, type Manifest } from "../fleet/fleet-seed.js";
import { clusterDetail, driftOf, eventsOf, fieldOf, waitForDrift, waitForEvents } from "../fleet/drift-views.js";

const cluster = "drift-eu";
// The loop guard of the fighting-controller story: a conflict after 3 corrections in a minute.
const loopGuard = { maxCorrections: 3, windowMs: 60_000 };
const secretValue = "s3cret-value";
const leakedValue = "leaked-value";

/** One bundle per story, each in its own namespace, so that stories can run side by side. */
const bundles: Array<{ name: string; drift?: "report"; ignore?: unknown[]; objects: Manifest[] }> = [
  { name: "reported", drift: "report", objects: [configMap("settings", { greeting: "hello", colour: "teal" })] },
  { name: "corrected", objects: [configMap("greeting", { text: "hello" }), configMap("edited", { size: "small" }), configMap("applied", { size: "small" }), configMap("server-applied", { size: "small" }), configMap("db", { size: "small" })] },
  { name: "gone", drift: "report", objects: [configMap("cache", { ttl: "60" })] },
  {
    name: "ignoring",
    ignore: [{ path: "/data/tuned", kind: "ConfigMap", name: "flags" }],
    objects: [configMap("flags", { fixed: "1", tuned: "1" }), configMap("other", { tuned: "1" })],
  },
  { name: "fought", objects: [configMap("scale", { replicas: "2" })] },
  {
    name: "secrets",
    drift: "report",
    objects: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "token" }, type: "Opaque", data: { token: Buffer.from(secretValue).toString("base64") } }],
  },
];

function seedFiles(): Record<string, string> {
  const files: Record<string, string> = {
    "fleet.yaml": stringify({
      apiVersion: "gitfleet.dev/v1",
      kind: "Fleet",
      bundles: bundles.map((b) => ({ name: b.name, path: b.name, namespace: b.name, clusterSelector: {}, ...(b.drift ? { drift: b.drift } : {}), ...(b.ignore ? { ignore: b.ignore } : {}) })),
    }),
  };
  for (const b of bundles) files[`${b.name}/objects.yaml`] = manifestsYaml(namespace(b.name), ...b.objects);
  return files;
}

describe("drift is reported and corrected", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let kc: KubeConfig;

  const live = async (bundle: string, name: string, kind = "ConfigMap"): Promise<Record<string, string> | undefined> =>
    (await readObject<Manifest & { data?: Record<string, string> }>(kc, { apiVersion: "v1", kind, metadata: { name, namespace: bundle } }))?.data;
  const patch = (bundle: string, name: string, data: Record<string, string>, manager: string) =>
    mergePatchAs(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: bundle }, data }, manager);
  /** Waits until a ConfigMap's key holds a value (the agent put it back); returns how long it took from `since`. */
  const reverted = async (bundle: string, name: string, key: string, value: string, since: number, timeoutMs = 5_000): Promise<number> => {
    await waitFor(async () => (await live(bundle, name))?.[key] === value || undefined, { what: `${bundle}/${name} ${key} back to ${value}`, timeoutMs, intervalMs: 50 });
    return Date.now() - since;
  };

  before(async () => {
    seed = await writeSeed(seedFiles());
    fleet = await startFleet({ clusters: [cluster], seed, webhookOnPush: true });
    kc = kubeConfigFor(fleet.cluster(cluster));
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: { region: "eu" } });
    await fleet.startAgent(cluster, { token: token.secret, labels: { region: "eu" }, loopGuard });
    await waitForSynced(fleet.api, cluster, await fleet.head(), { timeoutMs: 120_000 });
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("unauthenticated drift and event requests get 401", async () => {
    for (const path of ["/api/v1/drift", "/api/v1/drift/summary?groupBy=cluster", "/api/v1/events", "/api/v1/events/stream"]) {
      const anonymous = await fetch(`${fleet.hubUrl}${path}`);
      assert.equal(anonymous.status, 401, `${path} without a token`);
      await anonymous.body?.cancel();
      const wrong = await fetch(`${fleet.hubUrl}${path}`, { headers: { authorization: "Bearer gf_admin_not-a-token" } });
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
      await wrong.body?.cancel();
    }
  });

  // The stories below touch separate bundles and run side by side.
  describe("stories on separate bundles", { concurrency: true }, () => {
    test("a report-mode field changed by another manager shows in the drift API within 5 s and stays, until Git takes the value", async () => {
      const changed = Date.now();
      await patch("reported", "settings", { greeting: "bonjour" }, "kubectl-patch");
      const answer = await waitForDrift(fleet.api, { bundle: "reported" }, "the drifted greeting in the drift API", (a) => a.items.length === 1);
      const elapsed = Date.now() - changed;
      const item = answer.items[0];
      assert.ok(item);
      assert.equal(item.cluster, cluster);
      assert.deepEqual(item.resource, { apiVersion: "v1", kind: "ConfigMap", namespace: "reported", name: "settings" });
      assert.equal(item.state, "drifted");
      assert.deepEqual(item.fields.map(fieldOf), [{ path: "/data/greeting", desired: "hello", live: "bonjour", manager: "kubectl-patch" }]);
      assert.ok(item.firstSeen && item.lastSeen, "first and last seen are given");
      assert.ok(elapsed < 5_000, `visible ${elapsed} ms after the change`);

      // The CLI shows the same row.
      const cli = await runGitfleet(fleet, "drift", "--bundle", "reported");
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /drift-eu.*ConfigMap reported\/settings.*\/data\/greeting.*"hello".*"bonjour".*kubectl-patch/);

      // Report mode leaves the live value, through more than one reconcile interval of the agent (5 s here).
      await new Promise((r) => setTimeout(r, 6_000));
      assert.equal((await live("reported", "settings"))?.["greeting"], "bonjour", "report mode does not revert");
      assert.equal((await driftOf(fleet.api, { bundle: "reported" })).items.length, 1, "still reported");
      assert.deepEqual(await eventsOf(fleet.api, { type: "drift-corrected", bundle: "reported" }), []);

      // Git catches up with the cluster: the drift is gone.
      await fleet.commit({ "reported/objects.yaml": manifestsYaml(namespace("reported"), configMap("settings", { greeting: "bonjour", colour: "teal" })) }, "reported: take the greeting from the cluster");
      await waitForDrift(fleet.api, { bundle: "reported" }, "the drift cleared by the commit", (a) => a.items.length === 0, 60_000);
      assert.equal((await live("reported", "settings"))?.["greeting"], "bonjour");
    });

    test("the same change in correct mode is reverted within 5 s, and the correction is an event", async () => {
      const changed = Date.now();
      await patch("corrected", "greeting", { text: "bonjour" }, "kubectl-patch");
      const took = await reverted("corrected", "greeting", "text", "hello", changed);
      assert.ok(took < 5_000, `reverted in ${took} ms`);
      const [event] = await waitForEvents(fleet.api, { type: "drift-corrected", bundle: "corrected", name: "greeting" }, "the correction event", (e) => e.length === 1);
      assert.ok(event);
      assert.equal(event.cluster.name, cluster);
      assert.deepEqual(event.resource, { apiVersion: "v1", kind: "ConfigMap", namespace: "corrected", name: "greeting" });
      assert.deepEqual(event.fields?.map(fieldOf), [{ path: "/data/text", desired: "hello", live: "bonjour", manager: "kubectl-patch" }]);
      const cli = await runGitfleet(fleet, "events", "--type", "drift-corrected");
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /drift-corrected.*drift-eu/);
    });

    test("kubectl edit, a client-side kubectl apply and a forced server-side kubectl apply are reverted in correct mode", async () => {
      const changed = Date.now();
      await Promise.all([
        updateAs<Manifest & { data?: Record<string, string> }>(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "edited", namespace: "corrected" } }, (o) => {
          o.data = { size: "huge" };
        }, "kubectl-edit"),
        patch("corrected", "applied", { size: "huge" }, "kubectl-client-side-apply"),
        serverSideApply(kc, configMap("server-applied", { size: "huge" }, "corrected"), "kubectl"),
      ]);
      const took = await Promise.all([
        reverted("corrected", "edited", "size", "small", changed),
        reverted("corrected", "applied", "size", "small", changed),
        reverted("corrected", "server-applied", "size", "small", changed),
      ]);
      assert.ok(Math.max(...took) < 5_000, `reverted in ${took.join(", ")} ms`);
      const edits = ["edited", "applied", "server-applied"];
      const events = await waitForEvents(fleet.api, { type: "drift-corrected", bundle: "corrected" }, "three corrections", (e) =>
        edits.every((n) => e.some((x) => x.resource?.name === n)),
      );
      const managers: Record<string, string[] | undefined> = {};
      for (const e of events) if (e.resource && edits.includes(e.resource.name)) managers[e.resource.name] = e.fields?.map((f) => f.manager);
      assert.deepEqual(managers, { edited: ["kubectl-edit"], applied: ["kubectl-client-side-apply"], "server-applied": ["kubectl"] });
      // The fields are gitfleet's again: the next kubectl edit is reverted just the same.
      await patch("corrected", "edited", { size: "huge" }, "kubectl-edit");
      await reverted("corrected", "edited", "size", "small", Date.now());
    });

    test("a deleted object is missing in report mode, and recreated in correct mode", async () => {
      const core = kc.makeApiClient(CoreV1Api);
      const deleted = Date.now();
      await core.deleteNamespacedConfigMap({ name: "cache", namespace: "gone" });
      const answer = await waitForDrift(fleet.api, { bundle: "gone" }, "the deleted ConfigMap missing in the drift API", (a) => a.items[0]?.state === "missing");
      assert.ok(Date.now() - deleted < 5_000, `visible ${Date.now() - deleted} ms after the deletion`);
      assert.deepEqual(answer.items[0]?.resource, { apiVersion: "v1", kind: "ConfigMap", namespace: "gone", name: "cache" });
      assert.equal(await live("gone", "cache"), undefined, "report mode does not recreate it");
      await waitForEvents(fleet.api, { type: "drift-detected", bundle: "gone", name: "cache" }, "a drift-detected event for the missing object", (e) => e.some((x) => x.driftState === "missing"));

      const again = Date.now();
      await core.deleteNamespacedConfigMap({ name: "db", namespace: "corrected" });
      await waitFor(async () => (await live("corrected", "db")) ?? undefined, { what: "corrected/db recreated", timeoutMs: 5_000, intervalMs: 50 });
      assert.ok(Date.now() - again < 5_000, `recreated in ${Date.now() - again} ms`);
      assert.deepEqual(await live("corrected", "db"), { size: "small" });
      await waitForEvents(fleet.api, { type: "drift-corrected", bundle: "corrected", name: "db" }, "the recreation as a correction event", (e) => e.some((x) => /recreated/.test(x.message)));
    });

    test("an ignore rule scoped to one object stops both the report and the correction of its field", async () => {
      await patch("ignoring", "flags", { tuned: "9" }, "tuner");
      // The same field of another object of the bundle is outside the rule's scope: reverted.
      const changed = Date.now();
      await patch("ignoring", "other", { tuned: "9" }, "tuner");
      await reverted("ignoring", "other", "tuned", "1", changed);
      // A later change of the same object is reverted: by then the ignored change was seen and let be.
      await patch("ignoring", "flags", { fixed: "2" }, "tuner");
      await reverted("ignoring", "flags", "fixed", "1", Date.now());
      assert.equal((await live("ignoring", "flags"))?.["tuned"], "9", "the ignored field keeps its live value");
      const corrections = await eventsOf(fleet.api, { type: "drift-corrected", bundle: "ignoring" });
      assert.ok(
        corrections.every((e) => e.resource?.name !== "flags" || e.fields?.every((f) => f.path !== "/data/tuned")),
        `no correction of the ignored field: ${JSON.stringify(corrections)}`,
      );
      assert.deepEqual((await driftOf(fleet.api, { bundle: "ignoring" })).items, [], "nothing reported");
      const detail = await clusterDetail(fleet.api, cluster);
      const flags = detail.bundles.find((b) => b.name === "ignoring")?.resources.find((r) => r.resource.name === "flags");
      assert.equal(flags?.drift ?? "in-sync", "in-sync");
    });

    test("a controller fighting over a field ends in conflict, naming it, with bounded corrections", async () => {
      const fighting = new AbortController();
      const fighter = (async () => {
        while (!fighting.signal.aborted) {
          await patch("fought", "scale", { replicas: "5" }, "autoscaler").catch(() => undefined);
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      try {
        const answer = await waitForDrift(fleet.api, { bundle: "fought", state: "conflict" }, "the fight reported as a conflict", (a) => a.items.length === 1, 30_000);
        const item = answer.items[0];
        assert.ok(item);
        assert.ok(item.fields.some((f) => f.manager === "autoscaler" && f.path === "/data/replicas"), JSON.stringify(item.fields));
        await waitForEvents(fleet.api, { type: "conflict", bundle: "fought" }, "a conflict event", (e) => e.length >= 1);
        // The fight goes on, gitfleet backs off (1 minute here): no more corrections.
        const before = (await eventsOf(fleet.api, { type: "drift-corrected", bundle: "fought" })).length;
        await new Promise((r) => setTimeout(r, 5_000));
        const corrections = await eventsOf(fleet.api, { type: "drift-corrected", bundle: "fought" });
        assert.ok(corrections.length <= loopGuard.maxCorrections, `${corrections.length} corrections, at most ${loopGuard.maxCorrections}`);
        assert.equal(corrections.length, before, "no correction while backing off");
        const still = await driftOf(fleet.api, { bundle: "fought" });
        assert.equal(still.items[0]?.state, "conflict");
        assert.ok((still.items[0]?.corrections ?? 0) <= loopGuard.maxCorrections);
      } finally {
        fighting.abort();
        await fighter;
      }
    });

    test("a Secret's drift is reported by path, without its values", async () => {
      await updateAs<Manifest & { data?: Record<string, string> }>(kc, { apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: "secrets" } }, (o) => {
        o.data = { token: Buffer.from(leakedValue).toString("base64") };
      }, "kubectl-edit");
      const answer = await waitForDrift(fleet.api, { bundle: "secrets" }, "the Secret's drift", (a) => a.items.length === 1);
      assert.deepEqual(answer.items[0]?.fields, [{ path: "/data/token", desired: "", live: "", manager: "kubectl-edit", redacted: true }]);
      const shown = [
        JSON.stringify(answer),
        JSON.stringify(await clusterDetail(fleet.api, cluster)),
        JSON.stringify(await eventsOf(fleet.api, {})),
        (await runGitfleet(fleet, "drift", "--bundle", "secrets", "-o", "json")).stdout,
      ].join("\n");
      for (const value of [secretValue, leakedValue]) {
        assert.ok(!shown.includes(value) && !shown.includes(Buffer.from(value).toString("base64")), `the value ${value} is not shown`);
      }
    });
  });
});
