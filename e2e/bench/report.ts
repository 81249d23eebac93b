import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** docs/benchmarks.md at the repository root. */
export const benchmarksFile = resolve(fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url)));

/** One line describing the machine a benchmark ran on. */
export function machineNote(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Renders rows as a Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Replaces (or appends) one benchmark's section of docs/benchmarks.md, so each
 * script owns its section and re-running it refreshes the figures.
 */
export async function writeSection(id: string, title: string, body: string): Promise<void> {
  let doc: string;
  try {
    doc = await readFile(benchmarksFile, "utf8");
  } catch {
    doc = "# gitfleet benchmarks\n\nEach section is written by the script it names; re-run it to refresh the figures.\n";
  }
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const section = `${start}\n## ${title}\n\n${body.trim()}\n${end}`;
  const at = doc.indexOf(start);
  const stop = doc.indexOf(end);
  doc = at >= 0 && stop > at ? doc.slice(0, at) + section + doc.slice(stop + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(benchmarksFile, doc);
}
