// `npm run demo` as a new user meets it: three clusters synced from Git, a
// fourth one added by hand to the running lab, and Ctrl-C leaving nothing behind.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createHubClient } from "@gitfleet/hub";
import { waitFor } from "../lab/process.js";
import { isAlive } from "../lab/state.js";

const run = promisify(execFile);
const node = (script: string) => [
  "--conditions=@gitfleet/source",
  "--import",
  "tsx",
  fileURLToPath(new URL(script, import.meta.url)),
];

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

  test("syncs three clusters, takes a fourth by hand, and stops cleanly on Ctrl-C", async () => {
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
    const api = createHubClient({ url: file.hub.url, token: file.hub.adminToken });
    const { items } = await api.get<{ items: { name: string; connected: boolean }[] }>("/clusters");
    assert.deepEqual(items.map((c) => c.name).sort(), ["prod-eu", "prod-us", "staging-us"]);

    // The lab of the demo takes one more cluster, for a user to register by hand.
    const added = await run(process.execPath, [...node("./lab.ts"), "add-cluster", "extra"], { env });
    const kubeconfig = /kubeconfig: (\S+)/.exec(added.stdout)?.[1];
    assert.ok(kubeconfig && (await stat(kubeconfig)).isFile());
    const labDir = JSON.parse(await readFile(join(stateDir, "lab.json"), "utf8")) as { dir: string };

    demo.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(output, /\[demo\] stopped/);
    await assert.rejects(stat(join(stateDir, "demo.json")), /ENOENT/);
    await assert.rejects(stat(join(stateDir, "lab.json")), /ENOENT/);
    await assert.rejects(stat(labDir.dir), /ENOENT/, "the lab's folder is removed");
  });
});
