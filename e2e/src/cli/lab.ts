// `npm run lab -- up|down|status|add-cluster`: runs the lab in the background.
import { spawn } from "node:child_process";
import { open, readFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { waitFor } from "../lab/process.js";
import { isAlive, readLabState, runningLabPid, stateDir, stateFiles, type LabState } from "../lab/state.js";

const usage = `usage: npm run lab -- <command>

  up [--clusters N] [--no-workloads] [--nats-nodes N] [--faults]
                        start the lab in the background (default 1 cluster) and wait until ready;
                        each cluster runs workloads (kube-controller-manager, kube-scheduler and a
                        kwok fake node) unless --no-workloads leaves them out; --nats-nodes 3 runs
                        a 3-server NATS JetStream cluster instead of one server; --faults starts
                        toxiproxy for fault injection (its API URL is shown)
  down                  stop the lab and remove its data
  status                show what runs and where
  add-cluster NAME      start one more cluster in the running lab
  nats kill|stop|start NAME
                        kill (SIGKILL), stop or start again one NATS server of the running lab
                        (names as \`status\` shows them, e.g. gitfleet-lab-2)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    clusters: { type: "string", default: "1" },
    "no-workloads": { type: "boolean", default: false },
    "nats-nodes": { type: "string", default: "1" },
    faults: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

try {
  const [command, ...rest] = positionals;
  if (values.help || !command) console.log(usage);
  else if (command === "up") process.exitCode = await up(values.clusters, !values["no-workloads"], values["nats-nodes"], values.faults);
  else if (command === "down") process.exitCode = await down();
  else if (command === "status") process.exitCode = await status();
  else if (command === "add-cluster") process.exitCode = await addCluster(rest[0]);
  else if (command === "nats") process.exitCode = await natsNode(rest[0], rest[1]);
  else {
    console.error(`unknown command "${command}"\n\n${usage}`);
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`lab: ${(err as Error).message}`);
  process.exitCode = 1;
}

async function up(clustersArg: string, workloads: boolean, natsNodesArg: string, faults: boolean): Promise<number> {
  const clusters = Number(clustersArg);
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > 20) {
    console.error(`--clusters must be a whole number from 1 to 20, got "${clustersArg}"`);
    return 2;
  }
  const natsNodes = Number(natsNodesArg);
  if (natsNodes !== 1 && natsNodes !== 3 && natsNodes !== 5) {
    console.error(`--nats-nodes must be 1, 3 or 5 (the replica counts the hub accepts), got "${natsNodesArg}"`);
    return 2;
  }
  const running = await runningLabPid();
  if (running) {
    console.error(`a lab is already running (pid ${running}); see \`npm run lab -- status\`, stop it with \`npm run lab -- down\``);
    return 1;
  }
  await mkdir(stateDir, { recursive: true });
  const log = await open(stateFiles.log, "w");
  const supervisor = fileURLToPath(new URL("../lab/supervisor.ts", import.meta.url));
  const args = [
    ...process.execArgv,
    supervisor,
    "--clusters",
    String(clusters),
    "--nats-nodes",
    String(natsNodes),
    ...(workloads ? [] : ["--no-workloads"]),
    ...(faults ? ["--faults"] : []),
  ];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
  });
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the lab supervisor");
  child.unref();
  let exited = false;
  child.once("exit", () => (exited = true));
  const abort = (): void => {
    console.error("\ninterrupted: stopping the lab");
    process.kill(pid, "SIGTERM");
  };
  process.once("SIGINT", abort);

  // Relay the supervisor's progress (builds, servers ready) until it is ready or gone.
  let shown = 0;
  const relay = async (): Promise<void> => {
    const text = await readFile(stateFiles.log, "utf8");
    if (text.length > shown) process.stdout.write(text.slice(shown));
    shown = text.length;
  };
  try {
    const state = await waitFor(
      async () => {
        await relay();
        if (exited) throw new Error("the lab supervisor exited");
        const s = await readLabState();
        return s?.pid === pid ? s : undefined;
      },
      { what: "the lab to be ready", timeoutMs: 60 * 60_000, intervalMs: 250 },
    );
    printState(state);
    console.log("\nstop it with: npm run lab -- down");
    return 0;
  } catch {
    await relay();
    console.error(`the lab did not start; its log is ${stateFiles.log}`);
    return 1;
  } finally {
    process.off("SIGINT", abort);
  }
}

async function down(): Promise<number> {
  const pid = await runningLabPid();
  if (!pid) {
    console.log("no lab is running");
    return 0;
  }
  process.kill(pid, "SIGTERM");
  try {
    await waitFor(() => !isAlive(pid), { what: `lab supervisor ${pid} to stop`, timeoutMs: 60_000, intervalMs: 200 });
  } catch {
    // The supervisor leads its own process group: take its servers with it.
    process.kill(-pid, "SIGKILL");
  }
  await runningLabPid();
  console.log("lab stopped");
  return 0;
}

async function status(): Promise<number> {
  const pid = await runningLabPid();
  const state = await readLabState();
  if (!pid || !state) {
    console.log("no lab is running; start one with `npm run lab -- up`");
    return 1;
  }
  printState(state);
  return 0;
}

async function addCluster(name: string | undefined): Promise<number> {
  if (!name) {
    console.error("usage: npm run lab -- add-cluster NAME");
    return 2;
  }
  const state = (await runningLabPid()) ? await readLabState() : undefined;
  if (!state) {
    console.error("no lab is running; start one with `npm run lab -- up` or `npm run demo`");
    return 1;
  }
  console.log(`starting cluster ${name}...`);
  const res = await fetch(`${state.control.url}/clusters`, {
    method: "POST",
    headers: { authorization: `Bearer ${state.control.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = (await res.json()) as { error?: string; server?: string; kubeconfig?: string; nodes?: string[] };
  if (!res.ok) {
    console.error(`add-cluster: ${body.error ?? res.statusText}`);
    return 1;
  }
  console.log(`cluster ${name} ready at ${body.server}\nkubeconfig: ${body.kubeconfig}`);
  if (body.nodes?.length) console.log(`nodes: ${body.nodes.join(", ")}`);
  return 0;
}

async function natsNode(action: string | undefined, name: string | undefined): Promise<number> {
  if (!name || (action !== "kill" && action !== "stop" && action !== "start")) {
    console.error("usage: npm run lab -- nats kill|stop|start NAME");
    return 2;
  }
  const state = (await runningLabPid()) ? await readLabState() : undefined;
  if (!state) {
    console.error("no lab is running; start one with `npm run lab -- up --nats-nodes 3`");
    return 1;
  }
  const res = await fetch(`${state.control.url}/nats/${encodeURIComponent(name)}/${action}`, {
    method: "POST",
    headers: { authorization: `Bearer ${state.control.token}` },
  });
  const body = (await res.json()) as { error?: string; url?: string; running?: boolean };
  if (!res.ok) {
    console.error(`nats ${action}: ${body.error ?? res.statusText}`);
    return 1;
  }
  console.log(`${name} at ${body.url}: ${body.running ? "running" : "down"}`);
  return 0;
}

function printState(s: LabState): void {
  console.log(`lab up since ${s.startedAt} (pid ${s.pid}); details in ${stateFiles.info}`);
  // A lab.json from before clustered NATS has no node list.
  const natsNodes = s.nats.nodes ?? [{ name: "nats", url: s.nats.url, monitorUrl: s.nats.monitorUrl }];
  if (natsNodes.length === 1) console.log(`  nats   ${s.nats.url}  creds ${s.nats.creds}`);
  else {
    console.log(`  nats   cluster of ${natsNodes.length}: ${natsNodes.map((n) => n.url).join(",")}  creds ${s.nats.creds}`);
    for (const n of natsNodes) console.log(`         ${n.name}  ${n.url}  monitor ${n.monitorUrl}`);
  }
  console.log(`  git    ${s.git.url}`);
  for (const c of s.clusters) {
    const nodes = c.nodes.length ? `  nodes ${c.nodes.join(",")}` : "";
    console.log(`  ${c.name.padEnd(6)} ${c.server}  kubeconfig ${c.kubeconfig}${nodes}`);
  }
  if (s.faults) console.log(`  faults toxiproxy API ${s.faults.apiUrl}`);
  if (!s.workloads) console.log("  (no workloads: clusters run without controller manager, scheduler and nodes)");
}
