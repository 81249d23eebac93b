import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { CommandContext } from "./commands.js";
import { HubApiError, type HubClient } from "./hub-client.js";
import { runCli } from "./main.js";
import { pipelineGet } from "./pipeline-commands.js";
import { promote, promotionGet, promotionList, promotionRollback } from "./promotion-commands.js";
import type { GateEvaluationView, PipelineView, PromotionView } from "./promotion-views.js";

const sha = (c: string): string => c.repeat(40);
const diff = [
  "--- a/apps/web/prod-us/kustomization.yaml",
  "+++ b/apps/web/prod-us/kustomization.yaml",
  "@@ -6,3 +6,3 @@",
  " images:",
  "   - name: registry.example.com/web",
  "-    newTag: 1.4.0",
  "+    newTag: 1.5.0",
].join("\n");

const passed: GateEvaluationView = {
  stage: "staging",
  commit: sha("a"),
  passed: true,
  gates: [
    { gate: "synced", passed: true, message: "1 cluster synced at aaaaaaa" },
    { gate: "healthy", passed: true, message: "1 cluster healthy" },
  ],
};
const failing: GateEvaluationView = {
  ...passed,
  passed: false,
  gates: [
    { gate: "synced", passed: true, message: "1 cluster synced at aaaaaaa" },
    { gate: "healthy", passed: false, message: "staging-us: Deployment web/web 0 of 1 available", clusters: ["staging-us"] },
  ],
};

const record = (state: string, init: Partial<PromotionView> = {}): PromotionView => ({
  id: "p-01",
  kind: "promotion",
  pipeline: "web",
  bundle: "web",
  from: { stage: "staging", commit: sha("a") },
  to: { stage: "prod-us" },
  author: "alice",
  state,
  createdAt: new Date(Date.now() - 60_000).toISOString(),
  values: [{ kind: "image", file: "apps/web/prod-us/kustomization.yaml", key: "registry.example.com/web", value: "registry.example.com/web:1.5.0" }],
  diff: [{ file: "apps/web/prod-us/kustomization.yaml", diff }],
  gates: passed,
  commit: sha("b"),
  parent: sha("a"),
  transitions: [{ state: "pending", at: "2026-01-01T10:00:00.000Z" }],
  ...init,
});

const pipeline = (synced: number, healthy: number): PipelineView => ({
  name: "web",
  bundle: "web",
  stages: [
    { name: "staging", values: record("x").values ?? [], revision: sha("a"), clusters: { total: 1, synced: 1, healthy: 1 }, gates: passed },
    { name: "prod-us", values: [], revision: sha("b"), clusters: { total: 2, synced, healthy }, lastPromotion: { id: "p-01", state: "rolling-out" } },
    { name: "prod-eu", clusters: { total: 1, synced: 1, healthy: 1, stale: 1 }, gates: failing },
  ],
});

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/** A hub whose answers come from `answer`, recording every call. */
function fakeHub(answer: (call: Call) => unknown): { hub: HubClient; calls: Call[] } {
  const calls: Call[] = [];
  const respond = async <T>(call: Call): Promise<T> => {
    calls.push(call);
    await Promise.resolve();
    return answer(call) as T;
  };
  const hub: HubClient = {
    get: (path) => respond({ method: "GET", path }),
    post: (path, body) => respond({ method: "POST", path, body }),
    patch: () => Promise.reject(new Error("unused")),
    delete: () => Promise.reject(new Error("unused")),
    stream: () => Promise.reject(new Error("unused")),
  };
  return { hub, calls };
}

const context = (hub: HubClient, output: "table" | "json" = "table"): { ctx: CommandContext; out: string[] } => {
  const out: string[] = [];
  return { ctx: { hub, output, print: (s) => out.push(s) }, out };
};

void describe("gitfleet promote", () => {
  void test("posts the promotion and prints its gates and diff", async () => {
    const { hub, calls } = fakeHub(() => ({ promotion: record("committed") }));
    const { ctx, out } = context(hub);
    const code = await promote(ctx, { pipeline: "web", from: "staging", to: "prod-us" });
    assert.equal(code, 0);
    assert.deepEqual(calls, [{ method: "POST", path: "/promotions", body: { pipeline: "web", from: "staging", to: "prod-us" } }]);
    const text = out.join("\n");
    assert.match(text, /^promotion p-01: web staging → prod-us \(registry\.example\.com\/web:1\.5\.0\): committed, commit b{12}$/m);
    assert.match(text, /^gates of staging at a{12}: passed$/m);
    assert.match(text, /^\s+healthy\s+pass\s+1 cluster healthy$/m);
    assert.match(text, /^\s+-\s+newTag: 1\.4\.0$/m);
    assert.match(text, /^\s+\+\s+newTag: 1\.5\.0$/m);
  });

  void test("a dry run says nothing was written and fails when gates do not pass", async () => {
    const { hub, calls } = fakeHub(() => ({ dryRun: true, gates: failing, values: record("x").values, diff: [{ file: "f", diff }] }));
    const { ctx, out } = context(hub);
    assert.equal(await promote(ctx, { pipeline: "web", from: "staging", to: "prod-us", dryRun: true }), 1);
    assert.deepEqual(calls[0]?.body, { pipeline: "web", from: "staging", to: "prod-us", dryRun: true });
    assert.match(out.join("\n"), /dry run of the promotion of web from staging to prod-us: nothing written/);
    assert.match(out.join("\n"), /^\s+healthy\s+FAIL\s+staging-us: Deployment web\/web 0 of 1 available$/m);
  });

  void test("a refusal for gates prints every gate with the hub's message and exits 1", async () => {
    const { hub } = fakeHub(() => {
      throw new HubApiError(412, "failed-precondition", "the gates of staging do not pass", { error: { code: "failed-precondition", message: "the gates of staging do not pass" }, gates: failing });
    });
    const { ctx, out } = context(hub);
    assert.equal(await promote(ctx, { pipeline: "web", from: "staging", to: "prod-us" }), 1);
    assert.match(out.join("\n"), /^promotion of web from staging to prod-us refused: the gates of staging do not pass$/m);
    assert.match(out.join("\n"), /^\s+healthy\s+FAIL\s+staging-us: Deployment web\/web 0 of 1 available$/m);
  });

  void test("other refusals are errors with the hub's message", async () => {
    const { hub } = fakeHub(() => {
      throw new HubApiError(409, "conflict", "nothing to promote: prod-us already runs registry.example.com/web:1.5.0");
    });
    const { ctx } = context(hub);
    await assert.rejects(promote(ctx, { pipeline: "web", from: "staging", to: "prod-us" }), /nothing to promote: prod-us already runs/);
  });

  void test("--wait shows each state and the target's counts until verified, exit 0", async () => {
    const reads = [
      record("rolling-out", { transitions: [{ state: "pending", at: "2026-01-01T10:00:00.000Z" }, { state: "committed", at: "2026-01-01T10:00:01.000Z" }, { state: "rolling-out", at: "2026-01-01T10:00:02.000Z" }] }),
      record("verified", {
        transitions: [
          { state: "pending", at: "2026-01-01T10:00:00.000Z" },
          { state: "committed", at: "2026-01-01T10:00:01.000Z" },
          { state: "rolling-out", at: "2026-01-01T10:00:02.000Z" },
          { state: "verified", at: "2026-01-01T10:00:09.000Z" },
        ],
      }),
    ];
    let pipelineReads = 0;
    const { hub } = fakeHub((call) => {
      if (call.method === "POST") return { promotion: record("pending") };
      if (call.path === "/pipelines/web") return pipeline(pipelineReads++ === 0 ? 0 : 2, 1);
      return { promotion: reads.shift() };
    });
    const { ctx, out } = context(hub);
    assert.equal(await promote(ctx, { pipeline: "web", from: "staging", to: "prod-us", wait: true }, { intervalMs: 1 }), 0);
    const lines = out.join("\n").split("\n");
    const progress = lines.filter((l) => /^ {2}\d\d:\d\d:\d\d /.test(l)).map((l) => l.slice(11));
    assert.deepEqual(progress, ["pending", "prod-us 0/2 synced, 1/2 healthy", "committed", "rolling-out", "prod-us 2/2 synced, 1/2 healthy", "verified"]);
    assert.equal(lines.at(-1), "verified: prod-us runs registry.example.com/web:1.5.0");
  });

  void test("--wait exits 1 when the promotion fails, with its message", async () => {
    const { hub } = fakeHub((call) => {
      if (call.method === "POST") return { promotion: record("rolling-out") };
      if (call.path.startsWith("/pipelines")) return pipeline(0, 0);
      return { promotion: record("failed", { message: "prod-us-1: Deployment web/web 0 of 3 available at the deadline" }) };
    });
    const { ctx, out } = context(hub);
    assert.equal(await promote(ctx, { pipeline: "web", from: "staging", to: "prod-us", wait: true }, { intervalMs: 1 }), 1);
    assert.equal(out.join("\n").split("\n").at(-1), "failed: prod-us-1: Deployment web/web 0 of 3 available at the deadline");
  });

  void test("through the command line: flags, usage errors and exit codes", async () => {
    const env = { GITFLEET_TOKEN: "t", GITFLEET_HUB: "http://127.0.0.1:1" };
    assert.equal(await runCli(["promote", "--from", "staging", "--to", "prod-us"], () => {}, env), 2);
    assert.equal(await runCli(["promote", "web", "--to", "prod-us"], () => {}, env), 2);
    // Nothing listens on port 1: the hub is unreachable, an error (1), not a usage error.
    assert.equal(await runCli(["promote", "web", "--from", "staging", "--to", "prod-us", "--dry-run"], () => {}, env), 1);
    assert.equal(await runCli(["promotion", "get"], () => {}, env), 2);
  });
});

void describe("gitfleet promotion list, get and rollback", () => {
  void test("list passes its filters and prints one row per promotion", async () => {
    const { hub, calls } = fakeHub(() => ({ items: [record("verified"), record("rolled-back", { id: "p-00", kind: "rollback", rollbackOf: "p-x", author: "gitfleet", automatic: true })] }));
    const { ctx, out } = context(hub);
    await promotionList(ctx, { pipeline: "web", state: "verified", limit: 5 });
    assert.equal(calls[0]?.path, "/promotions?pipeline=web&state=verified&limit=5");
    const lines = (out[0] ?? "").split("\n");
    assert.match(lines[0] ?? "", /^ID\s+PIPELINE\s+FROM\s+TO\s+KIND\s+STATE\s+VALUES\s+COMMIT\s+AUTHOR\s+AGE$/);
    assert.match(lines[1] ?? "", /^p-01\s+web\s+staging\s+prod-us\s+promotion\s+verified\s+registry\.example\.com\/web:1\.5\.0\s+b{12}\s+alice\s+1m ago$/);
    assert.match(lines[2] ?? "", /^p-00\s+.*rollback of p-x\s+rolled-back\s.*gitfleet/);
  });

  void test("get prints the record, its verification, transitions, gates and diff", async () => {
    const { hub, calls } = fakeHub(() => ({
      promotion: record("verified", {
        rolledBackBy: "p-02",
        verification: { verifiedAt: "2026-01-01T10:00:09.000Z", clusters: [{ name: "prod-us-1", state: "healthy" }] },
        transitions: [{ state: "pending", at: "2026-01-01T10:00:00.000Z" }, { state: "verified", at: "2026-01-01T10:00:09.000Z", message: "2 clusters healthy" }],
      }),
    }));
    const { ctx, out } = context(hub);
    await promotionGet(ctx, "p-01");
    assert.equal(calls[0]?.path, "/promotions/p-01");
    const text = out.join("\n");
    assert.match(text, /^State:\s+verified$/m);
    assert.match(text, /^Rolled back by:\s+p-02$/m);
    assert.match(text, /^Commit:\s+b{40} \(parent a{12}\)$/m);
    assert.match(text, /^\s+prod-us-1\s+healthy\s+-$/m);
    assert.match(text, /^\s+2026-01-01 10:00:09\s+verified\s+2 clusters healthy$/m);
    assert.match(text, /^\s+\+\s+newTag: 1\.5\.0$/m);
  });

  void test("rollback posts to the promotion and prints the rollback's record", async () => {
    const { hub, calls } = fakeHub(() => ({ promotion: record("committed", { id: "p-02", kind: "rollback", rollbackOf: "p-01", from: { stage: "prod-us" } }) }));
    const { ctx, out } = context(hub);
    assert.equal(await promotionRollback(ctx, "p-01", {}), 0);
    assert.deepEqual(calls[0], { method: "POST", path: "/promotions/p-01/rollback", body: {} });
    assert.match(out[0] ?? "", /^rollback of p-01 p-02: web prod-us → prod-us/);
  });

  void test("-o json prints the record as the hub gave it", async () => {
    const { hub } = fakeHub(() => ({ promotion: record("verified") }));
    const { ctx, out } = context(hub, "json");
    await promotionGet(ctx, "p-01");
    assert.equal((JSON.parse(out[0] ?? "") as PromotionView).state, "verified");
  });
});

void describe("gitfleet pipeline get", () => {
  void test("prints a row per stage and why failing gates fail", async () => {
    const { hub } = fakeHub(() => ({ ...pipeline(1, 1), held: { reason: "promotion p-03 into prod-us failed verification and was rolled back", promotion: "p-03" } }));
    const { ctx, out } = context(hub);
    await pipelineGet(ctx, "web");
    const text = out.join("\n");
    assert.match(text, /^pipeline web \(bundle web\): staging → prod-us → prod-eu$/m);
    assert.match(text, /^STAGE\s+VALUES\s+REVISION\s+CLUSTERS\s+LAST PROMOTION\s+GATES$/m);
    assert.match(text, /^staging\s+registry\.example\.com\/web:1\.5\.0\s+a{12}\s+1\/1 synced, 1\/1 healthy\s+-\s+pass$/m);
    assert.match(text, /^prod-us\s+-\s+b{12}\s+1\/2 synced, 1\/2 healthy\s+p-01 rolling-out\s+\?$/m);
    assert.match(text, /^prod-eu\s+.*1 stale\s+-\s+FAIL \(healthy\)$/m);
    assert.match(text, /^auto-promotion held: promotion p-03 into prod-us failed verification and was rolled back; resume it with gitfleet pipeline resume web$/m);
    assert.match(text, /^\s+prod-eu: healthy: staging-us: Deployment web\/web 0 of 1 available$/m);
  });
});
