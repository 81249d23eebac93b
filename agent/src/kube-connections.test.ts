import { strict as assert } from "node:assert";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { createKubeClient } from "./kube-client.js";
import { shareConnections } from "./kube-connections.js";

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
      const kc = new KubeConfig();
      kc.loadFromOptions({
        // Plain HTTP: client-node 2 allows it only with skipTLSVerify, which also gives each request a dispatcher of its own.
        clusters: [{ name: "test", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
        users: [{ name: "test", token: "test-token" }],
        contexts: [{ name: "test", cluster: "test", user: "test" }],
        currentContext: "test",
      });
      const kube = createKubeClient({ kubeConfig: kc });
      for (let i = 0; i < 10; i++) assert.equal(await kube.serverVersion(), "v1.36.0");
      // A request sent while the previous connection is being handed back may open a second one.
      assert.ok(connections <= 2, `ten requests one after the other opened ${connections} connections`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("get a new pool when the TLS material changes, and the old one is closed", () => {
    const made: Array<{ options: Record<string, unknown>; closed: boolean; close(): Promise<void> }> = [];
    const fake = {
      createDispatcher(_cluster: unknown, options: Record<string, unknown>) {
        const dispatcher = {
          options,
          closed: false,
          close() {
            dispatcher.closed = true;
            return Promise.resolve();
          },
        };
        made.push(dispatcher);
        return dispatcher;
      },
    };
    const kc = shareConnections(fake as unknown as KubeConfig);
    assert.equal(shareConnections(kc), kc, "sharing twice changes nothing");
    const shared = kc as unknown as typeof fake;
    const cluster = { server: "https://127.0.0.1:6443" };
    const first = shared.createDispatcher(cluster, { ca: Buffer.from("ca-1"), cert: Buffer.from("cert-1") });
    assert.equal(shared.createDispatcher(cluster, { ca: Buffer.from("ca-1"), cert: Buffer.from("cert-1") }), first, "the same material, the same pool");
    const rotated = shared.createDispatcher(cluster, { ca: Buffer.from("ca-1"), cert: Buffer.from("cert-2") });
    assert.notEqual(rotated, first, "a rotated client certificate gets a new pool");
    assert.equal(made.length, 2);
    assert.equal(made[0]?.closed, true, "the replaced pool is closed");
    assert.equal(made[1]?.closed, false);
  });
});
