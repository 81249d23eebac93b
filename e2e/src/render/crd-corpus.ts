// Large CustomResourceDefinitions for the conformance corpus and the render benchmark, generated
// rather than committed: a pipeline-like API whose schema is deep and documented at length, as
// the CRDs of CI systems and operators are. Descriptions quote the text other tools substitute
// ($(params.name), ${workspaces.source.path}, ${1}) but no gitfleet reference. Deterministic.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";

type Schema = Record<string, unknown>;

const WORDS = ["the", "step", "runs", "with", "its", "workspace", "mounted", "and", "each", "param", "resolved", "before", "start", "retries", "timeout", "result", "sidecar", "volume"];

function sentence(seed: number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[(seed * 31 + i * 7) % WORDS.length] ?? "x");
  return `${out.join(" ")}.`;
}

function description(seed: number): string {
  const forms = ["$(params.name)", "${workspaces.source.path}", "$(context.taskRun.name)", "${1}", "$HOME"];
  return `${sentence(seed, 24)} Refer to values with ${forms[seed % forms.length] ?? ""}. ${sentence(seed + 1, 30)}`;
}

/** A nested object schema: `depth` levels of `width` properties, each documented. */
function objectSchema(seed: number, depth: number, width: number): Schema {
  const properties: Record<string, Schema> = {};
  for (let i = 0; i < width; i++) {
    const name = `field${String.fromCharCode(97 + (i % 26))}${i}`;
    properties[name] =
      depth > 0 && i % 3 === 0
        ? objectSchema(seed * 7 + i, depth - 1, width)
        : i % 3 === 1
          ? { type: "array", description: description(seed + i), items: { type: "string", description: description(seed + i + 1) } }
          : { type: i % 2 === 0 ? "string" : "integer", description: description(seed + i), ...(i % 2 === 0 ? { pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" } : { format: "int32", minimum: 0 }) };
  }
  return { type: "object", description: description(seed), properties, required: Object.keys(properties).slice(0, 2) };
}

/** A CRD of about `bytes` bytes of YAML, in group `group`. */
export function crdYaml(kind: string, group: string, bytes: number): string {
  const plural = `${kind.toLowerCase()}s`;
  let width = 6;
  let text = "";
  // Widen the schema until the file is as large as asked.
  for (;;) {
    const version = (name: string, served: boolean) => ({
      name,
      served,
      storage: name === "v1",
      schema: { openAPIV3Schema: { type: "object", properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec: objectSchema(width, 3, width), status: objectSchema(width + 1, 2, width) } } },
      subresources: { status: {} },
      additionalPrinterColumns: [{ name: "Succeeded", type: "string", jsonPath: ".status.conditions[?(@.type==\"Succeeded\")].status" }],
    });
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${plural}.${group}`, labels: { "app.kubernetes.io/part-of": "pipelines" } },
      spec: { group, names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() }, scope: "Namespaced", versions: [version("v1beta1", true), version("v1", true)] },
    };
    text = stringify(crd, { lineWidth: 0 });
    if (text.length >= bytes || width > 40) return text;
    width += Math.max(1, Math.ceil(width * (Math.sqrt(bytes / text.length) - 1) * 0.5));
  }
}

/**
 * Writes a kustomize overlay of `count` CRDs of about `bytes` each into `dir` (a kustomization
 * with a common label, so kustomize reads and writes every object); returns the file names.
 */
export async function writeCrdOverlay(dir: string, options: { count: number; bytes: number; group?: string }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const kinds = ["Pipeline", "PipelineRun", "Task", "TaskRun", "StepAction", "CustomRun"];
  const files: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const file = `${(kinds[i % kinds.length] ?? "Thing").toLowerCase()}${i >= kinds.length ? i : ""}.yaml`;
    await writeFile(join(dir, file), crdYaml(`${kinds[i % kinds.length] ?? "Thing"}${i >= kinds.length ? i : ""}`, options.group ?? "pipelines.example.com", options.bytes));
    files.push(file);
  }
  await writeFile(join(dir, "kustomization.yaml"), ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "labels:", "  - pairs:", "      app.kubernetes.io/version: v0.62.1", "resources:", ...files.map((f) => `  - ${f}`), ""].join("\n"));
  return files;
}
