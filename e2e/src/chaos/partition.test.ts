// Chaos story 3, short version: a real agent cut off from the hubs and NATS (toxiproxy
// partition) while its cluster drifts keeps enforcing its last desired state; the hub shows it
// stale; on return it catches up with the commits made meanwhile and reports fresh status.
// Full length: npm run chaos -- --story partition --minutes 10.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runPartition, startStoryFleet, type StoryFleet } from "./stories.js";

const heartbeatMs = 2_000;
// The agent tries the hub again at least once per heartbeat interval; the TLS handshake, the
// ConnectProof and the first status report take the rest (on a loaded machine, up to 3 s).
const handshakeMs = 3_000;

describe("chaos: an agent partitioned from the hubs and NATS", { timeout: 600_000 }, () => {
  let story: StoryFleet;

  before(async () => {
    story = await startStoryFleet(["edge-1"], { hubs: 2, heartbeat: `${heartbeatMs / 1000}s`, links: { agentHub: true, agentNats: true } });
  });

  after(async () => {
    await story?.fleet.stop();
  });

  test("cut off for 25 s: drift is undone locally, the hub shows it stale, and it catches up on return", async (t) => {
    const lines: string[] = [];
    const result = await runPartition(story, "edge-1", 25_000, heartbeatMs, (l) => {
      lines.push(l);
      t.diagnostic(l);
    });
    const log = lines.join("\n");
    assert.ok(result.corrections >= 1, log);
    assert.ok(Number.isFinite(result.staleAfterS) && result.staleAfterS <= (3 * heartbeatMs) / 1000 + 5, `stale after ${result.staleAfterS} s\n${log}`);
    assert.ok(result.commitsMissed >= 1, log);
    assert.ok(result.freshS <= (heartbeatMs + handshakeMs) / 1000, `fresh ${result.freshS} s after the link returned (within one heartbeat)\n${log}`);
    assert.deepEqual(result.report.problems, [], log);
  });
});
