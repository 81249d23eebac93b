import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import Fastify, { type FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { HubError } from "../errors.js";
import { storeError } from "../store/buckets.js";
import { answerFrameworkError, installErrorHandler, maxPathParameterLength } from "./error-handler.js";

/** An app whose routes fail in each way a handler can, logging into `lines`. */
async function failingApp(lines: string[]) {
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
  const loggerInstance: FastifyBaseLogger = pino(sink);
  const app = Fastify({ loggerInstance, genReqId: () => randomUUID() });
  installErrorHandler(app);
  app.get("/crash", () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.7:4222 at /srv/hub/secret-path")));
  app.get("/store", () => Promise.reject(storeError("cannot read cluster prod", new Error("nats: 10.0.0.7 permissions violation"))));
  app.get("/internal", () => Promise.reject(new HubError("internal", "lock key \"x\" is not a valid KV key")));
  app.get("/busy", () => Promise.reject(new HubError("unavailable", "cluster c1 is under heavy contention; try again")));
  app.get("/bad", () => Promise.reject(new HubError("invalid-argument", "body/ttl: not a duration")));
  await app.ready();
  return app;
}

void describe("5xx answers", () => {
  void it("never echo an error's own text: they give a request id, and the log has the error under it", async () => {
    const lines: string[] = [];
    const app = await failingApp(lines);
    for (const [url, status] of [["/crash", 500], ["/store", 503], ["/internal", 500]] as const) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, status, url);
      const message = res.json<{ error: { message: string } }>().error.message;
      assert.doesNotMatch(message, /10\.0\.0\.7|secret-path|ECONNREFUSED|KV key|permissions/, url);
      assert.match(message, /request id [0-9a-f-]{36}$/, url);
      const requestId = /request id (\S+)$/.exec(message)?.[1] ?? "";
      assert.ok(lines.some((l) => l.includes(requestId) && l.includes('"level":50')), `${url}: the error is logged under ${requestId}`);
    }
    assert.ok(lines.some((l) => l.includes("ECONNREFUSED 10.0.0.7:4222")), "the log keeps the real error");
    await app.close();
  });

  void it("keep a message the hub wrote for the caller, and 4xx keep theirs", async () => {
    const app = await failingApp([]);
    const busy = await app.inject({ url: "/busy" });
    assert.equal(busy.statusCode, 503);
    assert.match(busy.body, /under heavy contention; try again/);
    const bad = await app.inject({ url: "/bad" });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /body\/ttl: not a duration/);
    await app.close();
  });
});

void describe("what the router refuses (found by fuzzing)", () => {
  void it("answers with the API's error body, saying what is wrong", async () => {
    const app = Fastify({ frameworkErrors: answerFrameworkError, routerOptions: { maxParamLength: maxPathParameterLength } });
    installErrorHandler(app);
    app.get("/clusters/:name", () => ({ ok: true }));
    await app.ready();
    const long = await app.inject({ method: "GET", url: `/clusters/${"a".repeat(101)}` });
    assert.equal(long.statusCode, 414);
    assert.deepEqual(long.json(), {
      error: { code: "invalid-argument", message: "a path parameter is longer than 100 characters; no cluster, bundle, token or promotion has a name that long" },
    });
    const bad = await app.inject({ method: "GET", url: "/clusters/%zz" });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { error: { code: "invalid-argument", message: "the URL is not valid: a percent-encoded sequence does not decode" } });
    assert.equal((await app.inject({ method: "GET", url: `/clusters/${"a".repeat(100)}` })).statusCode, 200);
  });
});
