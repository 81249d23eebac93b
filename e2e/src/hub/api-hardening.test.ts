// Scenario: the admin API under attack: token guessing, oversized bodies, unsigned webhooks.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { skipUnlessTool } from "../lab/skip.js";
import { api, skipWithoutNats, startHub, startNatsFixture, type HubFixture, type NatsFixture } from "./harness.js";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

/** Sends only the request line and headers and answers the status line the hub sends back without waiting for a body. */
function headersOnly(baseUrl: string, head: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname, () => socket.write(head));
    let answer = "";
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s to a request whose body never came; got ${JSON.stringify(answer)}`));
    });
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes("\r\n\r\n")) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on("error", reject);
  });
}

void describe("the admin API holds against guessing and flooding", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  const webhookSecret = "a-webhook-secret-for-hardening-tests";

  void before(async () => {
    nats = await startNatsFixture();
    fixture = await startHub(nats, { webhookSecret, apiFailedAuthLimit: { max: 5, windowMs: 60_000 } });
  });

  void after(async () => {
    await fixture?.stop();
    await nats?.close();
  });

  void it("refuses a JSON body over its route's limit with 413", async () => {
    const res = await api<{ error: { code: string } }>(fixture.baseUrl, "POST", "/api/v1/registration-tokens", {
      token: fixture.adminToken,
      body: { description: "x".repeat(100 * 1024) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, "payload-too-large");
  });

  void it("refuses an unsigned or oversized webhook before reading its body", async () => {
    const head = (headers: string) =>
      `POST /api/v1/webhooks/git HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 26214400\r\n${headers}\r\n`;
    assert.match(await headersOnly(fixture.baseUrl, head("")), /^HTTP\/1\.1 401 /, "no signature: refused without the body");
    const signed = `X-Hub-Signature-256: sha256=${"0".repeat(64)}\r\n`;
    assert.match(await headersOnly(fixture.baseUrl, head(signed)), /^HTTP\/1\.1 413 /, "25 MiB announced: refused without the body");
  });

  void it("answers 429 with Retry-After once one address fails to authenticate too often, and never limits a valid token", async () => {
    const guess = (n: number) => api(fixture.baseUrl, "GET", "/api/v1/clusters", { token: `guess-${n}-${"x".repeat(32)}` });
    // The limit is 5 failures a minute, counted across routes (a bad webhook signature counts too).
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) statuses.push((await guess(n)).status);
    const first429 = statuses.indexOf(429);
    assert.ok(first429 > 0 && statuses.slice(0, first429).every((s) => s === 401), `401s, then 429: ${statuses.join(" ")}`);
    const limited = await fetch(`${fixture.baseUrl}/api/v1/clusters`, { headers: { authorization: "Bearer another-guess-0123456789abcdef0123456789" } });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is ${limited.headers.get("retry-after")}`);
    assert.match(((await limited.json()) as { error: { message: string } }).error.message, /too many failed authentications/);
    for (let n = 0; n < 10; n++) {
      assert.equal((await api(fixture.baseUrl, "GET", "/api/v1/clusters", { token: fixture.adminToken })).status, 200, "a valid token is never limited");
    }
  });
});

void describe("the admin API over TLS", { skip: skipWithoutNats || skipUnlessTool(hasOpenssl ? false : "openssl is not installed") }, () => {
  let nats: NatsFixture;
  let fixture: HubFixture;
  let dir: string;
  let ca: string;

  void before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-api-tls-"));
    const certPath = join(dir, "tls.crt");
    const keyPath = join(dir, "tls.key");
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", keyPath, "-out", certPath,
    ]);
    assert.equal(made.status, 0, made.stderr.toString());
    ca = await readFile(certPath, "utf8");
    nats = await startNatsFixture();
    fixture = await startHub(nats, { apiTls: { certPath, keyPath } });
  });

  void after(async () => {
    await fixture?.stop();
    await nats?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it("serves HTTPS with the configured certificate, and no plain HTTP", async () => {
    const port = new URL(fixture.baseUrl).port;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpsGet({ host: "127.0.0.1", port, path: "/api/v1/clusters", ca, servername: "localhost", headers: { authorization: `Bearer ${fixture.adminToken}` } }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      }).on("error", reject);
    });
    assert.equal(answer.status, 200, answer.body);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), "plain HTTP gets no answer");
  });
});
