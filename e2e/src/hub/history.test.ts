// A cluster's history through a real hub and agent: each revision the cluster reaches is listed,
// newest first, with the commit's subject, author and promotion, by the API and the CLI, and a
// hub restart loses nothing and records nothing twice.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import { waitFor } from "../lab/process.js";

const plainFleet = fileURLToPath(new URL("../../fixtures/plain-fleet", import.meta.url));

interface HistoryItem {
  revision: string;
  reachedAt: string;
  subject?: string;
  author?: string;
  email?: string;
  promotion?: string;
  bundles: { name: string; digest: string; since: string }[];
}

const configYaml = (version: string): string =>
  ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: web-config", "data:", "  environment: staging", `  version: "${version}"`, ""].join("\n");

describe("a cluster's history", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  const commits: string[] = [];

  const history = async (limit?: number) =>
    (await fleet.api.get<{ cluster: string; items: HistoryItem[] }>(`/clusters/staging-us/history${limit ? `?limit=${limit}` : ""}`)).items;

  /** Waits until the history's newest entry is `revision`. */
  const historyAt = async (revision: string) =>
    await waitFor(async () => {
      const items = await history();
      return items[0]?.revision === revision ? items : undefined;
    }, { what: `staging-us's history to list ${revision.slice(0, 12)}`, timeoutMs: 30_000, intervalMs: 200 });

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
    await cp(plainFleet, seed, { recursive: true });
    fleet = await startFleet({ clusters: ["staging-us"], seed, webhookOnPush: true });
    commits.push(await fleet.head());
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: { env: "staging", region: "us" } });
    await fleet.startAgent("staging-us", { token: token.secret, labels: { env: "staging", region: "us" } });
    await waitForSynced(fleet.api, "staging-us", commits[0] ?? "");
  });

  after(async () => {
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("two commits delivered are listed newest first, with subject, author and the promotion of the one that names it", async () => {
    commits.push(await fleet.commit({ "apps/web/staging/config.yaml": configYaml("1.4.1") }, "web: staging runs 1.4.1"));
    await waitForSynced(fleet.api, "staging-us", commits[1] ?? "");
    commits.push(
      await fleet.commit(
        { "apps/web/staging/config.yaml": configYaml("1.4.2") },
        "promote web: canary → staging (1.4.2)\n\nversion: 1.4.1 → 1.4.2\n\nGitfleet-Promotion: p-e2e-history\nGitfleet-Pipeline: web",
      ),
    );
    await waitForSynced(fleet.api, "staging-us", commits[2] ?? "");
    const items = await historyAt(commits[2] ?? "");
    assert.deepEqual(
      items.map((i) => [i.revision, i.subject, i.author, i.promotion]),
      [
        [commits[2], "promote web: canary → staging (1.4.2)", "gitfleet e2e", "p-e2e-history"],
        [commits[1], "web: staging runs 1.4.1", "gitfleet e2e", undefined],
        [commits[0], items[2]?.subject, "gitfleet lab", undefined],
      ],
    );
    assert.ok(items[2]?.subject, "the first commit has its subject too");
    assert.ok(Date.parse(items[0]?.reachedAt ?? "") >= Date.parse(items[1]?.reachedAt ?? ""), "newest first");
    const [newest, previous] = items;
    const web = (i: HistoryItem | undefined) => i?.bundles.find((b) => b.name === "web");
    const platform = (i: HistoryItem | undefined) => i?.bundles.find((b) => b.name === "platform");
    assert.notEqual(web(newest)?.digest, web(previous)?.digest, "web changed");
    assert.equal(web(newest)?.since, newest?.reachedAt);
    assert.equal(platform(newest)?.digest, platform(previous)?.digest, "platform did not change...");
    assert.equal(platform(newest)?.since, items[2]?.reachedAt, "...so it runs its digest since the first revision");
    assert.deepEqual((await history(1)).map((i) => i.revision), [commits[2]], "limit bounds the answer");

    const cli = await runGitfleet(fleet, "history", "staging-us");
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^REVISION\s+REACHED\s+AUTHOR\s+PROMOTION\s+SUBJECT$/);
    assert.match(lines[1] ?? "", new RegExp(`^${commits[2]?.slice(0, 12)}\\s+\\d+[sm] ago\\s+gitfleet e2e\\s+p-e2e-history\\s+promote web: canary → staging \\(1\\.4\\.2\\)$`));
    assert.match(lines[2] ?? "", new RegExp(`^${commits[1]?.slice(0, 12)}\\s+.*web: staging runs 1\\.4\\.1$`));
    const unknown = await runGitfleet(fleet, "history", "nowhere");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /cluster nowhere is not registered/);
  });

  test("a hub restart loses nothing and records nothing twice; the next revision is listed on top", async () => {
    const before = await history();
    await fleet.restartHub();
    await waitFor(async () => ((await fleet.api.get<{ connected: boolean }>("/clusters/staging-us")).connected ? true : undefined), {
      what: "the agent reconnected to the new hub",
      timeoutMs: 60_000,
    });
    assert.deepEqual(await history(), before);
    commits.push(await fleet.commit({ "apps/web/staging/config.yaml": configYaml("1.4.3") }, "web: staging runs 1.4.3"));
    await waitForSynced(fleet.api, "staging-us", commits[3] ?? "");
    const items = await historyAt(commits[3] ?? "");
    assert.deepEqual(items.map((i) => i.revision), [commits[3], commits[2], commits[1], commits[0]]);
    assert.deepEqual(items.slice(1), before);
  });
});
