// Two replicas of the agent for one cluster, in-process against a lab kube-apiserver and the
// real hub: they elect a leader on the Lease gitfleet-agent; only the leader registers,
// reconciles and holds the hub stream while the other stands by; when the leader stops it
// releases the lease and the other takes over with the stored identity, without registering.
import { strict as assert } from "node:assert";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAgent, createKubeClient, type Agent } from "@gitfleet/agent";
import { pino } from "pino";
import { startFleet, waitForSynced, type ClusterStatusView, type Fleet } from "../fleet/fleet.js";
import { kubeConfigFor } from "../kube-client.js";
import { waitFor } from "../lab/process.js";

const CLUSTER = "ha";
const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

interface LeaseView {
  holder: string;
  renewTime: string;
  transitions: number;
}

describe("two agents for one cluster elect a leader on a Lease", { timeout: 300_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  const agents: Agent[] = [];

  const lease = async (): Promise<LeaseView | undefined> => {
    const kube = createKubeClient({ kubeConfig: kubeConfigFor(fleet.cluster(CLUSTER)) });
    const live = await kube.get({ group: "coordination.k8s.io", version: "v1", kind: "Lease", namespace: "gitfleet-system", name: "gitfleet-agent" });
    const spec = (live?.["spec"] ?? {}) as { holderIdentity?: string; renewTime?: string; leaseTransitions?: number };
    return live && { holder: spec.holderIdentity ?? "", renewTime: spec.renewTime ?? "", transitions: spec.leaseTransitions ?? 0 };
  };

  const replica = (identity: string, token: string): Agent => {
    const agent = createAgent({
      kubeConfig: kubeConfigFor(fleet.cluster(CLUSTER)),
      hub: fleet.grpcAddress,
      hubTls: { mode: "ca", caPem: fleet.tls.certPem },
      token,
      clusterName: CLUSTER,
      reconcileIntervalMs: 2_000,
      leaderElection: { identity, ...timing },
      logger: pino({ level: "debug", base: { replica: identity } }, createWriteStream(join(fleet.lab.dir, `agent-${identity}.log`), { flags: "a" })),
    });
    agents.push(agent);
    return agent;
  };

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-ha-seed-"));
    await writeFile(join(seed, "fleet.yaml"), "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: hello\n    path: hello\n    namespace: default\n    clusterSelector: {}\n");
    await mkdir(join(seed, "hello"));
    await writeFile(join(seed, "hello/config.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  leader: first\n");
    fleet = await startFleet({ clusters: [CLUSTER], seed, webhookOnPush: true });
  });

  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  it("only the leader works; the follower stands by, then takes over when the leader stops", async () => {
    const { secret: token } = await fleet.api.post<{ secret: string }>("/registration-tokens", { maxUses: 1, description: "ha replicas" });
    const first = replica("replica-a", token);
    await first.start();
    assert.equal(first.leading, true);
    const second = replica("replica-b", token);
    const secondStarted = second.start();
    await waitForSynced(fleet.api, CLUSTER, await fleet.head());

    // Watch the leader renew the lease three times while the follower waits.
    const renewals = new Set<string>();
    await waitFor(
      async () => {
        const seen = await lease();
        if (seen?.holder === "replica-a") renewals.add(seen.renewTime);
        return renewals.size >= 3;
      },
      { what: "three renewals of the lease by replica-a", timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(second.leading, false, "the follower does not lead");
    assert.equal(second.identity?.clusterId, undefined, "the follower has not even read the identity");
    assert.equal(second.lastReport, undefined, "the follower has not reconciled");
    assert.equal(second.hubConnected, false, "the follower holds no stream to the hub");
    assert.deepEqual(second.probes().ready, { ok: true, message: "standby: another replica holds the leader lease" });
    assert.equal(first.probes().ready.ok, true);
    assert.equal(first.probes().live.ok, true);

    await first.stop();
    await secondStarted;
    assert.equal(second.leading, true, "the follower took over");
    const taken = await lease();
    assert.equal(taken?.holder, "replica-b");
    assert.equal(taken?.transitions, 1);
    assert.equal(second.identity?.clusterName, CLUSTER, "it loaded the identity replica-a stored");

    const sha = await fleet.commit({ "hello/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  leader: second\n" }, "hello: second leader");
    const status = await waitForSynced(fleet.api, CLUSTER, sha);
    assert.equal(status.connected, true);
    const clusters = await fleet.api.get<{ items: ClusterStatusView[] }>("/clusters");
    assert.deepEqual(clusters.items.map((c) => c.name), [CLUSTER], "one cluster: the new leader did not register again");
    const { items: tokens } = await fleet.api.get<{ items: { description?: string; uses?: number }[] }>("/registration-tokens");
    assert.equal(tokens.find((t) => t.description === "ha replicas")?.uses, 1);

    // A follower stopped while it waits leaves the leader alone.
    const third = replica("replica-c", token);
    const thirdStarted = third.start();
    await waitFor(async () => (await readFile(join(fleet.lab.dir, "agent-replica-c.log"), "utf8")).includes('"msg":"another replica leads; standing by"'), {
      what: "replica-c to see replica-b's lease and stand by",
      timeoutMs: 10_000,
    });
    assert.deepEqual(third.probes().ready, { ok: true, message: "standby: another replica holds the leader lease" });
    await third.stop();
    await thirdStarted;
    assert.equal(third.leading, false);
    assert.equal((await lease())?.holder, "replica-b");
    assert.equal(second.leading, true);
  });
});
