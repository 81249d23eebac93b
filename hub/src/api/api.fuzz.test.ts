// Fuzzes the admin API through Fastify's inject, against the real server (createApiServer: every
// route, its schema, its handler, the error handler and the failed-authentication limit) over
// in-memory stores. Requests are built from the OpenAPI document the server serves: any route,
// path parameters, the query parameters it declares (and others), JSON bodies made of the field
// names of its schemas, odd content types, and admin, viewer, wrong or no tokens.
// Properties: every answer is 2xx/3xx/4xx, never 5xx (routes whose optional service is not
// configured answer 503 by design, and only those), and every 4xx is the JSON error body with a
// message that says what is wrong.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import type { KV, KvEntry } from "@nats-io/kv";
import type { JetStreamManager } from "@nats-io/jetstream";
import fc from "fast-check";
import { pino } from "pino";
import { createClusterRemover } from "../cluster-removal.js";
import { createDriftIndex } from "../drift/index.js";
import { HubError } from "../errors.js";
import { defaultEventLogLimits, type EventLog } from "../fleet-events/index.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import { createRegistrationTokenStore } from "../store/registration-tokens.js";
import type { StatusStore } from "../store/status.js";
import { fuzzAsync, keyedValue } from "../test-support/fuzz.js";
import { createApiAuthenticator } from "./auth.js";
import { createApiServer, type ApiServer } from "./server.js";

const admin = "an-admin-token-for-the-api-fuzzer-0001";
const viewer = "a-viewer-token-for-the-api-fuzzer-00001";
const webhookSecret = "a-webhook-secret-for-the-api-fuzzer-01";
const now = new Date("2026-05-01T12:00:00Z");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The KV calls the registration token store makes, in memory. */
function memoryKv(): KV {
  const entries = new Map<string, { value: string; revision: number }>();
  let revision = 0;
  const entry = (key: string, e: { value: string; revision: number }) =>
    ({ key, revision: e.revision, operation: "PUT", value: new TextEncoder().encode(e.value), json: <T>() => JSON.parse(e.value) as T, string: () => e.value }) as unknown as KvEntry;
  const kv = {
    get: (key: string) => Promise.resolve(entries.has(key) ? entry(key, entries.get(key) as { value: string; revision: number }) : null),
    create: (key: string, value: string) => {
      if (entries.has(key)) return Promise.reject(new Error(`${key} exists`));
      entries.set(key, { value, revision: ++revision });
      return Promise.resolve(revision);
    },
    update: (key: string, value: string, previous: number) => {
      if (entries.get(key)?.revision !== previous) return Promise.reject(new Error(`${key} changed`));
      entries.set(key, { value, revision: ++revision });
      return Promise.resolve(revision);
    },
    keys: () =>
      Promise.resolve(
        (async function* () {
          await Promise.resolve();
          yield* [...entries.keys()];
        })(),
      ),
  };
  return kv as unknown as KV;
}

function cluster(name: string, i: number): ClusterRecord {
  return {
    id: `cq3v7tbd2kx5mfw6hz4a${"abcdefgh"[i] ?? "z"}`,
    name,
    labels: { env: i % 2 ? "prod" : "staging", region: "eu" },
    registeredAt: now.toISOString(),
    lastSeen: now.toISOString(),
    connected: true,
    credentialEpoch: 1,
    natsUserPublicKey: "U",
    signingPublicKey: "U",
    agentVersion: "0.1.0",
    kubernetesVersion: "v1.36.0",
    observedRevision: "",
    observedGeneration: 0,
    registrationTokenId: "t1",
    credentialsExpireAt: null,
    session: null,
  };
}

/** A cluster store in memory, refusing as the real one does. */
function memoryClusters(records: ClusterRecord[]): ClusterStore {
  const byId = new Map(records.map((r) => [r.id, r]));
  const read = (id: string) => Promise.resolve(byId.get(id));
  return {
    ready: () => Promise.resolve(),
    isReady: true,
    reserveName: () => Promise.resolve(undefined),
    reclaimStaleName: () => Promise.resolve(undefined),
    releaseName: () => Promise.resolve(),
    create: (r) => Promise.resolve(r),
    get: read,
    read,
    has: (id) => byId.has(id),
    getByName: (name) => [...byId.values()].find((r) => r.name === name),
    readByName: (name) => Promise.resolve([...byId.values()].find((r) => r.name === name)),
    list: () => [...byId.values()].sort((a, b) => a.name.localeCompare(b.name)),
    update(id, change) {
      const current = byId.get(id);
      if (!current) return Promise.reject(new HubError("not-found", `cluster ${id} does not exist`));
      const next = change(current) ?? current;
      byId.set(id, next);
      return Promise.resolve(next);
    },
    delete(id) {
      const current = byId.get(id);
      if (!current) return Promise.reject(new HubError("not-found", `cluster ${id} does not exist`));
      byId.delete(id);
      return Promise.resolve(current);
    },
    subscribe: () => () => {},
    stop: () => Promise.resolve(),
  };
}

const status: StatusStore = {
  ready: () => Promise.resolve(),
  isReady: true,
  put: () => Promise.resolve(),
  get: () => undefined,
  delete: () => Promise.resolve(),
  subscribe: () => () => {},
  stop: () => Promise.resolve(),
};

const events: EventLog = {
  limits: defaultEventLogLimits,
  record: () => Promise.resolve(true),
  settle: () => Promise.resolve(),
  list: () => Promise.resolve({ items: [] }),
  follow: () => Promise.resolve({ closed: Promise.resolve(), stop: () => Promise.resolve() }),
  lastPerSubject: () => Promise.resolve([]),
};

// Answered with 503 by design when the hub runs without them (no Git repository here).
const unconfigured = ["/api/v1/promotions", "/api/v1/pipelines", "/api/v1/diff"];

let server: ApiServer;
let routes: { method: string; path: string; query: string[]; body: string[] }[] = [];

before(async () => {
  const records = ["prod-eu-1", "staging", "web"].map(cluster);
  const clusters = memoryClusters(records);
  const drift = createDriftIndex({ staleAfterMs: 45_000, now: () => now });
  for (const r of records) drift.putCluster({ id: r.id, name: r.name, labels: r.labels, lastSeen: r.lastSeen });
  server = await createApiServer({
    logger: pino({ level: "silent" }),
    tokens: createRegistrationTokenStore({ kv: memoryKv(), now: () => now }),
    clusters,
    status,
    drift,
    auth: createApiAuthenticator([
      { name: "admin", role: "admin", hash: sha256(admin) },
      { name: "viewer", role: "viewer", hash: sha256(viewer) },
    ]),
    bundleErrors: { errorsFor: () => [] },
    // The hub's own removal; desired state is purged by a no-op here (no NATS in this process).
    removeCluster: createClusterRemover({
      clusters,
      status,
      jsm: {} as JetStreamManager,
      purgeDesired: () => Promise.resolve(),
      logger: pino({ level: "silent" }),
    }),
    events,
    notifications: { sinks: () => [] } as unknown as Parameters<typeof createApiServer>[0]["notifications"],
    readiness: () => ({ checks: {} }),
    webhookSecret,
    onGitPush: () => {},
    staleAfterMs: 45_000,
    version: "0.1.0",
    // The limit itself is tested elsewhere; here it would turn most requests into 429s.
    failedAuthLimit: { max: 1_000_000, windowMs: 60_000 },
    now: () => now,
  });
  await server.app.ready();
  const doc = server.app.swagger() as { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>> };
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
      body: [...JSON.stringify(op.requestBody ?? {}).matchAll(/"([A-Za-z][A-Za-z0-9]*)":\{"/g)].map((m) => m[1] ?? ""),
    })),
  );
  // A stream never ends by itself: its handshake is tested with the events routes.
  routes = routes.filter((r) => !r.path.endsWith("/stream"));
  assert.ok(routes.length > 20, `the OpenAPI document lists only ${routes.length} operations`);
});
after(() => server.close());

const value = fc.oneof(
  fc.constantFrom("", "prod-eu-1", "staging", "web", "env=prod", "env in (prod)", "!env", "a,b", "0", "-1", "5001", "1h", "2026-05-01T00:00:00Z", "drifted", "cluster", "true", "%", "%zz", "..%2f..", "a".repeat(300), "\u00e9", "${x}", "[]", "{}"),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
);

const request = fc.record({
  route: fc.nat(1_000),
  params: fc.array(value, { minLength: 3, maxLength: 3 }),
  query: fc.array(fc.tuple(fc.oneof(fc.constantFrom("limit", "continue", "clusterSelector", "state", "since", "groupBy", "cluster", "bundle", "type"), fc.string({ maxLength: 8 })), value), { maxLength: 4 }),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: fc.constant("fields") },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom("{", "null", "[]", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', "1e999", '"x"') },
  ),
  fields: keyedValue(["name", "labels", "allowedLabels", "maxUses", "ttl", "variables", "description", "bundle", "from", "to", "pipeline", "stage", "force", "reason", "env", "ref", "after"], 3),
  contentType: fc.constantFrom("application/json", "application/json", "application/merge-patch+json", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin1"),
  token: fc.constantFrom(admin, admin, viewer, "wrong-token-wrong-token-wrong-token", "", "Basic abc"),
  method: fc.option(fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT"), { freq: 8, nil: undefined }),
});

void test("API: requests built from the OpenAPI document, with random parameters, queries and bodies", () =>
  fuzzAsync(
    fc.asyncProperty(request, async (r) => {
      const route = routes[r.route % routes.length];
      assert.ok(route);
      let i = 0;
      const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(r.params[i++] ?? ""));
      const query = new URLSearchParams(r.query).toString();
      const payload = r.body === undefined ? undefined : r.body === "fields" ? JSON.stringify(r.fields) : r.body;
      const headers: Record<string, string> = {};
      if (r.token !== "") headers["authorization"] = r.token.startsWith("Basic") ? r.token : `Bearer ${r.token}`;
      if (payload !== undefined && r.contentType !== "") headers["content-type"] = r.contentType;
      const method = (r.method ?? route.method) as "GET";
      const res = await server.app.inject({ method, url: `${path}${query ? `?${query}` : ""}`, headers, ...(payload === undefined ? {} : { payload }) });
      const where = `${method} ${path}?${query} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
      if (res.statusCode === 503) assert.ok(unconfigured.some((p) => path.startsWith(p)), `503 from a configured route: ${where}`);
      else assert.ok(res.statusCode < 500, `a 5xx answer: ${where}`);
      if (res.statusCode >= 400) {
        const body = res.json<{ error?: { code?: unknown; message?: unknown } }>();
        assert.ok(typeof body.error?.code === "string" && typeof body.error.message === "string" && body.error.message.length > 0, `an error without a message: ${where}`);
      }
    }),
  ));
