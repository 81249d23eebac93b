// Shared setup of the hub scenarios: a lab NATS server, hubs on it, an admin
// API client and agents that speak the real gRPC protocol.
import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AgentService,
  connectProofPayload,
  createClient,
  GrpcStatus,
  RpcError,
  type AgentMessageSchema,
  type HubMessage,
  type MessageInitShape,
  type RegisterResponse,
  type ServiceClient,
} from "@gitfleet/proto";
import { createHub, type Hub, type HubOptions } from "@gitfleet/hub";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { credentials as grpcCredentials, type ClientDuplexStream } from "@grpc/grpc-js";
import { createUser, type KeyPair } from "@nats-io/nkeys";
import { pino } from "pino";
import { startNats, type NatsLab } from "../lab/nats.js";
import { waitFor } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";

/** Path of the nats-server binary, or the reason the hub scenarios are skipped. */
export const natsBinary = process.env["GITFLEET_NATS_SERVER_BIN"];
export const skipWithoutNats = skipUnlessTool(
  natsBinary ? false : "GITFLEET_NATS_SERVER_BIN is not set (path of a nats-server binary; `npm test` builds one from e2e/servers/nats-server)",
);

/** A lab NATS server in a temporary folder. */
export interface NatsFixture {
  lab: NatsLab;
  adminCreds: string;
  close(): Promise<void>;
}

/** Starts a lab NATS server for one test file. */
export async function startNatsFixture(): Promise<NatsFixture> {
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-hub-"));
  const lab = await startNats({ binary: natsBinary ?? "", dir });
  const adminCreds = await readFile(lab.adminCredsPath, "utf8");
  return {
    lab,
    adminCreds,
    async close() {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A started hub with what tests need to talk to it. */
export interface HubFixture {
  hub: Hub;
  /** The admin token: configured or captured from the first-start announcement. */
  adminToken: string;
  /** Lines the hub announced (the generated admin token). */
  announced: string[];
  baseUrl: string;
  grpcAddress: string;
  stop(): Promise<void>;
}

/**
 * Starts a hub on `nats` with free ports; `overrides` replace any option.
 * `adminToken` is the token to use when this hub does not announce one (a
 * replica or restart on NATS where another hub generated it).
 */
export async function startHub(
  nats: NatsFixture,
  overrides: Partial<HubOptions> = {},
  adminToken?: string,
): Promise<HubFixture> {
  const announced: string[] = [];
  const hub = createHub({
    logger: pino({ level: process.env["GITFLEET_TEST_LOG_LEVEL"] ?? "silent" }),
    nats: { servers: nats.lab.url, creds: nats.adminCreds },
    account: { publicKey: nats.lab.accountPublicKey },
    agentAccount: { publicKey: nats.lab.agentAccountPublicKey, signingSeed: nats.lab.agentSigningSeed },
    natsRevocation: { operatorSigningSeed: nats.lab.operatorSigningSeed, systemCreds: await readFile(nats.lab.systemCredsPath, "utf8") },
    httpAddress: "127.0.0.1:0",
    grpcAddress: "127.0.0.1:0",
    announceAdminToken: (secret) => announced.push(secret),
    ...overrides,
  });
  await hub.start();
  return {
    hub,
    get adminToken() {
      const token = announced[0] ?? adminToken;
      if (!token) throw new Error("no admin token was announced by this hub; pass one in");
      return token;
    },
    announced,
    baseUrl: `http://127.0.0.1:${hub.httpPort}`,
    grpcAddress: `127.0.0.1:${hub.grpcPort}`,
    stop: () => hub.stop(),
  };
}

/** An HTTP answer with its parsed JSON body. */
export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/** Calls the admin API with an optional bearer token. */
export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Creates a registration token through the API and returns its secret and id. */
export async function createToken(
  fixture: HubFixture,
  body: Record<string, unknown> = {},
): Promise<{ secret: string; id: string }> {
  const res = await api<{ secret: string; id: string }>(fixture.baseUrl, "POST", "/api/v1/registration-tokens", {
    token: fixture.adminToken,
    body,
  });
  if (res.status !== 201) throw new Error(`creating a token answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { secret: res.body.secret, id: res.body.id };
}

/** An agent's key pairs, generated as a real agent does. */
export interface AgentKeys {
  nats: KeyPair;
  signing: KeyPair;
}

export function agentKeys(): AgentKeys {
  return { nats: createUser(), signing: createUser() };
}

// The signing key each cluster registered with through register(), so that openStream proves it
// as a real agent does.
const signingKeys = new Map<string, KeyPair>();

/** The signing key `clusterId` registered with through {@link register}, if it did. */
export function signingKeyOf(clusterId: string): KeyPair | undefined {
  return signingKeys.get(clusterId);
}

/** A typed AgentService client of a hub. */
export function agentClient(fixture: HubFixture): ServiceClient<typeof AgentService> {
  return createClient(AgentService, fixture.grpcAddress, grpcCredentials.createInsecure());
}

/** Calls Register as an agent named `clusterName` would, and remembers its signing key. */
export async function register(
  client: ServiceClient<typeof AgentService>,
  token: string,
  clusterName: string,
  options: { keys?: AgentKeys; labels?: Record<string, string>; agentVersion?: string } = {},
): Promise<RegisterResponse> {
  const keys = options.keys ?? agentKeys();
  const response = await client.register({
    token,
    clusterName,
    labels: options.labels ?? {},
    agentVersion: options.agentVersion ?? PRODUCT_VERSION,
    kubernetesVersion: "v1.36.0",
    keys: { natsUserPublicKey: keys.nats.getPublicKey(), signingPublicKey: keys.signing.getPublicKey() },
  });
  signingKeys.set(response.clusterId, keys.signing);
  return response;
}

/** An open Connect stream and everything it received. */
export interface AgentStream {
  call: ClientDuplexStream<MessageInitShape<typeof AgentMessageSchema>, HubMessage>;
  received: HubMessage[];
  /** Set when the stream ended with a status other than OK. */
  error: { code: number; details: string } | undefined;
  ended: boolean;
  /** Waits for a message of `kind` and returns it. */
  next<K extends NonNullable<HubMessage["kind"]["case"]>>(kind: K, what?: string): Promise<Extract<HubMessage["kind"], { case: K }>["value"]>;
  /** Waits for the stream to end and returns its error (undefined for OK). */
  closed(): Promise<{ code: number; details: string } | undefined>;
}

/** How {@link openStream} answers Welcome. */
export interface OpenStreamOptions {
  /**
   * The key that signs the ConnectProof on Welcome: by default the one the welcomed cluster
   * registered with through {@link register}; false sends no proof (a client that holds only
   * the token).
   */
  prove?: KeyPair | false;
}

/** Opens Connect with `grpcToken` (none when undefined) and, as an agent does, proves its signing key on Welcome. */
export function openStream(
  client: ServiceClient<typeof AgentService>,
  grpcToken: string | undefined,
  options: OpenStreamOptions = {},
): AgentStream {
  const call = client.connect(grpcToken === undefined ? {} : { metadata: { authorization: `Bearer ${grpcToken}` } });
  const stream: AgentStream = {
    call,
    received: [],
    error: undefined,
    ended: false,
    async next(kind, what) {
      let seen = 0;
      const message = await waitFor(
        () => {
          for (; seen < stream.received.length; seen++) {
            const m = stream.received[seen];
            if (m?.kind.case === kind) {
              stream.received.splice(seen, 1);
              return m;
            }
          }
          if (stream.ended) throw new Error(`the stream ended (${stream.error?.details ?? "OK"})`);
          return undefined;
        },
        { what: what ?? `a ${kind} message on the Connect stream`, timeoutMs: 10_000, intervalMs: 20 },
      );
      return message.kind.value as never;
    },
    async closed() {
      await waitFor(() => stream.ended, { what: "the Connect stream to end", timeoutMs: 10_000, intervalMs: 20 });
      return stream.error;
    },
  };
  call.on("data", (m: HubMessage) => {
    if (m.kind.case === "welcome" && options.prove !== false) {
      const key = options.prove ?? signingKeys.get(m.kind.value.clusterId);
      if (key) call.write({ kind: { case: "proof", value: { signature: key.sign(connectProofPayload(m.kind.value.clusterId, m.kind.value.nonce)) } } });
    }
    stream.received.push(m);
  });
  call.on("error", (err: { code: number; details: string }) => {
    stream.error = { code: err.code, details: err.details };
    stream.ended = true;
  });
  call.on("end", () => {
    stream.ended = true;
  });
  return stream;
}

/** An `assert.rejects` check: the call ended with this gRPC status and message. */
export function refused(code: number, message: string | RegExp): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    assert.equal(err.codeName, GrpcStatus[code]);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}
