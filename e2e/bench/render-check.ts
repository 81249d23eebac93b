// How long `gitfleet render --check` takes on a fleet repository of real-world kustomizations: 50
// bundles, each a copy of an overlay of the conformance corpus (Redis HA with shell scripts, the
// monitoring stack with components, replacements, merged generators and regex patches, nginx,
// Grafana dashboards, a bootstrap placeholder) or a folder of a multi-MB CRD; half the bundles
// substitute variables. Timed three ways: the CLI as a user runs it (a new process), the check in
// process (the hub's code, each run on a new commit, so the tree is written again), and
// `kustomize build` of the same overlays alone, as many at a time as the renderer runs. Usage:
//   npm run bench:render-check -- [--runs 5] [--bundles 50] [--crd-mb 3]
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { checkFleet, createKustomizeRenderer, createOverlayRenderer, readWorkingTree } from "@gitfleet/hub/delivery";
import { ensureBinary } from "../src/lab/binaries.js";
import { writeCrdOverlay } from "../src/render/crd-corpus.js";
import { machineNote, median, table, writeSection } from "./report.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, bundles: { type: "string", default: "50" }, "crd-mb": { type: "string", default: "3" } } });
const runs = Number(values.runs);
const bundleCount = Number(values.bundles);
const crdBytes = Number(values["crd-mb"]) * 1_000_000;
const corpus = fileURLToPath(new URL("../fixtures/conformance", import.meta.url));
const gitfleetCli = fileURLToPath(new URL("../../hub/src/bin/gitfleet.ts", import.meta.url));

const binary = process.env["GITFLEET_KUSTOMIZE"] ?? (await ensureBinary("kustomize", (line) => console.log(`  ${line}`)));
const version = (await run(binary, ["version"])).stdout.trim();

/** The kinds of bundle, in turn; every tenth bundle is a CRD folder instead. */
const kinds = [
  { kind: "redis-ha", copy: "redis-ha", overlay: "", variables: { redis_replicas: "3" } },
  { kind: "monitoring", copy: "monitoring", overlay: "overlays/prod", variables: { prometheus_replicas: "2" } },
  { kind: "nginx", copy: "nginx", overlay: "", variables: { nginx_version: "1.27.3" } },
  { kind: "grafana", copy: "grafana", overlay: "", variables: undefined },
  { kind: "placeholder", copy: "placeholder", overlay: "", variables: undefined },
] as const;

interface Bundle {
  name: string;
  kind: string;
  path: string;
  overlay: string;
  substitute: boolean;
  variables: Readonly<Record<string, string>> | undefined;
}

async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

/** Writes the repository: each bundle its own copy of an overlay, so every one is built. */
async function generate(repo: string): Promise<Bundle[]> {
  const bundles: Bundle[] = [];
  for (let i = 0; i < bundleCount; i++) {
    const name = `b${String(i).padStart(2, "0")}`;
    const substitute = i % 2 === 0;
    if (i % 10 === 9) {
      await writeCrdOverlay(join(repo, name), { count: 1, bytes: crdBytes, group: `${name}.example.com` });
      bundles.push({ name, kind: "crds", path: name, overlay: name, substitute, variables: undefined });
      continue;
    }
    const k = kinds[i % kinds.length] ?? kinds[0];
    await cp(join(corpus, k.copy), join(repo, name), { recursive: true });
    bundles.push({ name, kind: k.kind, path: name, overlay: k.overlay === "" ? name : `${name}/${k.overlay}`, substitute, variables: k.variables });
  }
  const lines = ["apiVersion: gitfleet.dev/v1", "kind: Fleet", "bundles:"];
  for (const b of bundles) {
    lines.push(`  - name: ${b.name}`, `    path: ${b.path}`);
    if (b.kind === "placeholder") lines.push("    allowEmpty: true");
    lines.push("    targets:", "      - name: all", "        clusterSelector: {}");
    if (b.overlay !== b.path) lines.push(`        overlay: ${b.overlay.slice(b.path.length + 1)}`);
    if (b.substitute) lines.push(b.variables ? `        variables: ${JSON.stringify(b.variables)}` : "        substitute: true");
  }
  await writeFile(join(repo, "fleet.yaml"), `${lines.join("\n")}\n`);
  return bundles;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Runs `tasks` at most `limit` at once. */
async function pool(tasks: readonly (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]?.();
    }),
  );
}

const loadBefore = loadavg()[0] ?? 0;
const scratch = await mkdtemp(join(tmpdir(), "gitfleet-bench-render-check-"));
const rows: string[][] = [];
let summary = "";
try {
  const repo = join(scratch, "repo");
  console.log(`generating ${bundleCount} bundles`);
  const bundles = await generate(repo);
  const size = await sizeOf(repo);

  // The answer every run must give: exit 0, every target rendered.
  const first = await run(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", gitfleetCli, "render", "--repo", repo, "--kustomize", binary, "--check", "-o", "json"], { maxBuffer: 64 * 1024 * 1024 });
  const check = JSON.parse(first.stdout) as { ok: boolean; targets: Array<{ objects?: number; substitution: { on: boolean }; warnings: string[] }> };
  if (!check.ok) throw new Error(`render --check failed on the generated repository: ${first.stderr}`);
  const objects = check.targets.reduce((sum, t) => sum + (t.objects ?? 0), 0);
  const substituting = check.targets.filter((t) => t.substitution.on).length;
  const warned = check.targets.filter((t) => t.warnings.length > 0).length;
  const counts = new Map<string, number>();
  for (const b of bundles) counts.set(b.kind, (counts.get(b.kind) ?? 0) + 1);
  summary =
    `${bundles.length} bundles of one kustomize overlay each (${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}; each CRD folder holds one CRD of ` +
    `${(crdBytes / 1e6).toFixed(0)}+ MB of YAML), ${size.files} files, ${(size.bytes / 2 ** 20).toFixed(1)} MiB; ${objects} objects; ` +
    `${substituting} targets substitute, ${warned} without substitution get the migration warning.`;
  console.log(summary);

  const cli: number[] = [];
  const inProcess: number[] = [];
  const alone: number[] = [];
  for (let i = 0; i < runs; i++) {
    cli.push(await time(() => run(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", gitfleetCli, "render", "--repo", repo, "--kustomize", binary, "--check"], { maxBuffer: 64 * 1024 * 1024 })));
    const renderer = createKustomizeRenderer({ binary, workDir: scratch });
    try {
      inProcess.push(
        await time(async () => {
          const snapshot = await readWorkingTree(repo);
          const result = await checkFleet({ ...snapshot, commit: `run-${i}` }, createOverlayRenderer({ kustomize: renderer }));
          if (!result.ok) throw new Error(result.error.message);
        }),
      );
    } finally {
      await renderer.close();
    }
    alone.push(await time(() => pool(bundles.map((b) => () => run(binary, ["build", join(repo, b.overlay)], { maxBuffer: 1 << 30 })), 2)));
    console.log(`run ${i + 1}/${runs}: CLI ${(cli.at(-1) ?? 0).toFixed(0)} ms, in process ${(inProcess.at(-1) ?? 0).toFixed(0)} ms, kustomize alone ${(alone.at(-1) ?? 0).toFixed(0)} ms`);
  }
  const row = (what: string, values: number[]): string[] => [what, String(values.length), (median(values) / 1000).toFixed(2), (Math.min(...values) / 1000).toFixed(2), (Math.max(...values) / 1000).toFixed(2)];
  rows.push(row("`gitfleet render --check` (CLI, a new process)", cli));
  rows.push(row("the check in process (read the tree, write it for kustomize, render, check)", inProcess));
  rows.push(row(`\`kustomize build\` of the same ${bundleCount} overlays alone, 2 at a time`, alone));
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const out = [
  table(["measure", "runs", "median (s)", "min (s)", "max (s)"], rows),
  "",
  `${summary} The CLI runs from source through tsx, as \`npm run gitfleet\` does (its start costs about a second); ` +
    `the renderer runs 2 builds at a time, its default. kustomize ${version}.`,
  "",
  `Machine: ${machineNote()}, shared with other work; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end.`,
].join("\n");
console.log(`\n${out}`);
await writeSection("render-check", "Checking a fleet of real-world kustomizations (`npm run bench:render-check`)", out);
console.log("\nwritten to docs/benchmarks.md");
