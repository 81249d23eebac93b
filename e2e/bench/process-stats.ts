// CPU and resident memory of a process, read from /proc the way top and ps do: CPU time is
// utime + stime (fields 14 and 15 of /proc/<pid>/stat, in clock ticks), memory is VmRSS.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { median } from "./report.js";

const run = promisify(execFile);

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, almost always 100). */
export async function clockTicksPerSecond(): Promise<number> {
  const { stdout } = await run("getconf", ["CLK_TCK"]).catch(() => ({ stdout: "100" }));
  return Number(stdout.trim()) || 100;
}

/** CPU time the process has used so far, in clock ticks (user + system). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

/** What {@link sampleProcess} measured over its window. */
export interface ProcessSample {
  seconds: number;
  /** Average CPU over the window, in % of one core. */
  cpuPercent: number;
  /** CPU % of one core per second of the window, highest first seen. */
  cpuPeakPercent: number;
  rssMedianMiB: number;
  rssMaxMiB: number;
}

/** Samples a process every second for `seconds`: average and peak CPU, median and highest RSS. */
export async function sampleProcess(pid: number, seconds: number): Promise<ProcessSample> {
  const hz = await clockTicksPerSecond();
  const rss: number[] = [];
  let peak = 0;
  const t0 = performance.now();
  const ticks0 = await cpuTicks(pid);
  let lastTicks = ticks0;
  let lastAt = t0;
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = performance.now();
    const ticks = await cpuTicks(pid);
    peak = Math.max(peak, ((ticks - lastTicks) / hz / ((now - lastAt) / 1_000)) * 100);
    lastTicks = ticks;
    lastAt = now;
    rss.push(await rssMiB(pid));
  }
  const elapsed = (performance.now() - t0) / 1_000;
  return {
    seconds: elapsed,
    cpuPercent: ((lastTicks - ticks0) / hz / elapsed) * 100,
    cpuPeakPercent: peak,
    rssMedianMiB: median(rss),
    rssMaxMiB: Math.max(...rss),
  };
}
