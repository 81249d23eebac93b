// What the fleet event scenarios need beside the hub: an HTTP receiver standing in for a
// webhook or Slack endpoint, and an agent that reports statuses and corrections on its stream.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import {
  AgentEventType,
  DriftState,
  HealthState,
  SyncState,
  timestampFromDate,
  type AgentService,
  type BundleStatusSchema,
  type MessageInitShape,
  type ServiceClient,
} from "@gitfleet/proto";
import { openStream, register, type AgentStream } from "./harness.js";

/** One request a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP endpoint on 127.0.0.1 that records what it is sent. */
export interface Receiver {
  readonly received: Received[];
  /** Starts answering (2xx) on `port`. */
  listen(port: number): Promise<void>;
  close(): Promise<void>;
}

/** Creates a receiver; nothing listens before {@link Receiver.listen}. */
export function createReceiver(): Receiver {
  const received: Received[] = [];
  let server: Server | undefined;
  return {
    received,
    async listen(port) {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

type BundleInit = Extract<MessageInitShape<typeof BundleStatusSchema>, { readonly $typeName?: never }>;

export const revision = "0123456789abcdef0123456789abcdef01234567";

/** The `web` bundle: a Deployment, healthy and in sync unless `init` says otherwise (drifted, in conflict, ...). */
export function webBundle(
  init: { drift?: { path: string; desired: string; live: string; manager: string }; conflict?: boolean; health?: HealthState; sync?: SyncState; message?: string } = {},
): BundleInit {
  const degraded = init.health === HealthState.DEGRADED;
  return {
    name: "web",
    revision,
    healthRevision: revision,
    sync: init.sync ?? SyncState.SYNCED,
    health: init.health ?? HealthState.HEALTHY,
    message: init.message ?? "",
    resourceCount: 1,
    driftedCount: init.drift ? 1 : 0,
    resources: [
      {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        namespace: "web",
        name: "web",
        sync: SyncState.SYNCED,
        health: degraded ? HealthState.DEGRADED : HealthState.HEALTHY,
        message: degraded ? "ImagePullBackOff" : "",
        driftState: init.conflict ? DriftState.CONFLICT : init.drift ? DriftState.DRIFTED : DriftState.IN_SYNC,
        drift: init.drift ? [init.drift] : [],
      },
    ],
  };
}

/** An agent on its Connect stream, heartbeating until it is stopped. */
export interface FakeAgent {
  clusterId: string;
  stream: AgentStream;
  report(...bundles: BundleInit[]): void;
  corrected(id: string, path: string): void;
  /** Stops heartbeats and ends the stream: the cluster falls silent. */
  leave(): Promise<void>;
  /** Opens a new stream and heartbeats again. */
  comeBack(): Promise<void>;
}

/** Registers `name` and connects it. */
export async function connectAgent(client: ServiceClient<typeof AgentService>, token: string, name: string): Promise<FakeAgent> {
  const registered = await register(client, token, name);
  const grpcToken = registered.credentials?.grpcToken;
  let timer: NodeJS.Timeout | undefined;
  const agent: FakeAgent = {
    clusterId: registered.clusterId,
    stream: openStream(client, grpcToken),
    report(...bundles) {
      agent.stream.call.write({ kind: { case: "status", value: { observedRevision: revision, reportedAt: timestampFromDate(new Date()), bundles } } });
    },
    corrected(id, path) {
      const resource = { group: "apps", version: "v1", kind: "Deployment", namespace: "web", name: "web" };
      const fields = [{ path, desired: "3", live: "5", manager: "kubectl-edit" }];
      const event = { id, type: AgentEventType.DRIFT_CORRECTED, bundle: "web", resource, fields, at: timestampFromDate(new Date()), revision };
      agent.stream.call.write({ kind: { case: "events", value: { events: [event] } } });
    },
    async leave() {
      clearInterval(timer);
      agent.stream.call.end();
      await agent.stream.closed();
    },
    async comeBack() {
      agent.stream = openStream(client, grpcToken);
      await start();
    },
  };
  const start = async (): Promise<void> => {
    await agent.stream.next("welcome");
    timer = setInterval(() => agent.stream.call.write({ kind: { case: "heartbeat", value: { sentAt: timestampFromDate(new Date()) } } }), 300);
  };
  await start();
  return agent;
}
