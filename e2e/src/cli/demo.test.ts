// `npm run demo` as a new user meets it: three clusters synced from Git, the drift story of its
// closing text (an image changed by hand is put back, a label changed on a report-mode bundle is
// listed by gitfleet drift), a fourth cluster added by hand to the running lab, and Ctrl-C
// leaving nothing behind.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createHubClient } from "@gitfleet/hub";
import { KubeConfig } from "@kubernetes/client-node";
import { runGitfleet } from "../fleet/gitfleet-cli.js";
import { mergePatchAs, readObject, updateAs } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { isAlive } from "../lab/state.js";

const run = promisify(execFile);
const node = (script: string) => [
  "--conditions=@gitfleet/source",
  "--import",
  "tsx",
  fileURLToPath(new URL(script, import.meta.url)),
];

interface Deployment {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { template: { spec: { containers: { name: string; image: string }[] } } };
}

interface DemoFile {
  hub: { url: string; grpc: string; adminToken: string; caFile: string };
  clusters: { name: string; labels: Record<string, string>; kubeconfig: string }[];
}

describe("npm run demo", { timeout: 300_000 }, () => {
  let stateDir: string;
  let output = "";
  let pid = 0;

  after(async () => {
    if (pid && isAlive(pid)) process.kill(pid, "SIGKILL");
    await rm(stateDir, { recursive: true, force: true });
  });

  test("syncs three clusters, corrects and reports drift, takes a fourth by hand, and stops cleanly on Ctrl-C", async () => {
    stateDir = await mkdtemp(join(tmpdir(), "gitfleet-demo-test-"));
    const env = { ...process.env, GITFLEET_LAB_STATE: stateDir };
    const demo = spawn(process.execPath, node("./demo.ts"), { env, stdio: ["ignore", "pipe", "pipe"] });
    pid = demo.pid ?? 0;
    demo.stdout.on("data", (d: Buffer) => (output += d.toString()));
    demo.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once("exit", resolve));

    await waitFor(() => output.includes("Press Ctrl-C"), { what: `the demo to be ready; output so far:\n${output}`, timeoutMs: 180_000 });
    for (const name of ["staging-us", "prod-us", "prod-eu"]) assert.match(output, new RegExp(`${name} synced at [0-9a-f]{12}`));
    assert.match(output, /all 3 clusters synced from Git/);
    assert.match(output, /gitfleet -- cluster list/);

    const file = JSON.parse(await readFile(join(stateDir, "demo.json"), "utf8")) as DemoFile;
    assert.match(file.hub.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(file.hub.grpc, /:\d+$/);
    assert.ok(file.hub.adminToken.length > 20);
    // The web UI's address and how to sign in are printed, and the address serves the app.
    assert.ok(output.includes(`Web UI: ${file.hub.url}/\n  sign in with the admin token ${file.hub.adminToken}`), "the demo prints the UI's address and the token");
    const page = await fetch(`${file.hub.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/app\.js"><\/script>/);
    const api = createHubClient({ url: file.hub.url, token: file.hub.adminToken });
    const { items } = await api.get<{ items: { name: string; connected: boolean }[] }>("/clusters");
    assert.deepEqual(items.map((c) => c.name).sort(), ["prod-eu", "prod-us", "staging-us"]);

    // The closing text's drift story, as a user would follow it on prod-eu.
    const prodEu = file.clusters.find((c) => c.name === "prod-eu");
    assert.ok(prodEu);
    const kc = new KubeConfig();
    kc.loadFromFile(prodEu.kubeconfig);
    await updateAs<Deployment>(kc, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "web" } }, (d) => {
      const container = d.spec.template.spec.containers[0];
      if (container) container.image = "registry.example.com/web:hotfix";
    }, "kubectl-set");
    await mergePatchAs(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name: "observability", labels: { "app.kubernetes.io/part-of": "me" } } }, "kubectl-label");
    const image = async () => (await readObject<Deployment>(kc, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "web" } }))?.spec.template.spec.containers[0]?.image;
    await waitFor(async () => !(await image())?.endsWith(":hotfix") || undefined, { what: "web's image reverted on prod-eu (drift: correct)", timeoutMs: 10_000 });
    const reported = await waitFor(
      async () => {
        const drift = await api.get<{ items: { cluster: string; resource: { kind: string; name: string }; fields: { path: string; live: string; manager: string }[] }[] }>("/drift?bundle=platform");
        return drift.items.find((i) => i.cluster === "prod-eu" && i.resource.kind === "Namespace" && i.resource.name === "observability");
      },
      { what: "the observability label reported as drift on prod-eu (drift: report)", timeoutMs: 10_000 },
    );
    assert.deepEqual(reported.fields.map((f) => [f.path, f.live, f.manager]), [["/metadata/labels/app.kubernetes.io~1part-of", '"me"', "kubectl-label"]]);
    const cli = { hubUrl: file.hub.url, adminToken: file.hub.adminToken };
    const drift = await runGitfleet(cli, "drift");
    assert.equal(drift.code, 0, drift.stderr);
    assert.match(drift.stdout, /prod-eu\s+Namespace observability\s+drifted\s+\/metadata\/labels\/app\.kubernetes\.io~1part-of\s+"platform"\s+"me"\s+kubectl-label/);
    const events = await waitFor(
      async () => {
        const e = await runGitfleet(cli, "events", "--cluster", "prod-eu", "--type", "drift-corrected");
        return e.code === 0 && /Deployment web\/web/.test(e.stdout) ? e : undefined;
      },
      { what: "the image's correction in gitfleet events", timeoutMs: 30_000, intervalMs: 1_000 },
    );
    assert.match(events.stdout, /drift-corrected/);

    // The lab of the demo takes one more cluster, for a user to register by hand.
    const added = await run(process.execPath, [...node("./lab.ts"), "add-cluster", "extra"], { env });
    const kubeconfig = /kubeconfig: (\S+)/.exec(added.stdout)?.[1];
    assert.ok(kubeconfig && (await stat(kubeconfig)).isFile());
    const labDir = JSON.parse(await readFile(join(stateDir, "lab.json"), "utf8")) as { dir: string };

    demo.kill("SIGINT");
    assert.equal(await exited, 0, `the demo exits with 0; its output:\n${output}`);
    assert.match(output, /\[demo\] stopped/);
    await assert.rejects(stat(join(stateDir, "demo.json")), /ENOENT/);
    await assert.rejects(stat(join(stateDir, "lab.json")), /ENOENT/);
    await assert.rejects(stat(labDir.dir), /ENOENT/, "the lab's folder is removed");
  });
});
