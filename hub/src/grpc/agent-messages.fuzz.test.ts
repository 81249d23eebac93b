// Fuzzes everything an agent (or anyone who reaches the gRPC port) sends the hub: each message as
// arbitrary bytes into its decoder, and arbitrary well-formed messages into the validators and
// handlers: Register, Renew (with a real signature over arbitrary fields) and a Connect stream
// carrying every AgentMessage kind, recorded into real status, drift and event derivation.
// Properties: decoders refuse with an error, handlers refuse with HubError (a message that says
// what is wrong), and nothing a stream carries makes the hub log a failure that is not a refusal.
import { strict as assert } from "node:assert";
import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { test } from "node:test";
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  AgentMessageSchema,
  RegisterRequestSchema,
  RenewRequestSchema,
  StatusReportSchema,
  connectProofPayload,
  create,
  renewSignaturePayload,
  renewSignedAtMs,
  timestampFromDate,
  type AgentMessage,
  type HubMessage,
  type StatusReport,
} from "@gitfleet/proto";
import { Metadata } from "@grpc/grpc-js";
import { createAccount, createUser } from "@nats-io/nkeys";
import fc from "fast-check";
import { pino } from "pino";
import { createCredentialIssuer, type CredentialIssuer } from "../credentials/issuer.js";
import { createDriftIndex } from "../drift/index.js";
import { HubError } from "../errors.js";
import { agentCorrectionEvents, deriveStatusEvents } from "../fleet-events/index.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { RegistrationTokenStore } from "../store/registration-tokens.js";
import type { StatusStore } from "../store/status.js";
import { decodeStatus, encodeStatus } from "../store/status-codec.js";
import { fuzzAsync, fuzzSync, refusesTyped, refusesTypedAsync } from "../test-support/fuzz.js";
import { arbitraryMessage } from "@gitfleet/proto/test-support";
import { connect, type ConnectCall } from "./connect-stream.js";
import { register } from "./register.js";
import { validateRegisterRequest } from "./register-request.js";
import { renew } from "./renew.js";
import type { AgentSession, SessionRegistry } from "./sessions.js";

const now = new Date("2026-05-01T12:00:00Z");
const signing = createUser();
const account = createAccount();
const natsUser = createUser().getPublicKey();
const silent = pino({ level: "silent" });
const realIssuer = createCredentialIssuer({
  credentialKey: new Uint8Array(32).fill(7),
  accountPublicKey: account.getPublicKey(),
  accountSigningSeed: new TextDecoder().decode(createAccount().getSeed()),
  natsServers: ["nats://127.0.0.1:4222"],
  ttlMs: 3_600_000,
  now: () => now,
});
// An Ed25519 signature costs ~0.1 s in the nkeys library here: credentials are minted once and
// handed out again; tokens are still checked by the real issuer.
const minted = await realIssuer.issue(clusterRecord());
const issuer: CredentialIssuer = { ttlMs: realIssuer.ttlMs, verify: (token) => realIssuer.verify(token), issue: () => Promise.resolve(minted) };
/** Most cases are refused before any signature is checked; one in `n` reaches the check. */
const oneIn = (n: number) => fc.nat(n - 1).map((k) => k === 0);

function clusterRecord(): ClusterRecord {
  return {
    id: "cq3v7tbd2kx5mfw6hz4ay",
    name: "prod-eu-1",
    labels: { env: "prod" },
    registeredAt: now.toISOString(),
    lastSeen: null,
    connected: false,
    credentialEpoch: 1,
    natsUserPublicKey: natsUser,
    signingPublicKey: signing.getPublicKey(),
    agentVersion: "0.1.0",
    kubernetesVersion: "v1.36.0",
    observedRevision: "",
    observedGeneration: 0,
    registrationTokenId: "t1",
    credentialsExpireAt: null,
    session: null,
  };
}

/** A cluster store of one record, in memory; refusals as the real store gives them. */
function memoryClusters(record: ClusterRecord): ClusterStore {
  const records = new Map([[record.id, record]]);
  const read = (id: string) => Promise.resolve(records.get(id));
  return {
    ready: () => Promise.resolve(),
    isReady: true,
    reserveName: () => Promise.reject(new HubError("already-exists", "cluster name is already registered")),
    reclaimStaleName: () => Promise.resolve(undefined),
    releaseName: () => Promise.resolve(),
    create: (r) => Promise.resolve(r),
    get: read,
    read,
    has: (id) => records.has(id),
    getByName: (name) => [...records.values()].find((r) => r.name === name),
    readByName: (name) => Promise.resolve([...records.values()].find((r) => r.name === name)),
    list: () => [...records.values()],
    update(id, change) {
      const current = records.get(id);
      if (!current) return Promise.reject(new HubError("not-found", `cluster ${id} does not exist`));
      const next = change(current) ?? current;
      // What the real store would write must be JSON.
      records.set(id, JSON.parse(JSON.stringify(next)) as ClusterRecord);
      return Promise.resolve(next);
    },
    delete: () => Promise.reject(new Error("not used")),
    subscribe: () => () => {},
    stop: () => Promise.resolve(),
  };
}

/** A status store that encodes and decodes every report as the real one does. */
function memoryStatus(): StatusStore {
  const reports = new Map<string, Uint8Array>();
  return {
    ready: () => Promise.resolve(),
    isReady: true,
    put(clusterId, report) {
      reports.set(clusterId, encodeStatus(clusterId, report).bytes);
      return Promise.resolve();
    },
    get: (clusterId) => {
      const bytes = reports.get(clusterId);
      return bytes === undefined ? undefined : decodeStatus(bytes);
    },
    delete: (clusterId) => Promise.resolve(void reports.delete(clusterId)),
    subscribe: () => () => {},
    stop: () => Promise.resolve(),
  };
}

/** Log lines at warn or above, parsed. */
function capturingLogger() {
  const lines: { level: number; msg: string; err?: { type?: string; message?: string } }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as (typeof lines)[number];
      if (line.level >= 40) lines.push(line);
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

/** The server side of a Connect call, driven by the test. */
function fakeCall(authorization: string): ConnectCall & EventEmitter & { written: HubMessage[] } {
  const call = new EventEmitter() as ConnectCall & EventEmitter & { written: HubMessage[] };
  const written: HubMessage[] = [];
  const metadata = new Metadata();
  metadata.set("authorization", authorization);
  let paused = false;
  Object.assign(call, {
    metadata,
    cancelled: false,
    writableEnded: false,
    written,
    getPeer: () => "fuzz",
    write: (message: HubMessage) => written.push(message) > 0,
    end: () => Object.assign(call, { writableEnded: true }),
    pause: () => (paused = true),
    resume: () => (paused = false),
    isPaused: () => paused,
  });
  return call;
}

const decoders: [string, DescMessage][] = [
  ["RegisterRequest", RegisterRequestSchema],
  ["RenewRequest", RenewRequestSchema],
  ["StatusReport", StatusReportSchema],
  ["AgentMessage", AgentMessageSchema],
];

void test("gRPC: arbitrary bytes into the decoder of every message the hub receives", () =>
  fuzzSync(
    fc.property(fc.constantFrom(...decoders), fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 20 }).map((b) => Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, ...b]))), ([name, schema], bytes) => {
      try {
        fromBinary(schema, bytes);
      } catch (err) {
        assert.ok(err instanceof Error && err.message.length > 0, `${name}: a decoding failure without a message`);
      }
    }),
  ));

void test("gRPC: arbitrary RegisterRequests into validation and Register", () =>
  fuzzAsync(
    fc.asyncProperty(arbitraryMessage(RegisterRequestSchema), async (request) => {
      refusesTyped(() => validateRegisterRequest(request), [HubError]);
      const refusal = new HubError("unauthenticated", "registration token is not valid");
      const result = await refusesTypedAsync(
        () =>
          register(
            {
              tokens: { check: () => Promise.reject(refusal) } as unknown as RegistrationTokenStore,
              clusters: memoryClusters(clusterRecord()),
              issuer,
              logger: silent,
              heartbeatIntervalSeconds: 15,
              trustedKeys: () => [],
              hubVersion: "0.1.0",
              onRegistered: () => assert.fail("nothing may be registered with a refused token"),
              now: () => now,
            },
            request,
          ),
        [HubError],
      );
      assert.equal(result, undefined);
    }),
  ));

void test("gRPC: arbitrary RenewRequests, signed and unsigned, into Renew", () =>
  fuzzAsync(
    fc.asyncProperty(arbitraryMessage(RenewRequestSchema), fc.boolean(), oneIn(10), async (request, sign, ourCluster) => {
      const record = clusterRecord();
      if (ourCluster) request.clusterId = record.id;
      if (sign && ourCluster && request.signedAt === undefined) request.signedAt = timestampFromDate(now);
      // A signed_at no Timestamp can hold has no canonical text to sign: it goes unsigned.
      if (sign && request.signedAt && renewSignedAtMs(request.signedAt) !== undefined) {
        request.signature = signing.sign(renewSignaturePayload({ clusterId: request.clusterId, signedAt: request.signedAt, natsUserPublicKey: request.natsUserPublicKey }));
      }
      await refusesTypedAsync(() => renew({ clusters: memoryClusters(record), issuer, trustedKeys: () => [], logger: silent, now: () => now }, request), [HubError]);
    }),
  ));

// Most streams first prove the signing key, as the real agent does, so the arbitrary messages
// reach status storage, drift and events; the others must have nothing recorded.
void test("gRPC: a Connect stream of arbitrary AgentMessages of every kind", () =>
  fuzzAsync(
    fc.asyncProperty(fc.array(arbitraryMessage(AgentMessageSchema, 3), { minLength: 1, maxLength: 6 }), oneIn(5), async (messages: AgentMessage[], unproven) => {
      const record = clusterRecord();
      const clusters = memoryClusters(record);
      const status = memoryStatus();
      const drift = createDriftIndex({ staleAfterMs: 45_000, now: () => now });
      drift.putCluster({ id: record.id, name: record.name, labels: record.labels, lastSeen: now.toISOString() });
      const { logger, lines } = capturingLogger();
      let session: AgentSession | undefined;
      let added: () => void = () => {};
      const opened = new Promise<void>((resolve) => (added = resolve));
      const sessions: SessionRegistry = {
        add: (s) => {
          session = s;
          added();
        },
        remove: () => {}, forCluster: () => [], list: () => [], size: 0, closeCluster: () => {}, closeAll: () => Promise.resolve() };
      const call = fakeCall(`Bearer ${minted.credentials.grpcToken}`);
      const done = connect(
        {
          clusters,
          status,
          issuer,
          sessions,
          logger,
          heartbeatIntervalSeconds: 15,
          trustedKeys: () => [],
          now: () => now,
          onStatus: (clusterId: string, report: StatusReport, previous: StatusReport | undefined) => {
            drift.putStatus(clusterId, report);
            deriveStatusEvents({ cluster: { id: clusterId, name: record.name }, previous, current: report, now });
          },
          onAgentEvents: (clusterId, events) => void agentCorrectionEvents({ cluster: { id: clusterId, name: record.name }, events, now }),
        },
        call,
      );
      // The stream listens once the token is checked.
      await Promise.race([opened, done]);
      assert.ok(session, "a valid token opened no session");
      const welcome = call.written.find((m) => m.kind.case === "welcome");
      assert.ok(welcome?.kind.case === "welcome", "no Welcome was written");
      if (!unproven) {
        const signature = signing.sign(connectProofPayload(record.id, welcome.kind.value.nonce));
        call.emit("data", create(AgentMessageSchema, { kind: { case: "proof", value: { signature } } }));
      }
      for (const message of messages) call.emit("data", create(AgentMessageSchema, message));
      call.emit("end");
      await done;
      await session?.done;
      const failures = lines.filter((l) => l.err !== undefined && l.err.type !== "HubError");
      assert.deepEqual(failures, [], "the hub failed on what the agent sent instead of refusing it");
      for (const l of lines) if (l.err?.type === "HubError") assert.ok(l.err.message, "a refusal without a message");
      if (unproven && messages[0]?.kind.case !== "proof") assert.equal(status.get(record.id), undefined, "an unproven stream's status was recorded");
    }),
  ));
