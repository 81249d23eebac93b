import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createHubClient, HubApiError } from "./hub-client.js";

void describe("the hub client", () => {
  let silent: Server;
  let url: string;

  before(async () => {
    // Accepts requests and never answers them.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });

  after(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  void it("gives up on a hub that does not answer, as unavailable, naming the request and the limit", async () => {
    const client = createHubClient({ url, token: "t", timeoutMs: 300 });
    const started = Date.now();
    const err = await client.get("/clusters").then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HubApiError);
    assert.equal(err.code, "unavailable");
    assert.match(err.message, /did not answer GET \/clusters within 0\.3 s/);
    assert.ok(Date.now() - started < 5_000, "gave up near its limit");
  });

  void it("does not limit a stream, which ends with its caller's signal", async () => {
    const client = createHubClient({ url, token: "t", timeoutMs: 100 });
    const controller = new AbortController();
    const pending = client.stream("/events", { signal: controller.signal });
    const outcome = await Promise.race([pending.then(() => "answered", () => "failed"), new Promise((r) => setTimeout(() => r("waiting"), 500))]);
    assert.equal(outcome, "waiting", "still waiting past the request limit");
    controller.abort();
    await assert.rejects(pending);
  });
});
