// Chaos story 4, short version: the hubs' link to Git is cut; they keep serving the last
// resolved state and report the source error in the API and /readyz; a commit pushed meanwhile
// reaches every cluster once Git is back. Full length: npm run chaos -- --story git-down --minutes 10.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runGitDown, startStoryFleet, type StoryFleet } from "./stories.js";

describe("chaos: Git unreachable from the hubs", { timeout: 600_000 }, () => {
  let story: StoryFleet;

  before(async () => {
    story = await startStoryFleet(["edge-1", "edge-2"], { hubs: 2, pollInterval: "2s", heartbeat: "2s", links: { hubGit: true } });
  });

  after(async () => {
    await story?.fleet.stop();
  });

  test("for 20 s: the last state is served, the error is reported, and the hubs catch up when Git returns", async (t) => {
    const lines: string[] = [];
    const result = await runGitDown(story, 20_000, (l) => {
      lines.push(l);
      t.diagnostic(l);
    });
    const log = lines.join("\n");
    assert.ok(result.servedLastState, log);
    assert.notEqual(result.apiError, "", `the API showed no source error\n${log}`);
    assert.notEqual(result.readyzGit, "", `/readyz showed no Git error\n${log}`);
    assert.deepEqual(result.report.problems, [], log);
  });
});
