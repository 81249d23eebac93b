import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { timestampFromDate } from "@gitfleet/proto";
import type { CommitInfo } from "../delivery/index.js";
import { testBundle, testReport } from "../test-support/status-reports.js";
import { entryId, nextEntry, withCommit } from "./history-entry.js";

const now = new Date("2026-05-01T12:00:00Z");
const at = (s: number) => new Date(now.getTime() - s * 1000);
const info: CommitInfo = {
  subject: "promote web: staging → prod-us (web:1.4.2)",
  author: "alice",
  email: "alice@gitfleet.invalid",
  time: "2026-05-01T11:58:00.000Z",
  trailers: { "Gitfleet-Promotion": "p-01hx", "Gitfleet-Pipeline": "web" },
  parents: ["c0"],
};

const report = (revision: string, digests: Record<string, string>, reportedAt = at(10)) =>
  testReport(Object.entries(digests).map(([name, digest]) => testBundle(name, [], { digest, revision })), { observedRevision: revision, reportedAt: timestampFromDate(reportedAt) });

void describe("history entries", () => {
  void test("the first revision a cluster reports is an entry with the commit's subject, author and promotion", () => {
    const entry = nextEntry({ previous: undefined, report: report("c1", { web: "d1", platform: "p1" }), info, now });
    assert.deepEqual(entry, {
      revision: "c1",
      reachedAt: at(10).toISOString(),
      bundles: [
        { name: "platform", digest: "p1", since: at(10).toISOString() },
        { name: "web", digest: "d1", since: at(10).toISOString() },
      ],
      subject: info.subject,
      author: "alice",
      email: "alice@gitfleet.invalid",
      committedAt: info.time,
      promotion: "p-01hx",
    });
  });

  void test("nothing changes while the cluster runs the same revision and digests; a bundle keeps its since when its digest stays", () => {
    const first = nextEntry({ previous: undefined, report: report("c1", { web: "d1", platform: "p1" }, at(100)), info: undefined, now });
    assert.ok(first);
    assert.equal(first.subject, undefined, "a commit the hub did not fetch has no metadata");
    assert.equal(first.promotion, undefined);
    assert.equal(nextEntry({ previous: first, report: report("c1", { platform: "p1", web: "d1" }, at(5)), info, now }), undefined);
    const second = nextEntry({ previous: first, report: report("c2", { web: "d2", platform: "p1" }, at(5)), info: { ...info, trailers: {} }, now });
    assert.deepEqual(second?.bundles, [
      { name: "platform", digest: "p1", since: at(100).toISOString() },
      { name: "web", digest: "d2", since: at(5).toISOString() },
    ]);
    assert.equal(second?.promotion, undefined, "a commit without the trailer names no promotion");
    const rerendered = nextEntry({ previous: second, report: report("c2", { web: "d3", platform: "p1" }, at(1)), info, now });
    assert.equal(rerendered?.bundles[1]?.since, at(1).toISOString(), "a new digest at the same revision (cluster variables changed) is an entry too");
    assert.notEqual(entryId("c-x", rerendered), entryId("c-x", second), "and it is not taken for the earlier one");
  });

  void test("no revision yet is no entry, and an agent clock ahead of the hub's counts as now", () => {
    assert.equal(nextEntry({ previous: undefined, report: report("", {}), info, now }), undefined);
    const ahead = nextEntry({ previous: undefined, report: report("c1", { web: "d1" }, new Date(now.getTime() + 60_000)), info, now });
    assert.equal(ahead?.reachedAt, now.toISOString());
  });

  void test("the id is the same on every replica for the same transition", () => {
    const a = nextEntry({ previous: undefined, report: report("c1", { web: "d1" }), info, now })!;
    const b = nextEntry({ previous: undefined, report: report("c1", { web: "d1" }), info: undefined, now: new Date(now.getTime() + 5) })!;
    assert.equal(entryId("cabc", a), entryId("cabc", b));
    assert.match(entryId("cabc", a), /^cabc\.c1\.[0-9a-f]{16}$/);
  });

  void test("metadata found later is added to the entry", () => {
    const entry = nextEntry({ previous: undefined, report: report("c1", { web: "d1" }), info: undefined, now })!;
    assert.equal(withCommit(entry, undefined), entry);
    assert.equal(withCommit(entry, info).promotion, "p-01hx");
  });
});
