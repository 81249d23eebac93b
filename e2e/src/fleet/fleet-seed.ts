// Fleet repositories written by a scenario: fleet.yaml and manifests from plain objects, into a
// temporary folder that becomes the repository's first commit.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";

/** A Kubernetes object as a scenario writes it. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [key: string]: unknown }; [key: string]: unknown };

/** Manifests as one multi-document YAML file. */
export function manifestsYaml(...objects: Manifest[]): string {
  return objects.map((o) => stringify(o)).join("---\n");
}

/** A ConfigMap. */
export function configMap(name: string, data: Record<string, string>, namespace?: string): Manifest {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(namespace ? { namespace } : {}) }, data };
}

/** A Namespace. */
export function namespace(name: string): Manifest {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

/** Writes files (path -> content) into a new temporary folder and returns it. */
export async function writeSeed(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gitfleet-seed-"));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}
