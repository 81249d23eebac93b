// Runs every fuzz target (the *.fuzz.test.ts files of hub and agent) with many more cases than
// CI does, prints a table (target, cases, failures, time) and writes it to docs/benchmarks.md.
// Each file runs in its own process, two at a time. A failing target prints fast-check's
// counterexample and seed (GITFLEET_FUZZ_SEED replays it) and makes the script exit non-zero.
// Usage:
//   npm run fuzz -- [--runs 10000] [--filter TEXT]
import { readdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "node:test";
import { parseArgs } from "node:util";
import { machineNote, table, writeSection } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "10000" }, filter: { type: "string", default: "" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not "${values.runs}"`);
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));

async function fuzzFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await fuzzFiles(path)));
    else if (entry.name.endsWith(".fuzz.test.ts")) out.push(path);
  }
  return out;
}

const files = (await Promise.all(["hub/src", "agent/src"].map((p) => fuzzFiles(join(root, p))))).flat().filter((f) => f.includes(values.filter)).sort();
console.log(`[fuzz] ${files.length} files, ${runs} cases per target`);

interface Row {
  file: string;
  target: string;
  cases: string;
  failures: number;
  ms: number;
}
const rows: Row[] = [];
const started = performance.now();
process.env["GITFLEET_FUZZ_RUNS"] = String(runs);
const stream = run({ files, concurrency: 2, cwd: root, execArgv: ["--conditions=@gitfleet/source", "--import", "tsx"] });
stream.on("test:stdout", (data) => process.stdout.write(data.message));
stream.on("test:stderr", (data) => process.stderr.write(data.message));
for await (const event of stream) {
  if (event.type !== "test:pass" && event.type !== "test:fail") continue;
  const data = event.data;
  // Top-level tests are the targets; the file itself is reported as a test too (without a line).
  if (data.nesting !== 0 || data.file === undefined || data.line === undefined || data.name === data.file) continue;
  const file = relative(root, data.file);
  const failed = event.type === "test:fail";
  const error = failed ? (event.data.details.error as Error & { cause?: Error }) : undefined;
  const text = `${error?.cause?.message ?? ""}\n${error?.message ?? ""}`;
  const after = /Property failed after (\d+) tests/.exec(text)?.[1];
  rows.push({ file, target: data.name, cases: failed ? `${after ?? "?"} of ${runs}` : String(runs), failures: failed ? 1 : 0, ms: data.details.duration_ms });
  console.log(`[fuzz] ${failed ? "FAIL" : "ok  "} ${file}: ${data.name} (${(data.details.duration_ms / 1000).toFixed(1)} s)`);
  if (failed) console.log(text.trim());
}
const seconds = (performance.now() - started) / 1000;

rows.sort((a, b) => a.file.localeCompare(b.file) || a.target.localeCompare(b.target));
const out = table(
  ["Target", "File", "Cases", "Failures", "Time"],
  rows.map((r) => [r.target, `\`${r.file}\``, r.cases, String(r.failures), `${(r.ms / 1000).toFixed(1)} s`]),
);
const failures = rows.reduce((n, r) => n + r.failures, 0);
console.log(`\n${out}\n\n[fuzz] ${rows.length} targets, ${failures} failing, ${seconds.toFixed(0)} s`);
if (rows.length === 0) throw new Error("no fuzz target ran");
if (values.filter === "") {
  await writeSection(
    "fuzz",
    "Fuzzing (`npm run fuzz`)",
    `${out}\n\n` +
      `${rows.length} targets, ${runs.toLocaleString("en-US")} cases each (fast-check), ${failures} failing; ${seconds.toFixed(0)} s in all, two files at a time. ` +
      `A failure is a counterexample to the target's properties (docs/security.md, "Fuzz targets"). CI runs the same targets with \`GITFLEET_FUZZ_RUNS\` cases (200 by default) as part of \`npm test\`. ` +
      `Machine: ${machineNote()}.`,
  );
  console.log("[fuzz] wrote the Fuzzing section of docs/benchmarks.md");
}
process.exitCode = failures > 0 ? 1 : 0;
