import { strict as assert } from "node:assert";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError } from "./errors.js";
import { createKubeClient } from "./kube-client.js";

// Plain HTTP: client-node 2 allows it only with skipTLSVerify.
function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server, skipTLSVerify: true }],
    users: [{ name: "test", token: "test-token" }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  return kc;
}

/** A port nothing listens on: bound once, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the agent's Kubernetes client", () => {
  it("says why an API server cannot be reached, not only that the request failed", async () => {
    const kube = createKubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${await closedPort()}`) });
    await assert.rejects(kube.serverVersion(), (error: unknown) => {
      assert.ok(error instanceof KubeApiError);
      assert.equal(error.reason, "Unreachable");
      assert.match(error.message, /^server version: .*ECONNREFUSED/);
      return true;
    });
    await assert.rejects(kube.get({ group: "", version: "v1", kind: "ConfigMap", namespace: "apps", name: "web" }), (error: unknown) => {
      assert.ok(error instanceof KubeApiError);
      assert.match(error.message, /^ConfigMap apps\/web: .*ECONNREFUSED/);
      return true;
    });
  });

  it("sends the bundle's JSON untouched and maps the API server's refusal to its status and message", async () => {
    const seen: { method?: string; url?: string; contentType?: string; body?: string } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        if (req.url === "/api/v1") {
          res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "configmaps", namespaced: true, kind: "ConfigMap", verbs: [] }] }));
          return;
        }
        Object.assign(seen, { method: req.method, url: req.url, contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString() });
        res.statusCode = 422;
        res.end(JSON.stringify({ kind: "Status", status: "Failure", reason: "Invalid", message: "data.x: Invalid value" }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const kube = createKubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) });
      const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "apps" }, data: { x: "1" }, unknownField: true };
      await assert.rejects(kube.apply(object), (error: unknown) => {
        assert.ok(error instanceof KubeApiError);
        assert.equal(error.statusCode, 422);
        assert.equal(error.reason, "Invalid");
        assert.match(error.message, /ConfigMap apps\/web: .*data\.x: Invalid value/);
        return true;
      });
      assert.equal(seen.method, "PATCH");
      assert.equal(seen.url, "/api/v1/namespaces/apps/configmaps/web?fieldManager=gitfleet&force=true");
      assert.equal(seen.contentType, "application/apply-patch+yaml");
      assert.deepEqual(JSON.parse(seen.body ?? ""), object);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("lists objects with their apiVersion and kind, which the API server leaves out of a list's items", async () => {
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/v1") {
        res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "pods", namespaced: true, kind: "Pod", verbs: [] }] }));
        return;
      }
      res.end(JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "4711" }, items: [{ metadata: { name: "web-1", namespace: "apps" }, status: { phase: "Running" } }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const kube = createKubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) });
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web-1", namespace: "apps" }, status: { phase: "Running" } };
      assert.deepEqual(await kube.list({ apiVersion: "v1", kind: "Pod", namespace: "apps" }), [pod]);
      assert.deepEqual(await kube.listWithVersion({ apiVersion: "v1", kind: "Pod", namespace: "apps" }), { items: [pod], resourceVersion: "4711" });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("stops a watch at once when asked, while the server keeps the answer open", async () => {
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/v1") {
        res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "configmaps", namespaced: true, kind: "ConfigMap", verbs: [] }] }));
        return;
      }
      // One event, then nothing: the answer stays open, as a quiet watch does.
      res.write(`${JSON.stringify({ type: "ADDED", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "apps", resourceVersion: "7" } } })}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const kube = createKubeClient({ kubeConfig: kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) });
      const stop = new AbortController();
      const seen: string[] = [];
      const watching = kube.watch({ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", resourceVersion: "1" }, (event) => {
        seen.push(`${event.type} ${event.object.metadata.name}`);
        stop.abort();
      }, stop.signal);
      const outcome = await Promise.race([watching.then(() => "stopped"), new Promise((resolve) => setTimeout(resolve, 5_000, "still running"))]);
      assert.equal(outcome, "stopped");
      assert.deepEqual(seen, ["ADDED web"]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
