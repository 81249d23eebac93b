// `gitfleet render`: what a cluster would receive from a fleet repository's working tree, rendered
// offline with the hub's own code (fleet.yaml, targets, overlays, variables, checks, payloads);
// and `gitfleet render --check`, which validates fleet.yaml and renders every target once.
import { DriftMode } from "@gitfleet/proto";
import { stringify } from "yaml";
import {
  checkFleet,
  createKustomizeRenderer,
  createOverlayRenderer,
  ignoreRuleForm,
  readWorkingTree,
  resolve,
  type IgnoreRuleForm,
  type ResolvedBundle,
  type TargetCheck,
} from "../delivery/index.js";
import { renderTable } from "./output.js";

/** Options of {@link renderCommand}, parsed by the CLI. */
export interface RenderCommandOptions {
  /** The fleet repository's working tree. */
  repo: string;
  /** The cluster's name (cluster_name); required unless `check`. */
  cluster: string | undefined;
  labels: Record<string, string>;
  /** The cluster's own variables, as the hub would hold them on its record. */
  variables: Record<string, string>;
  /** Only this bundle. */
  bundle: string | undefined;
  check: boolean;
  /** yaml or json for a render; table or json for a check. */
  output: "yaml" | "json" | "table";
  /** The kustomize binary, for overlays with a kustomization. */
  kustomize: string;
  print: (text: string) => void;
  printError: (text: string) => void;
}

/** What `gitfleet render -o json` prints for one bundle. */
export interface RenderedBundleView {
  name: string;
  target: string;
  overlay: string;
  /** The payload digest: the one the hub publishes for this cluster (BundleRef.digest). */
  digest: string;
  /** `ignore` lists the rules as fleet.yaml writes them: a pointer, or a pointer with its scope. */
  policy: { drift: "correct" | "report"; ignore: IgnoreRuleForm[]; prune: boolean; namespace: string };
  objects: unknown[];
}

/** Runs `gitfleet render`; returns the exit code (1 when anything failed, with the hub's message). */
export async function renderCommand(options: RenderCommandOptions): Promise<number> {
  const kustomize = createKustomizeRenderer({ binary: options.kustomize });
  try {
    const renderer = createOverlayRenderer({ kustomize });
    const snapshot = await readWorkingTree(options.repo);
    if (options.check) return printCheck(options, await checkFleet(snapshot, renderer));
    const cluster = { id: "offline", name: options.cluster ?? "", labels: options.labels, variables: options.variables };
    const resolution = await resolve({ snapshot, clusters: [cluster], renderer });
    if (!resolution.ok) {
      options.printError(resolution.error.message);
      return 1;
    }
    const resolved = resolution.clusters.get(cluster.id);
    const wanted = options.bundle;
    if (wanted !== undefined && !resolution.fleet.bundles.some((b) => b.name === wanted)) {
      options.printError(`bundle ${wanted} is not in fleet.yaml`);
      return 1;
    }
    if (wanted !== undefined && !resolved?.assignments.some((a) => a.bundle === wanted)) {
      options.printError(`bundle ${wanted} has no target that matches cluster ${cluster.name} (labels ${labelText(options.labels)})`);
      return 1;
    }
    const errors = (resolved?.errors ?? []).filter((e) => wanted === undefined || e.bundle === wanted);
    for (const e of errors) options.printError(`bundle ${e.bundle} (target ${e.target}, overlay ${e.path || "."}): ${e.message}`);
    if (errors.length > 0) return 1;
    const bundles = (resolved?.bundles ?? []).filter((b) => wanted === undefined || b.name === wanted).map(bundleView);
    if (bundles.length === 0) options.printError(`no bundle targets cluster ${cluster.name} (labels ${labelText(options.labels)})`);
    options.print(options.output === "json" ? JSON.stringify({ cluster: cluster.name, commit: snapshot.commit, bundles }, null, 2) : yamlOf(bundles));
    return 0;
  } finally {
    await kustomize.close();
  }
}

function bundleView(bundle: ResolvedBundle): RenderedBundleView {
  const policy = bundle.payload.policy;
  return {
    name: bundle.name,
    target: bundle.target,
    overlay: bundle.overlay,
    digest: bundle.digest,
    policy: {
      drift: policy?.drift === DriftMode.REPORT ? "report" : "correct",
      ignore: (policy?.ignoreRules ?? []).map(({ path, group, kind, namespace, name }) =>
        ignoreRuleForm({ path, ...(group ? { group } : {}), ...(kind ? { kind } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) }),
      ),
      prune: policy?.prune ?? true,
      namespace: policy?.namespace ?? "",
    },
    objects: bundle.payload.objects.map((json) => JSON.parse(new TextDecoder().decode(json)) as unknown),
  };
}

/** Multi-document YAML, each bundle introduced by a comment; strings YAML 1.1 would misread are quoted. */
function yamlOf(bundles: readonly RenderedBundleView[]): string {
  const out: string[] = [];
  for (const bundle of bundles) {
    out.push(`# bundle ${bundle.name}, target ${bundle.target}, overlay ${bundle.overlay || "."}, digest ${bundle.digest}`);
    for (const object of bundle.objects) out.push(`---\n${stringify(object, { version: "1.1", lineWidth: 0 }).trimEnd()}`);
  }
  return out.join("\n");
}

function printCheck(options: RenderCommandOptions, check: Awaited<ReturnType<typeof checkFleet>>): number {
  if (!check.ok) {
    options.printError(check.error.message);
    return 1;
  }
  const failed = check.targets.filter((t) => t.error !== undefined);
  if (options.output === "json") {
    options.print(JSON.stringify({ ok: failed.length === 0, commit: check.commit, pipelines: check.fleet.pipelines.map((p) => p.name), targets: check.targets }, null, 2));
  } else {
    options.print(
      check.targets.length === 0
        ? "fleet.yaml is valid; it has no targets"
        : renderTable(check.targets, [
            { header: "BUNDLE", value: (t: TargetCheck) => t.bundle },
            { header: "TARGET", value: (t) => t.target },
            { header: "OVERLAY", value: (t) => t.overlay || "." },
            { header: "RENDERER", value: (t) => t.renderer },
            { header: "OBJECTS", value: (t) => (t.objects === undefined ? "error" : String(t.objects)) },
            { header: "SUBSTITUTE", value: (t) => substitutionText(t) },
            { header: "CLUSTERS MUST SET", value: (t) => t.needs.join(",") || "-" },
          ]),
    );
  }
  for (const t of check.targets) for (const w of t.warnings) options.printError(`warning: bundle ${t.bundle} (target ${t.target}, overlay ${t.overlay || "."}): ${w}`);
  for (const t of failed) options.printError(`bundle ${t.bundle} (target ${t.target}, overlay ${t.overlay || "."}): ${t.error?.message ?? ""}`);
  return failed.length > 0 ? 1 : 0;
}

/** `on (variables)`: whether the target substitutes, and the fleet.yaml setting that says so. */
function substitutionText(t: TargetCheck): string {
  const { on, by } = t.substitution;
  if (!on) return by === "target" ? "off (target)" : "off";
  return `on (${by})`;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}
