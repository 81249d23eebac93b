// Rendering a plain folder of manifests: every YAML and JSON file under the folder, in path order.
// Pure: it reads only the snapshot's files it is given. Checks that need the bundle (namespace
// defaulting, duplicates, variables, whether it may be empty) come after rendering, in
// bundle-objects.ts.
import { RenderError } from "../errors.js";
import { describe, parseManifestFile, type FieldPath, type KubeObject } from "./manifests.js";
import { KUSTOMIZATION_FILE_NAMES, folderInput, type RenderedOverlay } from "./overlay.js";
import { filesUnder } from "../snapshot.js";

const MANIFEST = /\.(ya?ml|json)$/i;
/** Read by the hub itself: never applied as objects. */
const NOT_MANIFESTS = new Set(["fleet.yaml"]);
const KUSTOMIZATIONS = new Set<string>(KUSTOMIZATION_FILE_NAMES);

/** True for files a plain folder applies: .yaml, .yml and .json, outside hidden folders. */
export function isManifestPath(path: string): boolean {
  if (path.split("/").some((part) => part.startsWith("."))) return false;
  return MANIFEST.test(path) && !NOT_MANIFESTS.has(path);
}

/**
 * Renders a plain folder (normalised, "" is the root) into objects. Throws {@link RenderError}
 * when the folder does not exist (holds no files), when a file is not valid YAML/JSON, when an
 * object misses apiVersion, kind or metadata.name, and when a kustomization sits below the folder
 * (it would be applied as an object otherwise). A folder without objects renders none: whether
 * a bundle may be empty is the bundle's to say (bundle-objects.ts).
 */
export function renderPlainDirectory(files: ReadonlyMap<string, Uint8Array>, dir: string): RenderedOverlay {
  const where = dir === "" ? "the repository root" : dir;
  const all = filesUnder(files, dir);
  if (all.length === 0) {
    throw new RenderError("bundle-path-missing", `folder ${where} does not exist or holds no files`);
  }
  const kustomization = all.find((path) => KUSTOMIZATIONS.has(path.slice(path.lastIndexOf("/") + 1)));
  if (kustomization !== undefined) {
    const folder = kustomization.slice(0, Math.max(0, kustomization.lastIndexOf("/")));
    throw new RenderError(
      "manifest-invalid",
      `${kustomization}: a kustomization below the plain folder ${where}; point the target's overlay at ${folder || "the repository root"}, or add a kustomization to ${where}`,
      { file: kustomization },
    );
  }
  const objects: KubeObject[] = [];
  const sources: string[] = [];
  const unquoted: (readonly FieldPath[])[] = [];
  for (const file of all.filter(isManifestPath)) {
    for (const parsed of parseManifestFile(file, files.get(file) ?? new Uint8Array())) {
      objects.push(parsed.object);
      sources.push(describe(parsed) + (parsed.item === "" ? "" : ` ${parsed.item}`));
      unquoted.push(parsed.unquoted);
    }
  }
  return { objects, sources, unquoted, inputs: [folderInput(dir)] };
}
