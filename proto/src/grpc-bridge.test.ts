import { strict as assert } from "node:assert";
import { once } from "node:events";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Server, ServerCredentials, credentials, status } from "@grpc/grpc-js";
import type { ChannelCredentials } from "@grpc/grpc-js";
import {
  AgentMessageSchema,
  AgentService,
  ConditionStatus,
  HealthState,
  HubMessageSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  SyncState,
} from "./gen/gitfleet/v1/agent_pb.js";
import type { AgentMessage, HubMessage, RegisterRequest } from "./gen/gitfleet/v1/agent_pb.js";
import { addService, createServiceDefinition } from "./grpc-bridge.js";
import type { ServiceImplementation } from "./grpc-bridge.js";
import { createClient } from "./grpc-client.js";
import type { ServiceClient } from "./grpc-client.js";
import { INTERNAL_ERROR_MESSAGE, RpcError } from "./rpc-error.js";

const at = (iso: string) => timestampFromDate(new Date(iso));

const registerRequest: MessageInitShape<typeof RegisterRequestSchema> = {
  token: "gft_reg_0123456789abcdef",
  clusterName: "prod-eu-1",
  labels: { region: "eu-west", tier: "prod" },
  agentVersion: "0.1.0",
  kubernetesVersion: "v1.36.3",
  keys: { natsUserPublicKey: "UABCDEF", signingPublicKey: "UXYZ123" },
};

const statusReport: MessageInitShape<typeof AgentMessageSchema> = {
  kind: {
    case: "status",
    value: {
      observedRevision: "3f2a9c1",
      observedGeneration: 42n,
      reportedAt: at("2026-01-02T03:04:05.678Z"),
      agentVersion: "0.1.0",
      kubernetesVersion: "v1.36.3",
      conditions: [{ type: "Ready", status: ConditionStatus.TRUE, reason: "Reconciled", message: "ok", lastTransitionTime: at("2026-01-02T03:00:00Z") }],
      bundles: [
        {
          name: "web",
          digest: "ab".repeat(32),
          revision: "3f2a9c1",
          sync: SyncState.OUT_OF_SYNC,
          health: HealthState.DEGRADED,
          message: "1 resource drifted",
          resourceCount: 2,
          driftedCount: 1,
          lastAppliedAt: at("2026-01-02T02:59:00Z"),
          conditions: [{ type: "Drifted", status: ConditionStatus.TRUE, reason: "LiveDiffers" }],
          resources: [
            {
              group: "apps", version: "v1", kind: "Deployment", namespace: "web", name: "frontend",
              sync: SyncState.OUT_OF_SYNC, health: HealthState.DEGRADED, message: "replicas changed by hand",
              drift: [{ path: "/spec/replicas", desired: "3", live: "5" }, { path: "/metadata/labels/team", desired: '"web"', live: "" }],
            },
            { group: "", version: "v1", kind: "ConfigMap", namespace: "web", name: "settings", sync: SyncState.SYNCED, health: HealthState.HEALTHY },
          ],
        },
      ],
    },
  },
};

const heartbeat: MessageInitShape<typeof AgentMessageSchema> = {
  kind: { case: "heartbeat", value: { sentAt: at("2026-01-02T03:04:06Z"), observedRevision: "3f2a9c1", observedGeneration: 42n } },
};

const hubReplies: MessageInitShape<typeof HubMessageSchema>[] = [
  { kind: { case: "welcome", value: { clusterId: "c-123", heartbeatIntervalSeconds: 15, serverTime: at("2026-01-02T03:04:05Z") } } },
  {
    kind: {
      case: "refreshCredentials",
      value: {
        credentials: {
          natsUserJwt: "eyJ.jwt.sig", grpcToken: "gft_grpc_new", expiresAt: at("2026-01-02T04:04:05Z"),
          natsServers: ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"], natsInboxPrefix: "_INBOX.c-123",
        },
      },
    },
  },
  { kind: { case: "resync", value: { reason: "operator asked", bundles: ["web", "db"] } } },
];

function registerResponseFor(request: RegisterRequest): MessageInitShape<typeof RegisterResponseSchema> {
  return {
    clusterId: "c-123",
    clusterName: request.clusterName,
    labels: { ...request.labels, stage: "prod" },
    credentials: {
      natsUserJwt: "eyJ.jwt.sig", grpcToken: "gft_grpc_abc", expiresAt: at("2026-01-02T04:00:00Z"),
      natsServers: ["nats://127.0.0.1:4222"], natsInboxPrefix: "_INBOX.c-123",
    },
    desiredState: { kvBucket: "gitfleet-desired", keyPrefix: "c-123" },
    heartbeatIntervalSeconds: 15,
  };
}

/** What the fake hub saw, for assertions. */
interface Seen {
  requests: RegisterRequest[];
  authorization: (string | undefined)[];
  streamMessages: AgentMessage[];
  internalErrors: unknown[];
  cancelledStreams: number;
}

function fakeHub(seen: Seen): ServiceImplementation<typeof AgentService> {
  return {
    register(request, call) {
      seen.requests.push(request);
      seen.authorization.push(call.metadata.get("authorization")[0]?.toString());
      if (request.token === "expired") throw new RpcError(status.UNAUTHENTICATED, "registration token expired: ask an operator for a new one");
      if (request.token === "crash") throw new Error("database refused user hub with password s3cret");
      return Promise.resolve(registerResponseFor(request));
    },
    async connect(call) {
      if (call.metadata.get("authorization")[0] !== "Bearer gft_grpc_abc") {
        throw new RpcError(status.UNAUTHENTICATED, "missing or invalid bearer token");
      }
      call.once("cancelled", () => seen.cancelledStreams++);
      call.write(hubReplies[0]!);
      for await (const message of call) {
        seen.streamMessages.push(message);
        if (message.kind.case === "heartbeat") {
          call.write(hubReplies[1]!);
          call.write(hubReplies[2]!);
        }
      }
    },
    renew() {
      throw new RpcError(status.UNIMPLEMENTED, "not used by these tests");
    },
  };
}

async function listen(server: Server, creds: ServerCredentials): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", creds, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return `127.0.0.1:${String(port)}`;
}

/**
 * Reads the next `count` messages and pauses the stream again, so later messages wait for the
 * next call; fails with what was awaited if the stream errors or ends first.
 */
function take<T>(stream: Readable, count: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const received: T[] = [];
    const done = (error?: Error) => {
      stream.pause();
      stream.off("data", onData).off("error", done).off("end", onEnd);
      if (error) reject(error);
      else resolve(received);
    };
    const onData = (message: T) => {
      received.push(message);
      if (received.length === count) done();
    };
    const onEnd = () => done(new Error(`stream ended after ${String(received.length)} of ${String(count)} messages`));
    stream.on("data", onData).once("error", done).once("end", onEnd);
    stream.resume();
  });
}

describe("grpc bridge", () => {
  const seen: Seen = { requests: [], authorization: [], streamMessages: [], internalErrors: [], cancelledStreams: 0 };
  const server = new Server();
  let client: ServiceClient<typeof AgentService>;

  before(async () => {
    addService(server, AgentService, fakeHub(seen), { onInternalError: (error) => seen.internalErrors.push(error) });
    client = createClient(AgentService, await listen(server, ServerCredentials.createInsecure()), credentials.createInsecure());
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it("builds a grpc-js definition from the descriptor", () => {
    const definition = createServiceDefinition(AgentService);
    assert.equal(definition.register?.path, "/gitfleet.v1.AgentService/Register");
    assert.deepEqual([definition.register?.requestStream, definition.register?.responseStream], [false, false]);
    assert.equal(definition.connect?.path, "/gitfleet.v1.AgentService/Connect");
    assert.deepEqual([definition.connect?.requestStream, definition.connect?.responseStream], [true, true]);
  });

  it("round-trips Register with metadata the server can read", async () => {
    const response = await client.register(registerRequest, { metadata: { authorization: "Bearer bootstrap" } });
    assert.deepStrictEqual(seen.requests.at(-1), create(RegisterRequestSchema, registerRequest));
    assert.equal(seen.authorization.at(-1), "Bearer bootstrap");
    assert.deepStrictEqual(response, create(RegisterResponseSchema, registerResponseFor(seen.requests.at(-1)!)));
    assert.deepEqual(response.labels, { region: "eu-west", tier: "prod", stage: "prod" });
    assert.equal(response.credentials?.expiresAt?.seconds, BigInt(Date.parse("2026-01-02T04:00:00Z") / 1000));
  });

  it("maps an RpcError to its status and message", async () => {
    const error = await client.register({ ...registerRequest, token: "expired" }).then(() => assert.fail("expected a rejection"), (e: unknown) => e);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, status.UNAUTHENTICATED);
    assert.equal(error.message, "registration token expired: ask an operator for a new one");
  });

  it("hides unexpected errors behind INTERNAL and reports them to the server", async () => {
    const before = seen.internalErrors.length;
    const error = await client.register({ ...registerRequest, token: "crash" }).then(() => assert.fail("expected a rejection"), (e: unknown) => e);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, status.INTERNAL);
    assert.equal(error.message, INTERNAL_ERROR_MESSAGE);
    assert.equal(seen.internalErrors.length, before + 1);
    assert.match(String(seen.internalErrors.at(-1)), /s3cret/);
  });

  it("honours deadlines and abort signals", async () => {
    const late = await client.register(registerRequest, { deadline: Date.now() - 1 }).catch((e: unknown) => e);
    assert.ok(late instanceof RpcError && late.code === status.DEADLINE_EXCEEDED, String(late));
    const cancelled = await client.register(registerRequest, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(cancelled instanceof RpcError && cancelled.code === status.CANCELLED, String(cancelled));
  });

  it("streams status and heartbeats up and commands down on Connect, then half-closes cleanly", async () => {
    const stream = client.connect({ metadata: { authorization: "Bearer gft_grpc_abc" } });
    const finalStatus = once(stream, "status");
    const welcome = await take<HubMessage>(stream, 1);
    stream.write(statusReport);
    stream.write(heartbeat);
    const commands = await take<HubMessage>(stream, 2);
    // Half-close, then read to the end: grpc-js delivers the status only after the last read.
    stream.end();
    const rest: HubMessage[] = [];
    for await (const message of stream) rest.push(message);
    const [{ code }] = (await finalStatus) as [{ code: status }];

    assert.equal(code, status.OK);
    assert.deepStrictEqual(rest, []);
    const expected: HubMessage[] = hubReplies.map((reply) => create(HubMessageSchema, reply));
    assert.deepStrictEqual([...welcome, ...commands], expected);
    assert.deepStrictEqual(seen.streamMessages, [create(AgentMessageSchema, statusReport), create(AgentMessageSchema, heartbeat)]);
  });

  it("tells the server when a client leaves a stream early, without reporting an internal error", async () => {
    const [cancelledBefore, errorsBefore] = [seen.cancelledStreams, seen.internalErrors.length];
    const stream = client.connect({ metadata: { authorization: "Bearer gft_grpc_abc" } });
    for await (const message of stream) {
      assert.equal(message.kind.case, "welcome");
      break; // destroys the client stream; the bridge turns that into a cancellation
    }
    await waitFor(() => seen.cancelledStreams === cancelledBefore + 1, "the server to see the stream cancelled");
    assert.equal(seen.internalErrors.length, errorsBefore);
  });

  it("ends Connect with UNAUTHENTICATED when the bearer token is missing", async () => {
    const stream = client.connect();
    const [error] = (await once(stream, "error")) as [Error & { code: status; details: string }];
    assert.equal(error.code, status.UNAUTHENTICATED);
    assert.equal(error.details, "missing or invalid bearer token");
  });
});

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("grpc bridge over TLS", () => {
  const server = new Server();
  let dir = "";
  let address = "";
  let clientCredentials: ChannelCredentials;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-tls-"));
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    // A throwaway self-signed certificate for 127.0.0.1, valid for one day.
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
    const [keyPem, certPem] = await Promise.all([readFile(key), readFile(cert)]);
    addService(server, AgentService, fakeHub({ requests: [], authorization: [], streamMessages: [], internalErrors: [], cancelledStreams: 0 }));
    address = await listen(server, ServerCredentials.createSsl(null, [{ private_key: keyPem, cert_chain: certPem }], false));
    clientCredentials = credentials.createSsl(certPem);
  });
  after(async () => {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips Register over a verified TLS channel", async () => {
    // The certificate names 127.0.0.1 too; naming "localhost" keeps SNI free of an IP address.
    const client = createClient(AgentService, address, clientCredentials, { "grpc.ssl_target_name_override": "localhost" });
    try {
      const response = await client.register(registerRequest);
      assert.equal(response.clusterName, "prod-eu-1");
      assert.equal(response.credentials?.grpcToken, "gft_grpc_abc");
    } finally {
      client.close();
    }
  });
});
