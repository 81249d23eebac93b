// Chaos story 2: one of the 3 NATS nodes is killed in the middle of a rollout; delivery and
// status go on, and the node rejoins.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runNatsLoss, startStoryFleet, type StoryFleet } from "./stories.js";

describe("chaos: a NATS node lost mid-rollout", { timeout: 600_000 }, () => {
  let story: StoryFleet;

  before(async () => {
    story = await startStoryFleet(["edge-1", "edge-2"], { hubs: 2, heartbeat: "2s", natsNodes: 3 });
  });

  after(async () => {
    await story?.fleet.stop();
  });

  test("delivery and status go on with 2 of 3 nodes; the node rejoins and nothing is lost", async (t) => {
    const lines: string[] = [];
    const result = await runNatsLoss(story, (l) => {
      lines.push(l);
      t.diagnostic(l);
    });
    assert.deepEqual(result.report.problems, [], lines.join("\n"));
  });
});
