import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Lab } from "./lab.js";
import { writeLabState, type LabState } from "./state.js";

/** The lab's control API on loopback, used by `npm run lab -- add-cluster|nats|down`. */
export interface LabControl {
  readonly state: LabState;
  close(): Promise<void>;
}

/**
 * Serves the control API of a running lab (GET /status, POST /clusters,
 * POST /nats/NAME/kill|stop|start, POST /stop) behind a random bearer token and writes `.lab/lab.json`.
 */
export async function serveLabControl(lab: Lab, onStop: () => void): Promise<LabControl> {
  const token = randomBytes(24).toString("hex");
  let state: LabState;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const given = Buffer.from(req.headers.authorization ?? "");
    const wanted = Buffer.from(`Bearer ${token}`);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return reply(res, 401, { error: "unauthorized" });
    if (req.method === "GET" && req.url === "/status") return reply(res, 200, state);
    if (req.method === "POST" && req.url === "/stop") {
      reply(res, 202, { stopping: true });
      onStop();
      return;
    }
    if (req.method === "POST" && req.url === "/clusters") {
      let name: unknown;
      try {
        name = (JSON.parse(await readBody(req)) as { name?: unknown }).name;
      } catch {
        name = undefined;
      }
      if (typeof name !== "string") return reply(res, 400, { error: 'body must be {"name": string}' });
      try {
        const kube = await lab.addCluster(name);
        state = { ...state, ...lab.info() };
        await writeLabState(state);
        const nodes = kube.workloads?.nodes ?? [];
        return reply(res, 201, { name: kube.name, server: kube.server, kubeconfig: kube.kubeconfig, nodes });
      } catch (err) {
        return reply(res, 400, { error: (err as Error).message });
      }
    }
    // POST /nats/NAME/kill|stop|start: one server of the lab's NATS.
    const nats = req.method === "POST" ? /^\/nats\/([\w.-]+)\/(kill|stop|start)$/.exec(req.url ?? "") : null;
    if (nats) {
      const [, name, action] = nats;
      const node = lab.nats.nodes.find((n) => n.name === name);
      if (!node) return reply(res, 404, { error: `no NATS server "${name}"; the lab has ${lab.nats.nodes.map((n) => n.name).join(", ")}` });
      try {
        if (action === "kill") await node.kill();
        else if (action === "stop") await node.stop();
        else await node.start();
        return reply(res, 200, { name: node.name, url: node.url, running: node.running() });
      } catch (err) {
        return reply(res, 500, { error: (err as Error).message });
      }
    }
    reply(res, 404, { error: `no route ${req.method} ${req.url}` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => reply(res, 500, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  state = {
    ...lab.info(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    control: { url: `http://127.0.0.1:${port}`, token },
  };
  await writeLabState(state);
  return {
    get state() {
      return state;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections (fetch keeps them) would hold close() for seconds.
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += (chunk as Buffer).toString();
  return body;
}
