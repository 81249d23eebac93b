// The pinned helm binary, run the way an operator would: lint and template the repository's
// charts, and read what template renders as plain objects.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

/** Folder of the repository's Helm charts. */
export const chartsDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../charts");

/** The charts this repository ships. */
export type ChartName = "gitfleet-agent" | "gitfleet-hub";

/** A rendered Kubernetes object, as plain JSON. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** helm failed; `stderr` is what it said. */
export class HelmError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`helm ${args.join(" ")} failed: ${stderr.trim()}`, options);
    this.name = "HelmError";
  }
}

/** The helm binary `npm test` built (GITFLEET_HELM_BIN); undefined outside it. */
export function helmBinary(): string | undefined {
  return process.env["GITFLEET_HELM_BIN"] || undefined;
}

/** Runs helm with a private home, so no user configuration or repository cache takes part. */
export async function helm(args: readonly string[]): Promise<string> {
  const binary = helmBinary();
  if (!binary) throw new Error("GITFLEET_HELM_BIN is not set (path of the pinned helm binary; `npm test` builds it)");
  const home = await mkdtemp(join(tmpdir(), "gitfleet-helm-"));
  try {
    const { stdout } = await run(binary, [...args], {
      env: {
        PATH: process.env["PATH"] ?? "",
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new HelmError(args, stderr, { cause: error });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The values files a chart is tested with: `ci/*-values.yaml`, sorted. */
export async function ciValuesFiles(chart: ChartName): Promise<string[]> {
  const dir = join(chartsDir, chart, "ci");
  return (await readdir(dir))
    .filter((f) => f.endsWith("-values.yaml"))
    .sort()
    .map((f) => join(dir, f));
}

/** What to render. */
export interface TemplateOptions {
  chart: ChartName;
  release: string;
  namespace: string;
  /** Values files, in order. */
  valuesFiles?: readonly string[];
  /** Values given last (written to a temporary values file). */
  values?: Record<string, unknown>;
}

/** `helm lint --strict` with the given values. */
export async function helmLint(options: Omit<TemplateOptions, "release" | "namespace">): Promise<string> {
  return await withValues(options, (files) => helm(["lint", "--strict", join(chartsDir, options.chart), ...files]));
}

/** `helm template` and the objects it renders, in its order. */
export async function helmTemplate(options: TemplateOptions): Promise<RenderedObject[]> {
  const text = await withValues(options, (files) =>
    helm(["template", options.release, join(chartsDir, options.chart), "--namespace", options.namespace, ...files]),
  );
  const objects: RenderedObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`helm template of ${options.chart} rendered invalid YAML: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as RenderedObject);
  }
  return objects;
}

async function withValues<T>(
  options: { valuesFiles?: readonly string[]; values?: Record<string, unknown> },
  use: (args: string[]) => Promise<T>,
): Promise<T> {
  const args = (options.valuesFiles ?? []).flatMap((f) => ["--values", f]);
  if (!options.values) return await use(args);
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-values-"));
  try {
    const file = join(dir, "values.json");
    // JSON is YAML: no quoting surprises for tokens and addresses.
    await writeFile(file, JSON.stringify(options.values));
    return await use([...args, "--values", file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one object of a kind (and name, when given); throws when there is none or several. */
export function findObject(objects: readonly RenderedObject[], kind: string, name?: string): RenderedObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""} in the rendered chart, found ${found.length}`);
  return found[0] as RenderedObject;
}
