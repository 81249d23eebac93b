// `npm run demo`: a fleet of three clusters synced from Git, in the foreground.
// It starts the lab (3 clusters, NATS, the Git server seeded with the
// demo fleet), the hub and three agents, waits until every cluster is synced,
// prints what to try next, and stops everything on Ctrl-C.
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBinary } from "../lab/binaries.js";
import { serveLabControl, type LabControl } from "../lab/control.js";
import { runningLabPid, stateDir, stateFiles } from "../lab/state.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { buildWebUi } from "../fleet/web-ui.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const seed = fileURLToPath(new URL("../../fixtures/demo-fleet", import.meta.url));
const demoFile = join(stateDir, "demo.json");
const caFile = join(stateDir, "hub-ca.crt");
const say = (line: string): void => console.log(`[demo] ${line}`);

const clusters = [
  { name: "staging-us", labels: { env: "staging", region: "us" } },
  { name: "prod-us", labels: { env: "prod", region: "us" } },
  { name: "prod-eu", labels: { env: "prod", region: "eu" } },
];

const running = await runningLabPid();
if (running) {
  console.error(`[demo] a lab is already running (pid ${running}); stop it first with \`npm run lab -- down\``);
  process.exit(1);
}
await mkdir(stateDir, { recursive: true });
await writeFile(stateFiles.pid, `${process.pid}\n`);

let fleet: Fleet | undefined;
let control: LabControl | undefined;
let stopping: Promise<void> | undefined;
const shutdown = (code: number): Promise<void> =>
  (stopping ??= (async () => {
    say("stopping agents, hub and lab...");
    await control?.close();
    await fleet?.stop();
    await Promise.all([stateFiles.info, stateFiles.pid, demoFile, caFile].map((f) => rm(f, { force: true })));
    say("stopped");
    process.exit(code);
  })());
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

try {
  const started = Date.now();
  say(
    "starting the lab: NATS, the Git server and 3 clusters that run workloads (kube-apiserver, kube-controller-manager, kube-scheduler, kwok; the first run builds them)",
  );
  // The demo fleet's overlays are kustomize overlays: the hub runs the pinned kustomize build.
  process.env["GITFLEET_KUSTOMIZE"] ??= await ensureBinary("kustomize", say);
  // The hub runs from its sources here and serves the web UI from hub/dist/ui: build it first.
  say(await buildWebUi());
  fleet = await startFleet({
    clusters: clusters.map((c) => c.name),
    seed,
    webhookOnPush: true,
    pollIntervalMs: 30_000,
    logLevel: "info",
    progress: (line) => say(line),
  });
  control = await serveLabControl(fleet.lab, () => void shutdown(0));
  await copyFile(fleet.tls.certPath, caFile);
  say(`hub up: API ${fleet.hubUrl}, agent gRPC ${fleet.grpcAddress} (TLS)`);

  const token = await fleet.api.post<{ id: string; secret: string }>("/registration-tokens", {
    ttl: "1h",
    maxUses: clusters.length,
    // The token decides what labels its agents may ask for; anything else is refused at registration.
    allowedLabels: { env: ["staging", "prod"], region: ["us", "eu"] },
    description: "demo agents",
  });
  say(`registration token ${token.id} created for ${clusters.length} agents`);
  for (const c of clusters) {
    await fleet.startAgent(c.name, { token: token.secret, labels: c.labels });
    say(`agent for ${c.name} registered (${Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(",")})`);
  }
  const head = await fleet.head();
  for (const c of clusters) {
    const status = await waitForSynced(fleet.api, c.name, head, { timeoutMs: 120_000 });
    say(`${c.name} synced at ${head.slice(0, 12)}: ${(status.bundles ?? []).map((b) => b.name).join(", ")}`);
  }
  await writeFile(
    demoFile,
    JSON.stringify(
      {
        hub: { url: fleet.hubUrl, ui: `${fleet.hubUrl}/`, grpc: fleet.grpcAddress, adminToken: fleet.adminToken, viewerToken: fleet.viewerToken, caFile },
        git: { url: fleet.lab.info().git.url },
        clusters: clusters.map((c) => ({ ...c, kubeconfig: fleet?.cluster(c.name).kubeconfig })),
      },
      null,
      2,
    ) + "\n",
    { mode: 0o600 },
  );
  say(`all ${clusters.length} clusters synced from Git in ${Math.round((Date.now() - started) / 1000)}s`);
  console.log(nextSteps(fleet));
} catch (err) {
  console.error(`[demo] failed: ${(err as Error).message}`);
  await shutdown(1);
}

function nextSteps(f: Fleet): string {
  const rel = (p: string): string => relative(root, p) || p;
  const kubeconfig = f.cluster("prod-eu").kubeconfig;
  return `
Web UI: ${f.hubUrl}/
  sign in with the admin token ${f.adminToken}
  (it is also "adminToken" in ${rel(demoFile)}; "viewerToken" there signs in read-only)

Try next (in another terminal, from ${root}):

  export GITFLEET_HUB=${f.hubUrl} GITFLEET_TOKEN=${f.adminToken}
  npm run --silent gitfleet -- cluster list
  npm run --silent gitfleet -- cluster get prod-eu
  curl -s -H "Authorization: Bearer $GITFLEET_TOKEN" $GITFLEET_HUB/api/v1/clusters/prod-us

  # change the fleet: every push reaches the hub at once (webhook)
  git clone "${f.lab.info().git.url}" fleet && cd fleet
  sed -i 's/count: 3/count: 4/' apps/web/prod-eu/kustomization.yaml
  git commit -am "prod-eu: 4 replicas" && git push && cd ..
  kubectl --kubeconfig ${kubeconfig} -n web get deployment web

  # promote: bump the tag in staging, then move it on, stage by stage, once staging is healthy
  sed -i 's/newTag: .*/newTag: 1.6.0/' fleet/apps/web/staging/kustomization.yaml
  git -C fleet commit -qam "staging: web 1.6.0" && git -C fleet push -q
  npm run --silent gitfleet -- pipeline get web
  npm run --silent gitfleet -- promote web --from staging --to prod-us --wait
  npm run --silent gitfleet -- promote web --from prod-us --to prod-eu --wait
  npm run --silent gitfleet -- promotion list --pipeline web
  npm run --silent gitfleet -- promotion rollback <a promotion's id> --wait

  # drift: web corrects it within seconds, platform (drift: report) only reports it
  kubectl --kubeconfig ${kubeconfig} -n web set image deployment/web web=registry.example.com/web:hotfix
  kubectl --kubeconfig ${kubeconfig} label namespace observability app.kubernetes.io/part-of=me --overwrite
  npm run --silent gitfleet -- drift
  npm run --silent gitfleet -- drift summary --by manager
  npm run --silent gitfleet -- events

  # register a fourth cluster by hand
  npm run --silent lab -- add-cluster extra
  npm run --silent gitfleet -- token create --ttl 30m --labels env=dev,region=us
  npm run --silent agent -- --hub ${f.grpcAddress} --hub-ca ${rel(caFile)} --cluster-name extra --health-addr 127.0.0.1:0 \\
      --token <the token printed above> --kubeconfig <the kubeconfig printed by add-cluster>
  npm run --silent gitfleet -- cluster get extra

Endpoints and credentials: ${rel(demoFile)} and ${rel(stateFiles.info)}; logs of hub and agents go to the lab folder ${f.lab.dir}.
Press Ctrl-C to stop everything.`;
}
