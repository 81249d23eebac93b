// The lab smoke test: every part of the lab is a real server doing real work.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { CoreV1Api, RbacAuthorizationV1Api, type KubernetesObject } from "@kubernetes/client-node";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { kubeConfigFor, readObject, serverSideApply, statusCodeOf } from "../kube-client.js";
import { startLab, type Lab, type LabClusterInfo } from "./lab.js";
import { mintUserCreds } from "./nats-users.js";
import { waitFor } from "./process.js";
import { isAlive } from "./state.js";

const run = promisify(execFile);

describe("lab", { timeout: 300_000 }, () => {
  let lab: Lab;
  let seed: string;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "gitfleet-lab-test-"));
    seed = join(work, "seed");
    await mkdir(seed);
    await writeFile(join(seed, "README.md"), "fleet repository\n");
    lab = await startLab({ clusters: 2, seeds: { fleet: seed }, workloads: false });
  });

  const clusterAt = (i: number): LabClusterInfo => {
    const c = lab.info().clusters[i];
    assert.ok(c, `lab cluster ${i + 1} exists`);
    return c;
  };

  after(async () => {
    await lab?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("server-side apply in cluster 1 lands there and not in cluster 2", async () => {
    const c1 = clusterAt(0);
    const c2 = clusterAt(1);
    const kc1 = kubeConfigFor(c1);
    await serverSideApply(kc1, { apiVersion: "v1", kind: "Namespace", metadata: { name: "smoke" } });
    await serverSideApply(kc1, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "hello", namespace: "smoke" },
      data: { greeting: "from cluster 1" },
    });
    const cm = await readObject<KubernetesObject & { data?: Record<string, string> }>(kc1, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "hello", namespace: "smoke" },
    });
    assert.equal(cm?.data?.["greeting"], "from cluster 1");
    const kc2 = kubeConfigFor(c2);
    assert.equal(await readObject(kc2, { apiVersion: "v1", kind: "Namespace", metadata: { name: "smoke" } }), undefined);
    assert.equal(
      await readObject(kc2, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hello", namespace: "smoke" } }),
      undefined,
    );
  });

  test("an RBAC-limited service account token is refused outside its Role", async () => {
    const c1 = clusterAt(0);
    const kc = kubeConfigFor(c1);
    for (const ns of ["team-a", "team-b"]) {
      await serverSideApply(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    }
    await serverSideApply(kc, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: "team-a" } });
    await serverSideApply(kc, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "configmap-reader", namespace: "team-a" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
    });
    await serverSideApply(kc, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "reader", namespace: "team-a" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "team-a" }],
    });
    const request = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: "reader",
      namespace: "team-a",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = request.status?.token;
    assert.ok(token, "TokenRequest returned a token");

    const limited = kubeConfigFor(c1, token).makeApiClient(CoreV1Api);
    // RBAC bindings take effect asynchronously in the authorizer's cache.
    await waitFor(async () => (await limited.listNamespacedConfigMap({ namespace: "team-a" })).items, {
      what: "the reader to list configmaps in team-a",
      timeoutMs: 20_000,
    });
    await assert.rejects(limited.listNamespacedConfigMap({ namespace: "team-b" }), (err: unknown) => statusCodeOf(err) === 403);
    await assert.rejects(
      limited.createNamespacedConfigMap({ namespace: "team-a", body: { metadata: { name: "nope" } } }),
      (err: unknown) => statusCodeOf(err) === 403,
    );
    await assert.rejects(
      kubeConfigFor(c1, token).makeApiClient(RbacAuthorizationV1Api).listClusterRole(),
      (err: unknown) => statusCodeOf(err) === 403,
    );
  });

  test("a commit pushed with isomorphic-git shows up in a fresh clone", async () => {
    const info = lab.info();
    const dir = join(work, "iso");
    const onAuth = () => ({ username: info.git.user, password: info.git.token });
    const url = lab.git.plainUrl("fleet");
    await git.clone({ fs, http, dir, url, ref: "main", singleBranch: true, depth: 1, onAuth });
    await writeFile(join(dir, "fleet.yaml"), "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles: []\n");
    await git.add({ fs, dir, filepath: "fleet.yaml" });
    const sha = await git.commit({ fs, dir, message: "add fleet.yaml", author: { name: "smoke", email: "smoke@example.test" } });
    await git.push({ fs, http, dir, url, ref: "main", onAuth });

    const fresh = join(work, "fresh");
    await run("git", ["clone", "--quiet", info.git.url, fresh]);
    const { stdout } = await run("git", ["-C", fresh, "rev-parse", "HEAD"]);
    assert.equal(stdout.trim(), sha);
    assert.match(await readFile(join(fresh, "fleet.yaml"), "utf8"), /kind: Fleet/);
  });

  test("a minted NATS user can use its own KV keys and is denied elsewhere", async () => {
    const info = lab.info();
    const admin = await connect({
      servers: info.nats.url,
      authenticator: credsAuthenticator(await readFile(info.nats.creds)),
    });
    try {
      const kv = await new Kvm(admin).create("smoke", { allow_direct: true });
      await kv.put("c1.desired", "v1");
      await kv.put("c2.desired", "secret of c2");

      const user = await mintUserCreds({
        accountPublicKey: info.nats.accountPublicKey,
        accountSigningSeed: info.nats.accountSigningSeed,
        name: "smoke-c1",
        inboxPrefix: "_INBOX_c1",
        pub: {
          allow: [
            "$JS.API.INFO",
            "$JS.API.STREAM.INFO.KV_smoke",
            "$JS.API.DIRECT.GET.KV_smoke.$KV.smoke.c1.>",
            "$JS.API.CONSUMER.CREATE.KV_smoke.*.$KV.smoke.c1.>",
            "$JS.API.CONSUMER.INFO.KV_smoke.*",
            "$JS.FC.KV_smoke.>",
          ],
        },
        sub: { allow: [] },
      });
      const nc = await connect({
        servers: info.nats.url,
        authenticator: credsAuthenticator(new TextEncoder().encode(user.creds)),
        inboxPrefix: "_INBOX_c1",
      });
      try {
        // open() does not learn allow_direct from the stream: ask for direct gets.
        const mine = await new Kvm(nc).open("smoke", { allow_direct: true });
        assert.equal((await mine.get("c1.desired"))?.string(), "v1");

        const seen: string[] = [];
        const watch = await mine.watch({ key: "c1.>" });
        const watching = (async () => {
          for await (const e of watch) {
            seen.push(e.string());
            if (e.string() === "v2") break;
          }
        })();
        await kv.put("c1.desired", "v2");
        await waitFor(() => seen.includes("v2"), { what: "the watch to see v2", timeoutMs: 10_000 });
        watch.stop();
        await watching;

        await assert.rejects(mine.get("c2.desired"), /permission|timeout/i);
        await assert.rejects(
          (async () => {
            nc.publish("gitfleet.status.c2", "forged");
            await nc.flush();
            // Permission violations arrive asynchronously as a status; a request makes it surface.
            await nc.request("gitfleet.status.c2", "forged", { timeout: 2_000 });
          })(),
          /permission|timeout|no responders/i,
        );
      } finally {
        await nc.close();
      }
    } finally {
      await admin.close();
    }
  });

  test("stop() leaves no process and no folder behind", async () => {
    const processes = [...lab.clusters.flatMap((c) => c.processes), lab.nats.process];
    const dir = lab.dir;
    await lab.stop();
    for (const p of processes) assert.equal(isAlive(p.pid), false, `${p.name} (pid ${p.pid}) is gone`);
    await assert.rejects(stat(dir), /ENOENT/);
  });
});
