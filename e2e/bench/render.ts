// Render time of one kustomize overlay through the hub's renderer against `kustomize build` run
// alone on the same overlay on disk, for overlays of a few sizes: the fixtures' staging overlay
// and generated ones (a base of N apps, each a Deployment and a Service, and an overlay with
// namespace, prefix, labels, images, a generator and a patch on every Deployment). The renderer
// is timed twice: with the commit's tree already written (another overlay of the same commit
// rendered before), and for a new commit (the tree written first). Usage:
//   npm run bench:render -- [--runs 9] [--apps 10,100,300]
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { createKustomizeRenderer, type Snapshot } from "@gitfleet/hub/delivery";
import { ensureBinary } from "../src/lab/binaries.js";
import { machineNote, median, table, writeSection } from "./report.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { runs: { type: "string", default: "9" }, apps: { type: "string", default: "10,100,300" } } });
const runs = Number(values.runs);
const appCounts = values.apps.split(",").map(Number);
const fixtures = fileURLToPath(new URL("../fixtures/kustomize", import.meta.url));

const binary = process.env["GITFLEET_KUSTOMIZE"] ?? (await ensureBinary("kustomize", (line) => console.log(`  ${line}`)));
const version = (await run(binary, ["version"])).stdout.trim();

/** A fleet repository in memory and on disk, and the overlay to render in it. */
interface Case {
  name: string;
  root: string;
  files: Map<string, Uint8Array>;
  overlay: string;
}

async function readTree(root: string, dir = root, out = new Map<string, Uint8Array>()): Promise<Map<string, Uint8Array>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readTree(root, path, out);
    else out.set(relative(root, path), await readFile(path));
  }
  return out;
}

function generated(apps: number): Map<string, string> {
  const files = new Map<string, string>();
  const resources: string[] = [];
  for (let i = 0; i < apps; i++) {
    const app = `app-${String(i).padStart(4, "0")}`;
    resources.push(`${app}.yaml`);
    files.set(
      `base/${app}.yaml`,
      [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        `  name: ${app}`,
        "  labels:",
        `    app: ${app}`,
        "    tier: backend",
        "spec:",
        "  replicas: 1",
        "  selector:",
        "    matchLabels:",
        `      app: ${app}`,
        "  template:",
        "    metadata:",
        "      labels:",
        `        app: ${app}`,
        "    spec:",
        "      containers:",
        `        - name: ${app}`,
        "          image: registry.example.com/backend:1.0.0",
        "          envFrom:",
        "            - configMapRef:",
        "                name: settings",
        "          ports:",
        "            - containerPort: 8080",
        "---",
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        `  name: ${app}`,
        "spec:",
        "  selector:",
        `    app: ${app}`,
        "  ports:",
        "    - port: 80",
        "      targetPort: 8080",
        "",
      ].join("\n"),
    );
  }
  files.set("base/kustomization.yaml", `resources:\n${resources.map((r) => `  - ${r}`).join("\n")}\n`);
  files.set(
    "overlays/prod/kustomization.yaml",
    [
      "namespace: prod",
      "namePrefix: prod-",
      "resources: [../../base]",
      "labels:",
      "  - pairs: {stage: prod, team: platform}",
      "images:",
      "  - name: registry.example.com/backend",
      "    newTag: 2.3.4",
      "configMapGenerator:",
      "  - name: settings",
      "    literals: [LOG_LEVEL=warn, REGION=eu-west-1]",
      "patches:",
      "  - target: {kind: Deployment, labelSelector: tier=backend}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/replicas",
      "        value: 3",
      "",
    ].join("\n"),
  );
  return files;
}

async function writeCase(name: string, files: Map<string, string>, scratch: string): Promise<Case> {
  const root = join(scratch, name);
  const bytes = new Map<string, Uint8Array>();
  for (const [path, text] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
    bytes.set(path, new TextEncoder().encode(text));
  }
  return { name, root, files: bytes, overlay: "overlays/prod" };
}

function commitOf(files: ReadonlyMap<string, Uint8Array>, salt: string): string {
  const hash = createHash("sha1").update(salt);
  for (const [path, content] of files) hash.update(path).update(content);
  return hash.digest("hex");
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const loadBefore = loadavg()[0] ?? 0;
const scratch = await mkdtemp(join(tmpdir(), "gitfleet-bench-render-"));
const renderer = createKustomizeRenderer({ binary, workDir: scratch, timeoutMs: 300_000 });
const rows: string[][] = [];
try {
  const cases: Case[] = [{ name: "fixtures: overlays/staging", root: fixtures, files: await readTree(fixtures), overlay: "overlays/staging" }];
  for (const apps of appCounts) cases.push(await writeCase(`generated: ${apps} apps`, generated(apps), scratch));

  for (const c of cases) {
    console.log(`${c.name}: ${runs} runs each`);
    const same: Snapshot = { commit: commitOf(c.files, "same"), files: c.files };
    const objects = (await renderer.render({ snapshot: same, dir: c.overlay })).objects.length; // writes the tree; not counted
    await run(binary, ["build", join(c.root, c.overlay)], { maxBuffer: 1 << 30 }); // warms the page cache; not counted
    const alone: number[] = [];
    const warm: number[] = [];
    const cold: number[] = [];
    for (let i = 0; i < runs; i++) {
      alone.push(await time(() => run(binary, ["build", join(c.root, c.overlay)], { maxBuffer: 1 << 30 })));
      warm.push(await time(() => renderer.render({ snapshot: same, dir: c.overlay })));
      const fresh: Snapshot = { commit: commitOf(c.files, `run ${i}`), files: c.files };
      cold.push(await time(() => renderer.render({ snapshot: fresh, dir: c.overlay })));
      // Back to the shared commit for the next warm run (not counted).
      await renderer.render({ snapshot: same, dir: c.overlay });
    }
    const a = median(alone);
    const w = median(warm);
    const n = median(cold);
    rows.push([c.name, String(objects), String(c.files.size), a.toFixed(0), w.toFixed(0), `${(w - a).toFixed(0)} (${((w / a - 1) * 100).toFixed(0)}%)`, n.toFixed(0)]);
    console.log(`  alone ${a.toFixed(0)} ms, renderer ${w.toFixed(0)} ms, renderer with a new commit ${n.toFixed(0)} ms`);
  }
} finally {
  await renderer.close();
  await rm(scratch, { recursive: true, force: true });
}

const out = [
  table(
    [
      "overlay",
      "objects",
      "repository files",
      "`kustomize build` alone (ms)",
      "renderer, tree written (ms)",
      "renderer overhead (ms)",
      "renderer, new commit (ms)",
    ],
    rows,
  ),
  "",
  `Median of ${runs} runs each, one build at a time. "Alone" runs the binary on the overlay on disk and reads its output; ` +
    `the renderer adds the walk of the kustomizations (inputs, remote and path checks) and parsing the output into objects; ` +
    `"new commit" also writes the commit's files to the work folder first. kustomize ${version}.`,
  "",
  // Other work on the machine shows in these figures more than in most: say how busy it was.
  `Machine: ${machineNote()}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end.`,
].join("\n");
console.log(`\n${out}`);
await writeSection("render", "Kustomize render (`npm run bench:render`)", out);
console.log("\nwritten to docs/benchmarks.md");
