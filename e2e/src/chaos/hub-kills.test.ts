// Chaos story 1, short version: 3 hubs (separate processes) on a 3-node NATS cluster; during a
// rollout, registrations and a promotion, a random hub is killed with SIGKILL at random moments
// and started again. Afterwards no record is lost or duplicated and every cluster is at the head.
// The soak runs the same story 100 times: npm run chaos -- --kills 100.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ChaosFleet } from "./harness.js";
import { runHubKills, startHubKillFleet } from "./hub-kills.js";
import type { Ledger } from "./invariants.js";
import type { SimFleet } from "../sim/index.js";

describe("chaos: hub replicas killed with SIGKILL", { timeout: 600_000 }, () => {
  let fleet: ChaosFleet;
  let ledger: Ledger;
  let sim: SimFleet | undefined;

  before(async () => {
    ({ fleet, ledger, sim } = await startHubKillFleet(10));
  });

  after(async () => {
    await sim?.stop();
    await fleet?.stop();
  });

  test("3 kills during a rollout, registrations and a promotion lose and duplicate nothing; every cluster ends at the head", async (t) => {
    const lines: string[] = [];
    const report = await runHubKills(fleet, ledger, { kills: 3, registrationsPerRound: 3, promoteEvery: 2, progress: (l) => {
      lines.push(l);
      t.diagnostic(l);
    } });
    assert.deepEqual(report.problems, [], lines.join("\n"));
    assert.equal(report.checked.converged, 2 + 10, "the demo's clusters and the simulated ones are at the head");
    assert.ok(report.checked.clusters >= 2 + 10 + 9, `${report.checked.clusters} clusters recorded`);
    assert.ok(ledger.promotions.size + ledger.promotionsUnknown >= 1 || lines.some((l) => l.includes("promotion refused")), lines.join("\n"));
  });
});
