import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Socket } from "node:net";
import type { RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { createKubeClient, loadKubeConfig } from "./kube-client.js";
import type { KubeConfigLike } from "./kube-config.js";

/** A configuration for a plain-HTTP test server: client-node 2 allows plain HTTP only with skipTLSVerify. */
function plainHttpConfig(server: Server): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "test", token: "test-token" }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  return kc;
}

describe("connections to the API server", () => {
  it("are shared by the agent's requests instead of one per request", async () => {
    let connections = 0;
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "36", gitVersion: "v1.36.0" }));
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      // With skipTLSVerify client-node 2 also gives each request a dispatcher of its own.
      const kc = plainHttpConfig(server);
      const kube = createKubeClient({ kubeConfig: kc });
      for (let i = 0; i < 10; i++) assert.equal(await kube.serverVersion(), "v1.36.0");
      // A request sent while the previous connection is being handed back may open a second one.
      assert.ok(connections <= 2, `ten requests one after the other opened ${connections} connections`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("are shared too with the agent's own configuration, loaded from a kubeconfig file", async () => {
    let connections = 0;
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "36", gitVersion: req.headers.authorization === "Bearer file-token" ? "v1.36.0" : "unauthorized" }));
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const dir = await mkdtemp(join(tmpdir(), "kubeconfig-"));
    try {
      const file = join(dir, "kubeconfig");
      await writeFile(
        file,
        [
          "apiVersion: v1",
          "kind: Config",
          "current-context: test",
          "clusters:",
          `  - name: test\n    cluster:\n      server: http://127.0.0.1:${(server.address() as AddressInfo).port}/\n      insecure-skip-tls-verify: true`,
          "users:",
          "  - name: test\n    user:\n      token: file-token",
          "contexts:",
          "  - name: test\n    context:\n      cluster: test\n      user: test",
          "",
        ].join("\n"),
      );
      const kube = createKubeClient({ kubeConfig: loadKubeConfig(file) });
      for (let i = 0; i < 10; i++) assert.equal(await kube.serverVersion(), "v1.36.0");
      assert.ok(connections <= 2, `ten requests one after the other opened ${connections} connections`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("get a new pool when the TLS material changes, and the old one is closed", async () => {
    const sockets: Array<{ socket: Socket; closed: boolean }> = [];
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "36", gitVersion: "v1.36.0" }));
    });
    server.on("connection", (socket: Socket) => {
      const entry = { socket, closed: false };
      sockets.push(entry);
      socket.on("close", () => (entry.closed = true));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      // A configuration whose client certificate is rotated between requests (plain HTTP ignores it; the pools do not).
      let cert = "cert-1";
      const config: KubeConfigLike = {
        getCurrentCluster: () => ({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }),
        applyToHTTPSOptions: (opts: RequestOptions) => {
          opts.ca = Buffer.from("ca-1");
          opts.cert = Buffer.from(cert);
          return Promise.resolve();
        },
      };
      const kube = createKubeClient({ kubeConfig: config });
      for (let i = 0; i < 3; i++) await kube.serverVersion();
      assert.equal(sockets.length, 1, "the same material, the same pool");
      cert = "cert-2";
      for (let i = 0; i < 3; i++) await kube.serverVersion();
      assert.equal(sockets.length, 2, "a rotated client certificate gets a new pool");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sockets[0]?.closed, true, "the replaced pool is closed");
      assert.equal(sockets[1]?.closed, false);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a watch stopped before it starts ends at once, without asking the server", async () => {
    const watches: string[] = [];
    const server = createServer((req, res) => {
      if (req.url?.includes("watch=true")) {
        watches.push(req.url);
        return; // held open, as a watch with nothing to tell is
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ kind: "APIResourceList", groupVersion: "v1", resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true, verbs: ["list", "watch"] }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const kc = plainHttpConfig(server);
      const kube = createKubeClient({ kubeConfig: kc });
      const stopped = AbortSignal.abort();
      // Without the check the watch would wait for its inactivity timeout (minutes), the agent's stop with it.
      const outcome = await Promise.race([
        kube.watch({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", resourceVersion: "1" }, () => undefined, stopped).then(() => "ended"),
        new Promise((resolve) => setTimeout(() => resolve("still watching after 3 s"), 3_000).unref()),
      ]);
      assert.equal(outcome, "ended");
      assert.deepEqual(watches, []);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
