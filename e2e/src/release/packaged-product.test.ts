// Scenario: an operator installs gitfleet as a user would, not from this repository. The three
// npm packages are packed and installed with `npm install --global --prefix` into an empty folder
// outside the workspace; the single executables are built. The installed hub runs against the
// lab's NATS and Git server, an installed agent and the agent's executable each register a lab
// cluster and receive the fleet, and both forms of the CLI answer for them.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { startLab, type Lab } from "../lab/lab.js";
import { freePort } from "../lab/ports.js";
import { startProcess, waitFor, type LabProcess } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";
import { packProduct } from "./pack.js";
import { products, repoRoot } from "./products.js";
import { binaries, buildBinary } from "./sea.js";

const execFileAsync = promisify(execFile);
const fixture = join(repoRoot, "e2e/fixtures/plain-fleet");
const adminToken = "packaged-product-admin-token-0123456789";

const skip = skipUnlessTool(
  process.env["GITFLEET_KUBE_APISERVER_BIN"] && process.env["GITFLEET_NATS_SERVER_BIN"]
    ? false
    : "GITFLEET_KUBE_APISERVER_BIN and GITFLEET_NATS_SERVER_BIN are not set (`npm test` builds them)",
);

/**
 * The environment of an installed command: the pinned Node first on PATH (the bins' shebang is
 * `env node`), and nothing of the workspace's npm run (no npm_* variables, no source condition).
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("npm_") && key !== "NODE_OPTIONS" && !key.startsWith("GITFLEET_")) env[key] = value;
  env["PATH"] = `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`;
  return { ...env, ...extra };
}

void describe("gitfleet installed from its packages and as single executables", { skip, timeout: 600_000 }, () => {
  let work: string;
  let prefix: string;
  let bin: Record<string, string>;
  let lab: Lab;
  let hub: LabProcess;
  let hubUrl: string;
  let grpcAddress: string;
  const agents: LabProcess[] = [];
  const figures: string[] = [];

  /** Runs a command with the user's environment; resolves with its output, or rejects with it. */
  const run = async (command: string, args: readonly string[], env: Record<string, string> = {}) =>
    await execFileAsync(command, args, { cwd: work, env: userEnv(env), maxBuffer: 16 * 1024 * 1024 });
  const cli = (command: string, ...args: string[]) => run(command, args, { GITFLEET_HUB: hubUrl, GITFLEET_TOKEN: adminToken });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "gitfleet-packaged-"));
    prefix = join(work, "prefix");
    const started = Date.now();
    const tarballs = await Promise.all(products.map((p) => packProduct(p, join(work, "packages"))));
    const packed = Date.now();
    // Packages come from the npm cache where it has them; no lockfile and no workspace around.
    const [, gitfleetExe, agentExe] = await Promise.all([
      run("npm", ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs]),
      buildBinary(binaries[0] ?? assert.fail(), { destination: join(work, "bin") }),
      buildBinary(binaries[1] ?? assert.fail(), { destination: join(work, "bin") }),
    ]);
    figures.push(`packed in ${packed - started} ms; installed and built the executables in ${Date.now() - packed} ms`);
    bin = {
      gitfleet: join(prefix, "bin", "gitfleet"),
      "gitfleet-hub": join(prefix, "bin", "gitfleet-hub"),
      "gitfleet-agent": join(prefix, "bin", "gitfleet-agent"),
      "gitfleet (executable)": gitfleetExe.path,
      "gitfleet-agent (executable)": agentExe.path,
    };
    lab = await startLab({ clusterNames: ["from-npm", "from-binary"], seeds: { fleet: fixture }, workloads: false });
  });

  after(async () => {
    for (const agent of agents) await agent.stop();
    await hub?.stop();
    await lab?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    if (figures.length > 0) console.log(`# ${figures.join("; ")}`);
  });

  void it("every command says the product's version; the CLI package is one file without dependencies", async () => {
    for (const [name, path] of Object.entries(bin)) {
      const { stdout } = await run(path, ["--version"]);
      assert.equal(stdout, `${name.split(" ")[0] ?? name} ${PRODUCT_VERSION}\n`, name);
    }
    assert.deepEqual((await readdir(join(prefix, "lib/node_modules/gitfleet"))).sort(), ["LICENSE", "README.md", "dist", "package.json"]);
    assert.match((await run(bin["gitfleet-agent"] ?? "", ["--help"])).stdout, /^Usage: gitfleet-agent --hub HOST:PORT/);
    assert.match((await run(bin["gitfleet-hub"] ?? "", ["--help"])).stdout, /--nats-url\s+GITFLEET_NATS_URL/);
  });

  void it("both forms of the CLI check a fleet repository offline with render --check", async () => {
    for (const command of [bin["gitfleet"] ?? "", bin["gitfleet (executable)"] ?? ""]) {
      const { stdout } = await run(command, ["render", "--repo", fixture, "--check"]);
      assert.match(stdout, /^platform\s+default\s+platform\s+plain\s+\d+\s+off\s+-$/m, command);
      assert.match(stdout, /^web\s+prod-eu\s+apps\/web\/prod-eu\s+plain\s+\d+\s+on \(bundle\)/m, command);
    }
  });

  void it("the installed hub serves the lab; an installed agent and the agent's executable register and receive the fleet", async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    hubUrl = `http://127.0.0.1:${httpPort}`;
    grpcAddress = `127.0.0.1:${grpcPort}`;
    const info = lab.info();
    const seed = join(work, "signing.seed");
    await writeFile(seed, info.nats.accountSigningSeed, { mode: 0o600 });
    hub = await startProcess({
      name: "gitfleet-hub (installed)",
      command: bin["gitfleet-hub"] ?? "",
      args: [],
      logFile: join(work, "hub.log"),
      env: userEnv({
        GITFLEET_NATS_URL: info.nats.url,
        GITFLEET_NATS_CREDS: info.nats.creds,
        GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE: seed,
        GITFLEET_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        GITFLEET_GRPC_ADDR: grpcAddress,
        GITFLEET_ADMIN_TOKEN: adminToken,
        GITFLEET_GIT_URL: info.git.url,
      }),
    });
    await waitFor(async () => (await fetch(`${hubUrl}/readyz`)).ok, { what: "the installed hub to be ready", timeoutMs: 30_000, process: hub });

    // The version endpoint needs no token, and says what `gitfleet --version` says.
    const version = (await (await fetch(`${hubUrl}/api/v1/version`)).json()) as { version: string; acceptedAgentVersions: string };
    assert.equal(`gitfleet ${version.version}\n`, (await run(bin["gitfleet"] ?? "", ["--version"])).stdout);
    // The installed hub serves its web UI, shipped in the package.
    const page = await fetch(`${hubUrl}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /src="\/app\.js"/);
    assert.equal((await fetch(`${hubUrl}/app.js`)).status, 200);

    const agentArgs = async (cluster: string, labels: string): Promise<string[]> => {
      const { stdout } = await cli(bin["gitfleet"] ?? "", "token", "create", "--max-uses", "1", "--allow-labels", labels, "-o", "json");
      const { secret } = JSON.parse(stdout) as { secret: string };
      const kubeconfig = info.clusters.find((c) => c.name === cluster)?.kubeconfig ?? assert.fail(`no lab cluster ${cluster}`);
      return ["--hub", grpcAddress, "--plaintext", "--token", secret, "--cluster-name", cluster, "--labels", labels, "--kubeconfig", kubeconfig, "--health-addr", "off"];
    };
    for (const [cluster, command, labels] of [
      ["from-npm", bin["gitfleet-agent"] ?? "", "env=prod,region=eu"],
      ["from-binary", bin["gitfleet-agent (executable)"] ?? "", "env=staging"],
    ] as const) {
      agents.push(await startProcess({ name: `agent ${cluster}`, command, args: await agentArgs(cluster, labels), logFile: join(work, `${cluster}.log`), env: userEnv() }));
    }

    // Both agents registered with their version and applied the fleet's bundles.
    type Listed = { hubVersion: string; items: { name: string; connected: boolean; agentVersion: string; agentOutdated: boolean }[] };
    for (const cluster of ["from-npm", "from-binary"]) {
      await waitFor(
        async () => {
          const { stdout } = await cli(bin["gitfleet"] ?? "", "cluster", "get", cluster, "-o", "json");
          const detail = JSON.parse(stdout) as { bundles?: { name: string; sync?: string }[] };
          return ["platform", "web"].every((b) => detail.bundles?.some((x) => x.name === b && x.sync === "synced"));
        },
        { what: `cluster ${cluster} to have platform and web synced`, timeoutMs: 60_000, intervalMs: 500, process: [hub, ...agents] },
      );
    }
    for (const command of [bin["gitfleet"] ?? "", bin["gitfleet (executable)"] ?? ""]) {
      const listed = JSON.parse((await cli(command, "cluster", "list", "-o", "json")).stdout) as Listed;
      assert.equal(listed.hubVersion, PRODUCT_VERSION);
      assert.deepEqual(
        listed.items.map((c) => [c.name, c.connected, c.agentVersion, c.agentOutdated]).sort(),
        [["from-binary", true, PRODUCT_VERSION, false], ["from-npm", true, PRODUCT_VERSION, false]],
      );
      const table = (await cli(command, "cluster", "list")).stdout;
      assert.match(table, new RegExp(`^from-npm\\s+yes\\s+[0-9a-f]{12}\\s+${PRODUCT_VERSION.replaceAll(".", "\\.")}\\s+no\\s`, "m"), table);
    }
  });
});
