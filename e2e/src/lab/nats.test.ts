import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import {
  connect,
  credsAuthenticator,
  PermissionViolationError,
  type NatsConnection,
} from "@nats-io/transport-node";
import { startNats, type NatsLab } from "./nats.js";
import { mintUserCreds, type MintUserOptions } from "./nats-users.js";
import { waitFor } from "./process.js";
import { skipUnlessTool } from "./skip.js";

const binary = process.env["GITFLEET_NATS_SERVER_BIN"];
const skip = skipUnlessTool(
  binary ? false : "GITFLEET_NATS_SERVER_BIN is not set (path of a nats-server binary, e.g. built from e2e/servers/nats-server)",
);

const bucket = "desired";
const stream = `KV_${bucket}`;

/**
 * The per-cluster scope from STACK-NOTES for cluster `c1`. The status and
 * command subjects are placeholders until the hub fixes its subject layout.
 */
function clusterScope(cluster: string): Omit<MintUserOptions, "accountPublicKey" | "accountSigningSeed"> {
  return {
    name: `agent-${cluster}`,
    pub: {
      allow: [
        `gitfleet.status.${cluster}.>`,
        "$JS.API.INFO",
        `$JS.API.STREAM.INFO.${stream}`,
        // Direct get puts the key in the subject (last_by_subj), so it can be scoped.
        `$JS.API.DIRECT.GET.${stream}.$KV.${bucket}.${cluster}.>`,
        // The watcher's consumer name is random (`*`); its filter is in the subject.
        `$JS.API.CONSUMER.CREATE.${stream}.*.$KV.${bucket}.${cluster}.>`,
        `$JS.API.CONSUMER.INFO.${stream}.*`,
        `$JS.FC.${stream}.>`,
      ],
    },
    sub: { allow: [`gitfleet.cmd.${cluster}.>`] },
    inboxPrefix: `_INBOX_${cluster}`,
  };
}

/** True when `err` or one of its causes is a NATS permissions violation. */
function isPermissionViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof PermissionViolationError || /permissions violation/i.test(e.message)) return true;
  }
  return false;
}

/** Reads entries from a KV watch into an array until the watch is stopped. */
function collect(iter: AsyncIterable<KvEntry>): { entries: KvEntry[]; done: Promise<void> } {
  const entries: KvEntry[] = [];
  const done = (async () => {
    for await (const e of iter) entries.push(e);
  })();
  return { entries, done };
}

void describe("lab NATS server", { skip }, () => {
  let dir: string;
  let lab: NatsLab;
  let admin: NatsConnection;
  let adminKv: KV;

  void before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-nats-"));
    lab = await startNats({ binary: binary ?? "", dir });
    admin = await connect({
      servers: lab.url,
      authenticator: credsAuthenticator(await readFile(lab.adminCredsPath)),
    });
    // allow_direct makes get() use $JS.API.DIRECT.GET.<stream>.<subject>,
    // the only read path whose subject names the key.
    adminKv = await new Kvm(admin).create(bucket, { allow_direct: true, history: 5 });
    await adminKv.put("c1.desired", "c1 v1");
    await adminKv.put("c2.desired", "c2 v1");
  });

  void after(async () => {
    await admin?.close();
    await lab?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it("serves JetStream to the admin user on loopback", async () => {
    assert.match(lab.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${lab.monitorUrl}/healthz?js-enabled-only=true`);
    assert.equal(health.status, 200);
    assert.equal((await adminKv.get("c1.desired"))?.string(), "c1 v1");
  });

  void describe("a user scoped to cluster c1", () => {
    let agent: NatsConnection;
    let kv: KV;
    let creds: string;

    void before(async () => {
      const user = await mintUserCreds({
        accountPublicKey: lab.accountPublicKey,
        accountSigningSeed: lab.accountSigningSeed,
        ...clusterScope("c1"),
      });
      creds = user.creds;
      agent = await connect({
        servers: lab.url,
        authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
        // Every reply (requests, the watcher's push deliveries) goes to
        // `<inboxPrefix>.…`; the default `_INBOX` is not in this user's scope.
        inboxPrefix: "_INBOX_c1",
      });
      // Kvm.open binds without any JetStream API call (no $JS.API.INFO, no
      // STREAM.INFO), but it does not learn allow_direct from the stream:
      // it must be passed here, or get() uses STREAM.MSG.GET.
      kv = await new Kvm(agent).open(bucket, { allow_direct: true });
    });

    void after(async () => {
      await agent?.close();
    });

    void it("gets its own key", async () => {
      assert.equal((await kv.get("c1.desired"))?.string(), "c1 v1");
    });

    void it("watches its own key prefix and sees the admin's put", async () => {
      const watch = await kv.watch({ key: "c1.>" });
      const seen = collect(watch);
      await adminKv.put("c2.desired", "c2 v2");
      await adminKv.put("c1.desired", "c1 v2");
      await waitFor(() => seen.entries.some((e) => e.string() === "c1 v2"), {
        what: "the c1 watcher to see the admin's put of c1.desired",
        timeoutMs: 10_000,
      });
      watch.stop();
      await seen.done;
      assert.ok(seen.entries.every((e) => e.key.startsWith("c1.")), "watcher saw only c1 keys");
    });

    void it("is denied another cluster's key", async () => {
      await assert.rejects(kv.get("c2.desired"), isPermissionViolation);
      await assert.rejects(kv.watch({ key: "c2.>" }), isPermissionViolation);
    });

    void it("cannot widen its scope through a request body", async () => {
      // The permission checks only the subject; the server must refuse a body
      // that names another cluster's key or filter.
      const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
      const get = await agent.request(
        `$JS.API.DIRECT.GET.${stream}.$KV.${bucket}.c1.desired`,
        json({ last_by_subj: `$KV.${bucket}.c2.desired` }),
      );
      assert.notEqual(get.headers?.code ?? 0, 0, "direct get with an overriding body is refused");
      assert.equal(get.data.length, 0);

      const create = await agent.request(
        `$JS.API.CONSUMER.CREATE.${stream}.sneaky.$KV.${bucket}.c1.>`,
        json({
          stream_name: stream,
          config: {
            name: "sneaky",
            ack_policy: "none",
            deliver_subject: "_INBOX_c1.sneaky",
            filter_subject: `$KV.${bucket}.c2.>`,
          },
        }),
      );
      const reply = create.json<{ error?: { err_code?: number } }>();
      // 10131: "Consumer create request did not match filtered subject from create subject".
      assert.equal(reply.error?.err_code, 10131);
    });

    void it("is denied reads without allow_direct (STREAM.MSG.GET cannot be scoped)", async () => {
      const plain = await new Kvm(agent).open(bucket);
      await assert.rejects(plain.get("c1.desired"), isPermissionViolation);
    });

    void it("is denied publishing outside its subjects", async () => {
      // A connection of its own, so its status loop ends with this test.
      const pub = await connect({
        servers: lab.url,
        authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
        inboxPrefix: "_INBOX_c1",
      });
      const errors: unknown[] = [];
      const statusLoop = (async () => {
        for await (const s of pub.status()) if (s.type === "error") errors.push(s.error);
      })();
      const spy = admin.subscribe("gitfleet.status.>");
      const delivered: string[] = [];
      const spyLoop = (async () => {
        for await (const m of spy) delivered.push(m.subject);
      })();
      await admin.flush();

      pub.publish("gitfleet.status.c2.heartbeat", "pretending to be c2");
      pub.publish("gitfleet.status.c1.heartbeat", "c1 is fine");
      await waitFor(() => errors.some(isPermissionViolation), {
        what: "a permissions violation for the publish to gitfleet.status.c2.heartbeat",
        timeoutMs: 5_000,
      });
      const violation = errors.find((e) => e instanceof PermissionViolationError);
      assert.equal(violation?.subject, "gitfleet.status.c2.heartbeat");
      // The server handled the publish before answering this flush; anything
      // it delivered to the admin precedes the admin's own PONG.
      await pub.flush();
      await admin.flush();
      assert.deepEqual(delivered, ["gitfleet.status.c1.heartbeat"]);
      assert.equal(errors.length, 1, "only the publish outside the scope was refused");

      spy.unsubscribe();
      await pub.close();
      await Promise.all([spyLoop, statusLoop]);
    });
  });

  void it("keeps JetStream data across a restart on the same URL", async () => {
    const url = lab.url;
    const oldPid = lab.process.pid;
    await lab.restart();
    assert.equal(lab.url, url);
    assert.notEqual(lab.process.pid, oldPid);
    const nc = await connect({
      servers: lab.url,
      authenticator: credsAuthenticator(await readFile(lab.adminCredsPath)),
    });
    try {
      const kv = await new Kvm(nc).open(bucket, { allow_direct: true });
      assert.equal((await kv.get("c1.desired"))?.string(), "c1 v2");
    } finally {
      await nc.close();
    }
  });

  void it("stops the server process", async () => {
    await admin.close();
    await lab.stop();
    assert.ok(lab.process.hasExited());
    await assert.rejects(fetch(`${lab.monitorUrl}/healthz`));
  });
});
