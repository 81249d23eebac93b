// `npm run chaos`: the chaos stories at full length on a lab, with progress lines and a final
// invariant report. Default: the hub-kill soak, `--kills 100` rounds.
//   npm run chaos -- --kills 100 [--simulated 20]
//   npm run chaos -- --story partition --minutes 10
//   npm run chaos -- --story git-down --minutes 10
//   npm run chaos -- --story nats-loss
//   npm run chaos -- --story slow-links [--commits 5]
import { parseArgs } from "node:util";
import { runHubKills, startHubKillFleet } from "../chaos/hub-kills.js";
import { reportLine, type InvariantReport } from "../chaos/invariants.js";
import { runGitDown, runNatsLoss, runPartition, runSlowLinks, startStoryFleet } from "../chaos/stories.js";

const { values } = parseArgs({
  options: {
    story: { type: "string", default: "hub-kills" },
    kills: { type: "string", default: "100" },
    minutes: { type: "string", default: "10" },
    simulated: { type: "string", default: "20" },
    commits: { type: "string", default: "5" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log("usage: npm run chaos -- [--story hub-kills|nats-loss|partition|git-down|slow-links] [--kills N] [--minutes M] [--simulated N] [--commits N]");
  process.exit(0);
}
const started = Date.now();
const say = (line: string): void => console.log(`[chaos ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}`);
const minutes = Number(values.minutes);
const story = values.story ?? "hub-kills";

let outcome: { report: InvariantReport; extra: string[] } | undefined;
function finish(report: InvariantReport, extra: string[] = []): void {
  outcome = { report, extra };
}
function exit(): never {
  if (!outcome) process.exit(1);
  const { report, extra } = outcome;
  say("invariant report:");
  for (const l of extra) say(`  ${l}`);
  say(`  ${reportLine(report)}`);
  for (const p of report.problems) say(`  PROBLEM ${p}`);
  process.exit(report.problems.length === 0 ? 0 : 1);
}

if (story === "hub-kills") {
  const kills = Number(values.kills);
  const { fleet, ledger, sim } = await startHubKillFleet(Number(values.simulated), say);
  let report: InvariantReport;
  try {
    say(`fleet up: 3 hubs, ${fleet.lab.nats.nodes?.length ?? 1} NATS nodes, ${ledger.agentClusters.length} clusters; ${kills} kills`);
    report = await runHubKills(fleet, ledger, { kills, progress: say });
  } finally {
    await sim?.stop();
    await fleet.stop();
  }
  finish(report, [`${kills} hubs killed with SIGKILL`, `${ledger.registrations.size} registrations, ${ledger.promotions.size} promotions accepted, ${ledger.promotionsUnknown} answers lost`]);
  exit();
}

const heartbeatMs = 5_000;
const links =
  story === "partition" || story === "slow-links" ? { agentHub: true, agentNats: true } : story === "git-down" ? { hubGit: true } : {};
const clusters = story === "partition" ? ["edge-1"] : ["edge-1", "edge-2", "edge-3"];
const fleet = await startStoryFleet(clusters, { hubs: 3, heartbeat: `${heartbeatMs / 1000}s`, pollInterval: "10s", links, progress: say });
try {
  switch (story) {
    case "partition": {
      const r = await runPartition(fleet, "edge-1", minutes * 60_000, heartbeatMs, say);
      finish(r.report, [
        `cut off ${minutes} min; ${r.corrections} drift corrections made locally; ${r.commitsMissed} commits missed`,
        `stale on the hub after ${r.staleAfterS.toFixed(1)} s; fresh ${r.freshS.toFixed(1)} s and caught up ${r.caughtUpS.toFixed(1)} s after the link returned`,
      ]);
      break;
    }
    case "git-down": {
      const r = await runGitDown(fleet, minutes * 60_000, say);
      finish(r.report, [
        `Git unreachable ${minutes} min; last state served: ${r.servedLastState}`,
        `API: ${r.apiError || "(no error shown)"}`,
        `/readyz git: ${r.readyzGit || "(no error shown)"}`,
        `caught up ${r.caughtUpS.toFixed(1)} s after Git returned`,
      ]);
      break;
    }
    case "nats-loss": {
      const r = await runNatsLoss(fleet, say);
      finish(r.report, [`node ${r.node} killed; delivered with it down in ${r.deliveredS.toFixed(1)} s; hubs ready ${r.rejoinedS.toFixed(1)} s after it restarted`]);
      break;
    }
    case "slow-links": {
      const r = await runSlowLinks(fleet, Number(values.commits), say);
      finish(r.report, [`converged per commit: ${r.convergeS.map((s) => s.toFixed(1)).join(", ")} s`]);
      break;
    }
    default:
      throw new Error(`unknown story ${story}`);
  }
} finally {
  await fleet.fleet.stop();
}
exit();
