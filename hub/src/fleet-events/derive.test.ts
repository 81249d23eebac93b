import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  create,
  DriftState,
  HealthState,
  StatusReportSchema,
  SyncState,
  timestampFromDate,
  type BundleStatusSchema,
  type MessageInitShape,
  type ResourceStatusSchema,
  type StatusReport,
} from "@gitfleet/proto";
import { deriveStatusEvents } from "./derive.js";

// The plain-object forms of the messages, not the messages themselves.
type Init<T> = Extract<T, { readonly $typeName?: never }>;
type BundleInit = Init<MessageInitShape<typeof BundleStatusSchema>>;
type ResourceInit = Init<MessageInitShape<typeof ResourceStatusSchema>>;

const cluster = { id: "cabcdefghijklmnopqrst", name: "prod-eu-1" };
const now = new Date("2026-05-01T12:00:00.000Z");
const rev = "a".repeat(40);

const deployment = (init: Partial<ResourceInit> = {}): ResourceInit => ({
  group: "apps",
  version: "v1",
  kind: "Deployment",
  namespace: "web",
  name: "web",
  sync: SyncState.SYNCED,
  health: HealthState.HEALTHY,
  driftState: DriftState.IN_SYNC,
  ...init,
});

const replicasDrift = { path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" };

const bundle = (init: Partial<BundleInit> = {}): BundleInit => ({
  name: "web",
  revision: rev,
  healthRevision: rev,
  sync: SyncState.SYNCED,
  health: HealthState.HEALTHY,
  resources: [deployment()],
  ...init,
});

const report = (...bundles: BundleInit[]): StatusReport => create(StatusReportSchema, { observedRevision: rev, bundles });
const drifted = report(bundle({ resources: [deployment({ driftState: DriftState.DRIFTED, drift: [replicasDrift] })] }));

const derive = (previous: StatusReport | undefined, current: StatusReport, at: Date = now) =>
  deriveStatusEvents({ cluster, previous, current, now: at });
const types = (previous: StatusReport | undefined, current: StatusReport): string[] => derive(previous, current).events.map((e) => e.type);

void describe("events derived from status", () => {
  void it("reports drift with the object, its fields, the manager and the revision", () => {
    const { events } = derive(report(bundle()), drifted);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.deepEqual(
      { ...event, id: undefined },
      {
        id: undefined,
        type: "drift-detected",
        time: now.toISOString(),
        cluster,
        bundle: "web",
        resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" },
        driftState: "drifted",
        fields: [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }],
        revision: rev,
        message: "Deployment web/web drifted: /spec/replicas changed by kubectl-edit",
      },
    );
    assert.match(event?.id ?? "", /^e[a-z2-7]{20}$/);
  });

  void it("reports nothing when nothing changed, whatever the timestamps say", () => {
    const later = report(bundle({ resources: [deployment({ driftState: DriftState.DRIFTED, drift: [replicasDrift], corrections: 0 })] }));
    later.reportedAt = timestampFromDate(new Date(now.getTime() + 60_000));
    assert.deepEqual(derive(drifted, later), { events: [], settled: [] });
    assert.deepEqual(derive(report(bundle()), report(bundle())), { events: [], settled: [] });
  });

  void it("reports nothing twice after an agent restart that finds the same drift (a whole report again)", () => {
    const afterRestart = report(bundle({ resources: [deployment({ driftState: DriftState.DRIFTED, drift: [{ ...replicasDrift }] })] }));
    assert.equal(afterRestart.partial, false);
    assert.deepEqual(types(drifted, afterRestart), []);
  });

  void it("reports drift again when the set of drifted paths changes, not when their order does", () => {
    const labels = { path: "/metadata/labels/team", desired: '"a"', live: '"b"', manager: "kubectl" };
    const two = report(bundle({ resources: [deployment({ driftState: DriftState.DRIFTED, drift: [replicasDrift, labels] })] }));
    const swapped = report(bundle({ resources: [deployment({ driftState: DriftState.DRIFTED, drift: [labels, replicasDrift] })] }));
    assert.deepEqual(types(drifted, two), ["drift-detected"]);
    assert.deepEqual(types(two, swapped), []);
    assert.equal(derive(drifted, two).events[0]?.message, "Deployment web/web drifted: /spec/replicas, /metadata/labels/team changed by kubectl, kubectl-edit");
  });

  void it("reports a deleted object as missing", () => {
    const missing = report(bundle({ resources: [deployment({ driftState: DriftState.MISSING })] }));
    const [event] = derive(report(bundle()), missing).events;
    assert.equal(event?.type, "drift-detected");
    assert.equal(event?.driftState, "missing");
    assert.equal(event?.message, "Deployment web/web was deleted outside gitfleet");
    assert.deepEqual(types(drifted, missing), ["drift-detected"], "from drifted to missing is a change");
  });

  void it("reports a conflict once, naming the other manager", () => {
    const conflict = report(bundle({ resources: [deployment({ driftState: DriftState.CONFLICT, drift: [{ ...replicasDrift, manager: "hpa" }] })] }));
    const [event] = derive(drifted, conflict).events;
    assert.equal(event?.type, "conflict");
    assert.equal(event?.driftState, "conflict");
    assert.match(event?.message ?? "", /hpa keeps taking back \/spec\/replicas/);
    assert.deepEqual(types(conflict, conflict), []);
  });

  void it("marks drift that cleared as settled, without an event", () => {
    const cleared = derive(drifted, report(bundle()));
    assert.deepEqual(cleared.events, []);
    assert.deepEqual(
      cleared.settled.map((s) => [s.aspect, s.bundle, s.resource?.name]),
      [["drift", "web", "web"]],
    );
    const omitted = derive(drifted, report(bundle({ resources: [], omittedResources: 1 })));
    assert.deepEqual(omitted.settled.map((s) => s.aspect), ["drift"], "an object left out is in sync and healthy");
  });

  void it("does not treat an object not assessed yet as in sync or drifted", () => {
    const unassessed = report(bundle({ resources: [deployment({ driftState: DriftState.UNSPECIFIED })] }));
    assert.deepEqual(derive(drifted, unassessed), { events: [], settled: [] });
  });

  void it("reports health degraded at a revision, again at a new revision, and recovered", () => {
    const failing = deployment({ health: HealthState.DEGRADED, message: "ImagePullBackOff" });
    const degraded = report(bundle({ health: HealthState.DEGRADED, resources: [failing] }));
    const [event] = derive(report(bundle()), degraded).events;
    assert.equal(event?.type, "health-degraded");
    assert.equal(event?.revision, rev);
    assert.equal(event?.message, `bundle web is degraded at ${rev.slice(0, 12)}: Deployment web/web: ImagePullBackOff`);
    assert.deepEqual(types(degraded, degraded), []);
    const next = "b".repeat(40);
    assert.deepEqual(types(degraded, report(bundle({ health: HealthState.DEGRADED, revision: next, healthRevision: next, resources: [failing] }))), ["health-degraded"]);
    const recovered = derive(degraded, report(bundle()));
    assert.deepEqual(recovered.events.map((e) => [e.type, e.message]), [["health-recovered", `bundle web is no longer degraded: healthy at ${rev.slice(0, 12)}`]]);
    assert.deepEqual(types(degraded, report(bundle({ health: HealthState.UNSPECIFIED }))), [], "not assessed is not recovered");
  });

  void it("reports a failed sync, again when its message changes, and settles it when it syncs", () => {
    const failed = report(bundle({ sync: SyncState.FAILED, message: "apply Deployment web/web: forbidden" }));
    const [event] = derive(report(bundle()), failed).events;
    assert.equal(event?.type, "sync-failed");
    assert.equal(event?.message, `bundle web failed to sync at ${rev.slice(0, 12)}: apply Deployment web/web: forbidden`);
    assert.deepEqual(types(failed, failed), []);
    assert.deepEqual(types(failed, report(bundle({ sync: SyncState.FAILED, message: "timeout" }))), ["sync-failed"]);
    assert.deepEqual(derive(failed, report(bundle())).settled.map((s) => s.aspect), ["sync"]);
  });

  void it("reports what a first status shows when the hub held none", () => {
    assert.deepEqual(types(undefined, drifted), ["drift-detected"]);
    assert.deepEqual(types(undefined, report(bundle())), []);
  });

  void it("settles what a bundle that left the cluster had open, in whole and partial reports", () => {
    const bad = report(bundle({ sync: SyncState.FAILED, health: HealthState.DEGRADED, resources: [deployment({ driftState: DriftState.DRIFTED, drift: [replicasDrift] })] }));
    assert.deepEqual(derive(bad, report()).settled.map((s) => s.aspect).sort(), ["drift", "health", "sync"]);
    const partial = create(StatusReportSchema, { partial: true, removedBundles: ["web"] });
    assert.deepEqual(derive(bad, partial).settled.length, 3);
    const unchanged = create(StatusReportSchema, { partial: true });
    assert.deepEqual(derive(bad, unchanged), { events: [], settled: [] }, "a partial report leaves unnamed bundles alone");
  });

  void it("gives the same ids for the same change, and other ids at another time", () => {
    const first = derive(report(bundle()), drifted).events[0]?.id;
    assert.equal(derive(report(bundle()), drifted).events[0]?.id, first);
    assert.notEqual(derive(report(bundle()), drifted, new Date(now.getTime() + 1)).events[0]?.id, first);
  });

  void it("keeps the first 64 fields, counts the rest, and withholds redacted values", () => {
    const many = Array.from({ length: 70 }, (_, i) => ({ path: `/data/k${String(i).padStart(2, "0")}`, desired: "", live: "", manager: "kubectl", redacted: true }));
    const secret = report(bundle({ resources: [deployment({ kind: "Secret", group: "", driftState: DriftState.DRIFTED, drift: many, driftFieldsOmitted: 6 })] }));
    const [event] = derive(report(bundle()), secret).events;
    assert.equal(event?.fields?.length, 64);
    assert.equal(event?.fieldsOmitted, 12);
    assert.equal(event?.resource?.apiVersion, "v1");
    assert.deepEqual(event?.fields?.[0], { path: "/data/k00", desired: "", live: "", manager: "kubectl", redacted: true });
  });
});
