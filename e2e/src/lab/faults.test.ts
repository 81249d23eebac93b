// Fault injection with the real toxiproxy: latency delays round trips, drops reset connections,
// a partition cuts open connections and refuses new ones until it heals.
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { FaultProxy } from "./faults.js";
import { startLab, type Lab } from "./lab.js";
import { waitFor } from "./process.js";
import { skipUnlessTool } from "./skip.js";

const skip = skipUnlessTool(
  process.env["GITFLEET_NATS_SERVER_BIN"] ? false : "GITFLEET_NATS_SERVER_BIN is not set (path of a nats-server binary, e.g. built from e2e/servers/nats-server)",
);

/** A TCP echo server on loopback. */
async function echoServer(): Promise<{ server: Server; address: string }> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const addr = server.address();
  assert.ok(addr && typeof addr === "object");
  return { server, address: `127.0.0.1:${addr.port}` };
}

function split(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Opens a TCP connection; rejects when it is refused. */
async function dial(address: string): Promise<Socket> {
  const socket = createConnection(split(address));
  await Promise.race([
    once(socket, "connect"),
    once(socket, "error").then(([err]) => {
      throw err as Error;
    }),
  ]);
  return socket;
}

/** Sends a line and waits for it to come back; returns the round trip in ms. */
async function roundTrip(socket: Socket, text: string): Promise<number> {
  const started = performance.now();
  let got = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.includes(text)) done();
    };
    const onEnd = (): void => done(new Error(`connection closed before the echo of ${text}`));
    const onError = (err: Error): void => done(err);
    const done = (err?: Error): void => {
      socket.off("data", onData).off("close", onEnd).off("error", onError);
      if (err) reject(err);
      else resolve();
    };
    socket.on("data", onData).on("close", onEnd).on("error", onError);
    socket.write(text);
  });
  return performance.now() - started;
}

/** Resolves with how the socket ended: "reset" (ECONNRESET), "closed" or "error: ...". */
function ending(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNRESET" ? "reset" : `error: ${err.code ?? err.message}`));
    socket.once("close", () => resolve("closed"));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

describe("lab fault injection (toxiproxy)", { skip, timeout: 180_000 }, () => {
  let lab: Lab;
  let echo: { server: Server; address: string };
  let proxy: FaultProxy;
  const sockets: Socket[] = [];
  const conns: NatsConnection[] = [];
  const track = (s: Socket): Socket => {
    sockets.push(s);
    s.on("error", () => {});
    return s;
  };

  before(async () => {
    // faults: false — toxiproxy starts on the first proxy asked for.
    lab = await startLab({ clusters: 0, workloads: false });
    echo = await echoServer();
    proxy = await lab.faults.proxy("echo", echo.address);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.allSettled(conns.map((nc) => nc.close()));
    await lab?.stop();
    echo?.server.close();
  });

  test("a proxy forwards to its upstream on its own loopback port, and the lab info names toxiproxy's API", async () => {
    assert.match(proxy.listen, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(proxy.listen, echo.address);
    assert.equal(proxy.upstream, echo.address);
    const s = track(await dial(proxy.listen));
    await roundTrip(s, "hello\n");
    s.destroy();
    const api = lab.info().faults?.apiUrl;
    assert.ok(api, "lab info carries the faults API once it runs");
    const res = await fetch(`${api}/proxies`);
    assert.ok(Object.keys((await res.json()) as object).includes("echo"));
    assert.deepEqual(lab.faults.proxies().map((p) => p.name), ["echo"]);
  });

  test("latency delays the round trips of open and new connections, and reset removes it", async () => {
    const s = track(await dial(proxy.listen));
    const base = median([await roundTrip(s, "a\n"), await roundTrip(s, "b\n"), await roundTrip(s, "c\n")]);
    await proxy.latency(300);
    const slowOpen = median([await roundTrip(s, "d\n"), await roundTrip(s, "e\n"), await roundTrip(s, "f\n")]);
    assert.ok(slowOpen >= 290, `round trips on an open connection take ≥ 300 ms with the latency (median ${slowOpen.toFixed(0)} ms, ${base.toFixed(1)} ms before)`);
    const fresh = track(await dial(proxy.listen));
    const slowNew = await roundTrip(fresh, "g\n");
    assert.ok(slowNew >= 290, `a new connection's round trip takes ≥ 300 ms (${slowNew.toFixed(0)} ms)`);

    // Over NATS too: a request through a proxy in front of the NATS server pays the latency.
    const natsProxy = await lab.faults.proxy("nats", lab.nats.url.replace("nats://", ""));
    const creds = await readFile(lab.nats.adminCredsPath);
    const nc = await connect({ servers: `nats://${natsProxy.listen}`, authenticator: credsAuthenticator(creds), timeout: 10_000 });
    conns.push(nc);
    const rttBefore = await nc.rtt();
    await natsProxy.latency(200, 20);
    const rttAfter = await nc.rtt();
    assert.ok(rttAfter >= 170, `a NATS round trip through the proxy takes ≥ 180 ms (${rttAfter.toFixed(0)} ms, ${rttBefore.toFixed(1)} ms before)`);
    await natsProxy.reset();
    assert.ok((await nc.rtt()) < 150, "the NATS round trip is fast again after reset");

    await proxy.reset();
    const after = await roundTrip(s, "h\n");
    assert.ok(after < 150, `reset removes the latency (${after.toFixed(0)} ms)`);
    s.destroy();
    fresh.destroy();
  });

  test("a partition cuts open connections and refuses new ones; restore heals it on the same port", async () => {
    const s = track(await dial(proxy.listen));
    await roundTrip(s, "before\n");
    const ended = ending(s);
    await proxy.partition();
    assert.equal(proxy.partitioned(), true);
    const how = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r("still open"), 5_000))]);
    assert.notEqual(how, "still open", "the open connection was cut");
    await assert.rejects(dial(proxy.listen), /ECONNREFUSED/, "new connections are refused while partitioned");

    await proxy.restore();
    assert.equal(proxy.partitioned(), false);
    const again = track(await dial(proxy.listen));
    await roundTrip(again, "after\n");
    again.destroy();
  });

  test("a blackhole partition keeps connections open but silent; restore lets bytes through again", async () => {
    const s = track(await dial(proxy.listen));
    await roundTrip(s, "before\n");
    let closed = false;
    s.once("close", () => (closed = true));
    await proxy.partition(undefined, { blackhole: true });
    assert.equal(proxy.partitioned(), true);
    const silent = await Promise.race([roundTrip(s, "lost\n").then(() => "answered"), new Promise<string>((r) => setTimeout(() => r("silent"), 1_500))]);
    assert.equal(silent, "silent", "nothing comes back through a blackhole");
    const fresh = track(await dial(proxy.listen));
    const freshSilent = await Promise.race([roundTrip(fresh, "new\n").then(() => "answered"), new Promise<string>((r) => setTimeout(() => r("silent"), 1_000))]);
    assert.equal(freshSilent, "silent", "a new connection is accepted into the same silence");
    assert.equal(closed, false, "the open connection was not closed");

    await proxy.restore();
    assert.equal(proxy.partitioned(), false);
    const again = track(await dial(proxy.listen));
    await roundTrip(again, "after\n");
    for (const x of [s, fresh, again]) x.destroy();
  });

  test("a timed partition heals by itself; a NATS client through the proxy reconnects afterwards", async () => {
    const natsProxy = lab.faults.proxies().find((p) => p.name === "nats");
    assert.ok(natsProxy);
    const creds = await readFile(lab.nats.adminCredsPath);
    const nc = await connect({ servers: `nats://${natsProxy.listen}`, authenticator: credsAuthenticator(creds), reconnectTimeWait: 200, maxReconnectAttempts: -1, timeout: 5_000 });
    conns.push(nc);
    const seen: string[] = [];
    void (async () => {
      for await (const s of nc.status()) seen.push(s.type);
    })();
    const started = Date.now();
    await natsProxy.partition(2_000);
    await waitFor(() => seen.includes("disconnect"), { what: "the NATS client to see the cut", timeoutMs: 10_000 });
    await assert.rejects(dial(natsProxy.listen), /ECONNREFUSED/);
    await waitFor(() => seen.includes("reconnect"), { what: "the NATS client to reconnect after the partition", timeoutMs: 20_000 });
    const healedAfter = Date.now() - started;
    assert.ok(healedAfter >= 1_900, `the partition lasted its 2 s (reconnected after ${healedAfter} ms)`);
    assert.equal(natsProxy.partitioned(), false);
    await nc.flush();
  });

  test("drops with share 1 reset every connection once it carries data; share 0 stops dropping", async () => {
    await proxy.drops(1);
    for (let i = 0; i < 3; i++) {
      const s = track(await dial(proxy.listen));
      const ended = ending(s);
      s.write("doomed\n");
      assert.equal(await ended, "reset", "the connection is reset (TCP RST)");
    }
    await proxy.drops(0);
    const s = track(await dial(proxy.listen));
    await roundTrip(s, "alive\n");
    s.destroy();
  });

  test("drops with a share between 0 and 1 reset about that share of connections", async () => {
    await proxy.drops(0.5);
    let reset = 0;
    const total = 40;
    for (let i = 0; i < total; i++) {
      const s = track(await dial(proxy.listen));
      try {
        await roundTrip(s, `n${i}\n`);
      } catch {
        reset++;
      }
      s.destroy();
    }
    await proxy.reset();
    // Binomial(40, 0.5): outside 8..32 has a probability below 1e-4.
    assert.ok(reset >= 8 && reset <= 32, `${reset} of ${total} connections were reset with share 0.5`);
  });
});
