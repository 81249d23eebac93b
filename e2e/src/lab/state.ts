import { readFile, rename, rm, writeFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LabInfo } from "./lab.js";

/** The `.lab` folder at the repository root (GITFLEET_LAB_STATE overrides). */
export const stateDir = process.env["GITFLEET_LAB_STATE"] ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../.lab");

/** Files the background lab keeps in `.lab`. */
export const stateFiles = {
  info: join(stateDir, "lab.json"),
  pid: join(stateDir, "lab.pid"),
  log: join(stateDir, "lab.log"),
};

/** `.lab/lab.json`: the lab's endpoints plus how to reach its supervisor. */
export interface LabState extends LabInfo {
  pid: number;
  startedAt: string;
  control: { url: string; token: string };
}

/** Reads `.lab/lab.json`, or undefined when no lab is up. */
export async function readLabState(): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(stateFiles.info, "utf8")) as LabState;
  } catch {
    return undefined;
  }
}

/** Writes `.lab/lab.json` atomically so readers never see half a file. */
export async function writeLabState(state: LabState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const tmp = `${stateFiles.info}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, stateFiles.info);
}

/** The pid of a running lab supervisor, or undefined (a stale pid file is removed). */
export async function runningLabPid(): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(stateFiles.pid, "utf8")).trim());
  } catch {
    return undefined;
  }
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  await rm(stateFiles.pid, { force: true });
  await rm(stateFiles.info, { force: true });
  return undefined;
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
