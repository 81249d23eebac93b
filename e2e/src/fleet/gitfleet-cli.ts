// The gitfleet CLI run as a user runs it, against a lab fleet's hub.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Fleet } from "./fleet.js";

const run = promisify(execFile);
const gitfleetCli = fileURLToPath(new URL("../../../hub/src/bin/gitfleet.ts", import.meta.url));

/** What one CLI run printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `gitfleet ARGS...` with the fleet's hub address and admin token; never rejects. */
export async function runGitfleet(fleet: Pick<Fleet, "hubUrl" | "adminToken">, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", gitfleetCli, ...args], {
      env: { ...process.env, GITFLEET_HUB: fleet.hubUrl, GITFLEET_TOKEN: fleet.adminToken },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
