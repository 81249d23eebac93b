// The background process behind `npm run lab -- up`: it owns the lab's
// servers (the Git server runs inside it), answers a small control API on
// loopback, and tears everything down on SIGTERM, SIGINT or POST /stop.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { rm, writeFile, mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { startLab, type Lab } from "./lab.js";
import { stateDir, stateFiles, writeLabState, type LabState } from "./state.js";

const { values } = parseArgs({ options: { clusters: { type: "string", default: "1" } } });
const clusters = Number(values.clusters);
const progress = (line: string): void => console.log(`[lab] ${line}`);

await mkdir(stateDir, { recursive: true });
await writeFile(stateFiles.pid, `${process.pid}\n`);

let lab: Lab | undefined;
let state: LabState | undefined;
let stopping: Promise<void> | undefined;

function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    progress("stopping");
    control.close();
    await lab?.stop();
    await rm(stateFiles.info, { force: true });
    await rm(stateFiles.pid, { force: true });
    progress("stopped");
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

const controlToken = randomBytes(24).toString("hex");
const control = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => reply(res, 500, { error: (err as Error).message }));
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const given = Buffer.from(req.headers.authorization ?? "");
  const wanted = Buffer.from(`Bearer ${controlToken}`);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return reply(res, 401, { error: "unauthorized" });
  if (!lab || !state) return reply(res, 503, { error: "lab is starting" });
  if (req.method === "GET" && req.url === "/status") return reply(res, 200, state);
  if (req.method === "POST" && req.url === "/stop") {
    reply(res, 202, { stopping: true });
    void shutdown(0);
    return;
  }
  if (req.method === "POST" && req.url === "/clusters") {
    const body = JSON.parse(await readBody(req)) as { name?: unknown };
    if (typeof body.name !== "string") return reply(res, 400, { error: "body must be {\"name\": string}" });
    try {
      const kube = await lab.addCluster(body.name);
      state = { ...state, ...lab.info() };
      await writeLabState(state);
      return reply(res, 201, { name: kube.name, server: kube.server, kubeconfig: kube.kubeconfig });
    } catch (err) {
      return reply(res, 400, { error: (err as Error).message });
    }
  }
  reply(res, 404, { error: `no route ${req.method} ${req.url}` });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += (chunk as Buffer).toString();
  return body;
}

try {
  lab = await startLab({ clusters, progress });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const address = control.address();
  const port = typeof address === "object" && address ? address.port : 0;
  state = {
    ...lab.info(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    control: { url: `http://127.0.0.1:${port}`, token: controlToken },
  };
  await writeLabState(state);
  progress(`ready: ${stateFiles.info}`);
} catch (err) {
  console.error(`[lab] failed: ${(err as Error).message}`);
  await shutdown(1);
}
