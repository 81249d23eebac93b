// Chaos story 5: 300 ms latency and 5% dropped connections between the agents and the hubs and
// NATS; every cluster still converges (the time is measured by npm run bench:ha).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runSlowLinks, startStoryFleet, type StoryFleet } from "./stories.js";

describe("chaos: slow and lossy links", { timeout: 600_000 }, () => {
  let story: StoryFleet;

  before(async () => {
    story = await startStoryFleet(["edge-1", "edge-2"], { hubs: 2, heartbeat: "2s", links: { agentHub: true, agentNats: true } });
  });

  after(async () => {
    await story?.fleet.stop();
  });

  test("every cluster converges on each of 2 commits", async (t) => {
    const lines: string[] = [];
    const result = await runSlowLinks(story, 2, (l) => {
      lines.push(l);
      t.diagnostic(l);
    });
    assert.equal(result.convergeS.length, 2);
    assert.deepEqual(result.report.problems, [], lines.join("\n"));
  });
});
