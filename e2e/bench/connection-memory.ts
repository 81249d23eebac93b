// `npm run bench:connection-memory -- --connections 1000 --runs 3`: what one agent connection costs
// the hub's process in resident memory, layer by layer: TCP, TLS, HTTP/2 (plain and over TLS), and
// gRPC (grpc-js with the hub's server settings, one bidirectional stream per connection, as an
// agent's Connect holds). A server process per layer and run; the clients live in this process.
// The server's RSS after a full GC, before and after the connections, divided by their number.
// This is the floor under the hub's "memory per cluster": every connected agent holds one such
// connection, whatever the hub keeps about it.
import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect as netConnect, createServer as netServer, type Server as NetServer } from "node:net";
import { connect as tlsConnect, createServer as tlsServer } from "node:tls";
import { connect as h2Connect, createSecureServer, createServer as h2Server, type ServerHttp2Stream } from "node:http2";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServerDuplexStream } from "@grpc/grpc-js";
import { selfSignedCert } from "../src/fleet/tls.js";
import { machineNote, median, table, writeSection } from "./report.js";

const layers = ["tcp", "tls", "h2c", "h2-tls", "grpc", "grpc-tls", "grpc-tls-no-channelz"] as const;
type Layer = (typeof layers)[number];
const described: Record<Layer, string> = {
  tcp: "TCP socket",
  tls: "TLS socket",
  h2c: "HTTP/2 session + 1 stream, plaintext",
  "h2-tls": "HTTP/2 session + 1 stream, TLS",
  grpc: "gRPC (grpc-js) + 1 bidi stream, plaintext",
  "grpc-tls": "gRPC (grpc-js) + 1 bidi stream, TLS (as agents connect)",
  "grpc-tls-no-channelz": "the same, channelz off",
};

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    "no-write": { type: "boolean", default: false },
    // Internal: this file also runs as the server process.
    role: { type: "string" },
    layer: { type: "string" },
    dir: { type: "string" },
  },
});

const identity = (b: Buffer): Buffer => b;
const method = { path: "/gitfleet.bench.Echo/Connect", requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } as const;
const rssKiB = async (): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await readFile("/proc/self/status", "utf8"))?.[1] ?? NaN);

async function serve(layer: Layer, dir: string): Promise<void> {
  const [key, cert] = await Promise.all([readFile(join(dir, "gitfleet-hub.key")), readFile(join(dir, "gitfleet-hub.crt"))]);
  const held: unknown[] = [];
  const echo = (s: { on(event: "data", listener: (d: Buffer) => void): unknown; write(d: Buffer): unknown }): void => {
    held.push(s);
    s.on("data", (d) => s.write(d));
  };
  const onStream = (stream: ServerHttp2Stream): void => {
    stream.respond({ ":status": 200 });
    echo(stream);
  };
  let port: number;
  if (layer.startsWith("grpc")) {
    // The hub's settings (hub/src/grpc/server.ts).
    const server = new Server({ "grpc.keepalive_time_ms": 60_000, "grpc.keepalive_timeout_ms": 20_000, ...(layer === "grpc-tls-no-channelz" ? { "grpc.enable_channelz": 0 } : {}) });
    server.addService({ Connect: method }, { Connect: (call: ServerDuplexStream<Buffer, Buffer>) => echo(call) });
    const creds = layer === "grpc" ? ServerCredentials.createInsecure() : ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
    port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))));
  } else {
    const server: NetServer =
      layer === "tcp" ? netServer(echo)
      : layer === "tls" ? tlsServer({ key, cert }, echo)
      : layer === "h2c" ? h2Server().on("stream", onStream)
      : createSecureServer({ key, cert }).on("stream", onStream);
    port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  }
  process.on("message", () => {
    (globalThis as { gc?: () => void }).gc?.();
    setTimeout(() => void rssKiB().then((rss) => process.send?.({ rss })), 500);
  });
  process.send?.({ port });
}

/** Opens `n` connections of `layer` to `port`, each sending 300 bytes and holding on. */
async function open(layer: Layer, port: number, n: number, ca: Buffer): Promise<() => void> {
  const closers: Array<() => void> = [];
  const Client = makeGenericClientConstructor({ Connect: method }, "Echo");
  const payload = Buffer.alloc(300);
  for (let i = 0; i < n; i++) {
    if (layer === "tcp" || layer === "tls") {
      const socket = layer === "tcp" ? netConnect(port, "127.0.0.1") : tlsConnect({ port, host: "127.0.0.1", ca, servername: "localhost" });
      socket.on("data", () => undefined).on("error", () => undefined);
      socket.write(payload);
      closers.push(() => socket.destroy());
    } else if (layer === "h2c" || layer === "h2-tls") {
      const session = h2Connect(`${layer === "h2c" ? "http" : "https"}://localhost:${port}`, { ca });
      session.on("error", () => undefined);
      const stream = session.request({ ":method": "POST" }, { endStream: false });
      stream.on("data", () => undefined).on("error", () => undefined);
      stream.write(payload);
      closers.push(() => session.destroy());
    } else {
      // Each agent has a channel of its own (a local subchannel pool: no sharing between them).
      const client = new Client(`localhost:${port}`, layer === "grpc" ? credentials.createInsecure() : credentials.createSsl(ca), { "grpc.use_local_subchannel_pool": 1 });
      const call = client.makeBidiStreamRequest(method.path, identity, identity);
      call.on("data", () => undefined).on("error", () => undefined);
      call.write(payload);
      closers.push(() => {
        call.cancel();
        client.close();
      });
    }
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
  }
  return () => closers.forEach((close) => close());
}

async function measure(layer: Layer, n: number, dir: string, ca: Buffer): Promise<number> {
  const server: ChildProcess = fork(fileURLToPath(import.meta.url), ["--role", "server", "--layer", layer, "--dir", dir], {
    execArgv: [...process.execArgv, "--expose-gc"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once("message", (m) => resolve((m as { port: number }).port));
      server.once("exit", (code) => reject(new Error(`the ${layer} server exited (${code})`)));
    });
    const rss = (): Promise<number> => new Promise((resolve) => {
      server.once("message", (m) => resolve((m as { rss: number }).rss));
      server.send("rss");
    });
    const before = await rss();
    const close = await open(layer, port, n, ca);
    // Let every handshake finish and every echo come back.
    await new Promise((r) => setTimeout(r, 4_000));
    const after = await rss();
    close();
    return (after - before) / n;
  } finally {
    server.kill();
  }
}

async function main(): Promise<void> {
  const n = Number(values.connections);
  const runs = Math.max(1, Number(values.runs));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--connections takes a whole number; got ${values.connections}`);
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-connection-memory-"));
  try {
    const cert = await selfSignedCert(dir);
    const ca = await readFile(cert.certPath);
    const rows: string[][] = [];
    for (const layer of layers) {
      const perRun: number[] = [];
      for (let r = 0; r < runs; r++) perRun.push(await measure(layer, n, dir, ca));
      const kib = median(perRun);
      console.log(`${described[layer].padEnd(58)} ${kib.toFixed(1)} KiB per connection (runs: ${perRun.map((x) => x.toFixed(1)).join(", ")})`);
      rows.push([described[layer], kib.toFixed(1), perRun.map((x) => x.toFixed(1)).join(", ")]);
    }
    const body = [
      table(["one connection, server side", "RSS per connection (KiB, median)", "runs"], rows),
      "",
      `${n} connections per run, ${runs} runs per layer. Machine: ${machineNote()}; load average ${loadavg().map((x) => x.toFixed(1)).join(" / ")} at the end.`,
      "Each run starts a fresh server process, reads its VmRSS after a full GC, opens the connections from the benchmark's process (each sends 300 bytes and gets them back; gRPC clients each have a channel of their own, as agents do), waits 4 s, and reads VmRSS again after a full GC.",
    ].join("\n");
    if (!values["no-write"]) await writeSection("connection-memory", "What one agent connection costs the hub (`npm run bench:connection-memory`)", body);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (values.role === "server") await serve(values.layer as Layer, values.dir ?? "");
else await main();
