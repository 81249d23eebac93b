// `npm test`: builds the lab's servers once (cached), then runs every
// *.test.ts of the workspace packages in one node:test run, so one summary
// closes the output. `npm test -- PATH...` runs only the given files, or the tests under the
// given folders.
import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBinaries } from "../lab/binaries.js";

const root = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const packages = ["proto", "hub", "agent", "e2e"];

async function findTests(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === "node_modules" || e.name === "dist") continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findTests(path)));
    else if (e.name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

// Arguments are test files or folders to search; none means every package.
const given = process.argv.slice(2).map((f) => resolve(f));
const searched = given.length ? given : packages.map((p) => join(root, p, "src"));
const files = (
  await Promise.all(searched.map(async (path) => ((await stat(path)).isDirectory() ? findTests(path) : [path])))
).flat().sort();

// Tests run on this Node (process.execPath below): npm scripts put the pinned one first on PATH.
console.log(`[test] node ${process.version}`);
console.log("[test] preparing the lab's servers (built once, then cached)");
const bins = await ensureBinaries(
  ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "nats-server", "kustomize", "helm", "toxiproxy"],
  (line) => console.log(`[test] ${line}`),
);
console.log(`[test] running ${files.length} test files`);
for (const f of files) console.log(`[test]   ${relative(root, f)}`);

const child = spawn(
  process.execPath,
  [
    "--conditions=@gitfleet/source",
    "--import",
    "tsx",
    "--test",
    "--test-reporter=spec",
    `--test-concurrency=${process.env["GITFLEET_TEST_CONCURRENCY"] ?? "2"}`,
    // No test or hook may wait forever: each has 10 minutes unless it sets its own limit.
    // (Not --test-force-exit: a file that exits at once can lose its results on the way out.)
    `--test-timeout=${process.env["GITFLEET_TEST_TIMEOUT_MS"] ?? "600000"}`,
    ...files,
  ],
  {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      GITFLEET_KUBE_APISERVER_BIN: bins["kube-apiserver"],
      GITFLEET_KUBE_CONTROLLER_MANAGER_BIN: bins["kube-controller-manager"],
      GITFLEET_KUBE_SCHEDULER_BIN: bins["kube-scheduler"],
      GITFLEET_KWOK_BIN: bins.kwok,
      GITFLEET_NATS_SERVER_BIN: bins["nats-server"],
      // The hub's own setting name: tests hand it to the renderer as the kustomize binary.
      GITFLEET_KUSTOMIZE: bins.kustomize,
      GITFLEET_HELM_BIN: bins.helm,
      GITFLEET_TOXIPROXY_BIN: bins.toxiproxy,
    },
  },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
// A file that keeps a handle open after its tests never ends; rather than wait for an outer
// limit, the run stops itself after GITFLEET_TEST_RUN_LIMIT_MS (default 45 minutes) and says so.
const runLimitMs = Number(process.env["GITFLEET_TEST_RUN_LIMIT_MS"] ?? 45 * 60_000);
const watchdog = setTimeout(() => {
  console.error(`[test] the test run took longer than ${Math.round(runLimitMs / 60_000)} minutes: a test file did not end (a handle left open?); stopping it`);
  child.kill("SIGTERM");
  setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
}, runLimitMs);
watchdog.unref();
child.once("exit", (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
