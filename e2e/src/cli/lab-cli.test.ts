// `npm run lab -- up|status|down` as a user runs it: in the background, once.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { LabState } from "../lab/state.js";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("./lab.ts", import.meta.url));

describe("lab CLI", { timeout: 180_000 }, () => {
  let stateDir: string;
  const stateDirs: string[] = [];
  const lab = (...args: string[]) =>
    run(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", cli, ...args], {
      env: { ...process.env, GITFLEET_LAB_STATE: stateDir },
    });
  const freshStateDir = async (): Promise<void> => {
    stateDir = await mkdtemp(join(tmpdir(), "gitfleet-lab-cli-"));
    stateDirs.push(stateDir);
  };

  after(async () => {
    for (const dir of stateDirs) {
      stateDir = dir;
      await lab("down").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("up, a refused second up, status, down", async () => {
    await freshStateDir();
    const up = await lab("up", "--clusters", "1");
    assert.match(up.stdout, /cluster-1 ready/);
    const state = JSON.parse(await readFile(join(stateDir, "lab.json"), "utf8")) as LabState;
    assert.match(state.nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.ok((await stat(state.nats.creds)).isFile());
    assert.match(state.git.url, /^http:\/\/gitfleet:[^@]+@127\.0\.0\.1:\d+\/fleet\.git$/);
    assert.equal(state.clusters.length, 1);
    assert.ok((await stat(state.clusters[0]?.kubeconfig ?? "")).isFile());
    assert.equal(state.workloads, true, "clusters run workloads by default");
    assert.deepEqual(state.clusters[0]?.nodes, ["kwok-node-1"]);

    await assert.rejects(lab("up"), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? "", /a lab is already running/);
      return true;
    });
    assert.match((await lab("status")).stdout, /cluster-1 .* nodes kwok-node-1/);

    const down = await lab("down");
    assert.match(down.stdout, /lab stopped/);
    await assert.rejects(stat(join(stateDir, "lab.json")), /ENOENT/);
    await assert.rejects(stat(state.dir), /ENOENT/, "the lab's data folder is removed");
    await assert.rejects(lab("status"), (err: { code?: number }) => err.code === 1);
  });

  test("up --no-workloads starts bare apiservers; add-cluster follows the lab", async () => {
    await freshStateDir();
    await lab("up", "--no-workloads");
    const state = JSON.parse(await readFile(join(stateDir, "lab.json"), "utf8")) as LabState;
    assert.equal(state.workloads, false);
    assert.deepEqual(state.clusters[0]?.nodes, []);
    assert.match((await lab("status")).stdout, /no workloads/);
    const added = await lab("add-cluster", "extra");
    assert.match(added.stdout, /cluster extra ready/);
    assert.doesNotMatch(added.stdout, /nodes:/, "a lab without workloads adds a bare cluster");
    await lab("down");
  });
});
