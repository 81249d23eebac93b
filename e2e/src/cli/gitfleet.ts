// `npm run gitfleet -- ...` in this repository: the hub's `gitfleet` CLI from source. A render of
// a kustomize overlay needs the kustomize binary; when the user gave none (--kustomize,
// GITFLEET_KUSTOMIZE) and none is on PATH, the pinned kustomize is built once (cached, with
// progress on stderr) and handed to the CLI, so a fresh clone renders without a hunt for a binary.
import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBinary } from "../lab/binaries.js";

const cli = fileURLToPath(new URL("../../../hub/src/bin/gitfleet.ts", import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env };

if (args[0] === "render" && !args.some((a) => a === "--kustomize" || a.startsWith("--kustomize=")) && !env["GITFLEET_KUSTOMIZE"]) {
  if (!(await onPath("kustomize"))) {
    env["GITFLEET_KUSTOMIZE"] = await ensureBinary("kustomize", (line) => console.error(`[gitfleet] ${line}`));
  }
}

const child = spawn(process.execPath, [...process.execArgv, cli, ...args], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}
