// What a `kustomize build` of one overlay can read, worked out from the snapshot alone before the
// binary runs. Pure. The walk follows every kustomization the overlay reaches (resources, bases,
// components, generators, transformers, validators), the plugin configs those name or hold inline,
// and answers two questions:
// - is it safe to build? Remote references are refused wherever kustomize could load one (the hub
//   never fetches anything but its fleet repository), and so are paths outside the repository: kustomize's load restrictor
//   keeps files under their kustomization's root, but lets a kustomization reach any folder on
//   the hub's disk through `resources: [../../..]`;
// - which files can change the output? Conservatively every file under every folder reached, plus
//   referenced paths that do not exist yet and, in every folder kustomize looks into, each name a
//   kustomization file may have (a new one makes a folder a kustomization, a second one is an
//   error). Files rather than folder entries, so checking them on the next commit is lookups only.
import { KustomizeError } from "./kustomize-error.js";
import { isRemote, kustomizationReferences, pluginConfigReferences, type Reference, type ReferenceSource } from "./kustomize-references.js";
import { KUSTOMIZATION_FILE_NAMES } from "./overlay.js";
import { compareCodeUnits, normalizeFolder } from "../snapshot.js";

/** What {@link walkKustomization} found out about one overlay. */
export interface KustomizeWalk {
  /** Repository-relative files that can change the build's output, sorted; may name missing files. */
  readonly inputs: string[];
  /** The kustomization folders reached, the overlay first. */
  readonly folders: string[];
}

/**
 * Walks the kustomizations reachable from `overlay` (normalised, repository-relative). Throws
 * {@link KustomizeError} when the overlay has no kustomization, a kustomization is not a YAML
 * mapping, or one refers to a remote resource, to a path outside the repository, or to Helm charts.
 * Everything else (a missing file, a bad patch) is left for kustomize to report in its own words.
 */
export function walkKustomization(files: ReadonlyMap<string, Uint8Array>, overlay: string): KustomizeWalk {
  const index = pathIndex(files);
  const inputs = new Set<string>();
  const folders: string[] = [];
  const seen = new Set<string>();
  // A folder reached as a plugin config folder holds configs kustomize runs, and is read strictly.
  const pending: { dir: string; plugin: boolean }[] = [{ dir: overlay, plugin: false }];
  const readConfigs = new Set<string>();
  /** A folder kustomize may look into: whichever kustomization file appears there changes the build. */
  const candidates = (dir: string): void => {
    for (const name of KUSTOMIZATION_FILE_NAMES) inputs.add(join(dir, name));
  };
  /** A problem in a base or component also names the overlay that reached it. */
  const sourceOf = (file: string, dir: string): ReferenceSource => ({ overlay, file, at: dir === overlay ? file : `${overlay === "" ? "." : overlay}: ${file}` });
  const follow = (refs: readonly Reference[], dir: string, source: ReferenceSource, plugin: boolean): void => {
    for (const ref of refs) {
      const local = ref.value.startsWith("/") ? undefined : normalizeFolder(collapse(join(dir, ref.value)));
      const exists = local !== undefined && (files.has(local) || index.isFolder(local));
      const where = `${source.at}:${ref.line}: ${ref.field}`;
      // kustomize tries a local path first and fetches only what is not one.
      if (!exists && isRemote(ref.value)) {
        throw new KustomizeError(
          "remote-refused",
          overlay,
          `${where}: remote reference "${ref.value}" refused: the hub renders from the fleet repository only and never fetches URLs; copy it into the repository and refer to it by a relative path`,
          { file: source.file },
        );
      }
      if (local === undefined) {
        throw new KustomizeError(
          "outside-repository",
          overlay,
          `${where}: "${ref.value}" is outside the repository; refer to files and folders of the repository by relative paths`,
          { file: source.file },
        );
      }
      // What a plugin config folder lists is read as plugin configs too.
      const asPlugin = ref.plugin || (plugin && ref.folder);
      if (ref.folder && !files.has(local) && index.isFolder(local)) {
        pending.push({ dir: local, plugin: asPlugin });
        continue;
      }
      // A missing path is an input too: adding it must render the overlay again.
      inputs.add(local);
      if (ref.folder && !exists) candidates(local);
      const bytes = files.get(local);
      if (asPlugin && bytes !== undefined && !readConfigs.has(local)) {
        readConfigs.add(local);
        // Paths in a config resolve from the kustomization that runs it.
        const config = sourceOf(local, dir);
        follow(pluginConfigReferences(config, new TextDecoder().decode(bytes), { field: "", lineOffset: 0 }), dir, config, false);
      }
    }
  };
  try {
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const { dir, plugin } = next;
      const key = `${plugin ? "plugin:" : ""}${dir}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!folders.includes(dir)) folders.push(dir);
      for (const path of index.under(dir)) inputs.add(path);
      candidates(dir);
      const kustomizations = KUSTOMIZATION_FILE_NAMES.map((name) => join(dir, name)).filter((path) => files.has(path));
      if (kustomizations.length === 0 && dir === overlay) {
        const where = overlay === "" ? "the repository root" : overlay;
        throw new KustomizeError("kustomization-invalid", overlay, `${where}: no kustomization.yaml, kustomization.yml or Kustomization in this folder`);
      }
      // A folder reached without one fails in kustomize, in kustomize's words.
      for (const file of kustomizations) {
        const source = sourceOf(file, dir);
        follow(kustomizationReferences(source, files.get(file) ?? new Uint8Array(), plugin), dir, source, plugin);
      }
    }
  } catch (err) {
    // The same inputs walk to the same failure, so the failure can be kept until one changes.
    if (err instanceof KustomizeError) err.inputs = sorted(inputs);
    throw err;
  }
  return { inputs: sorted(inputs), folders };
}

function sorted(paths: Set<string>): string[] {
  return [...paths].sort(compareCodeUnits);
}

/** Resolves `.` and `..` segments; a `..` past the start is kept so the caller can refuse it. */
function collapse(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** Sorted paths of one snapshot's files, for folder queries by binary search. */
interface PathIndex {
  /** Every path under `dir` ("" is the root), sorted. */
  under(dir: string): string[];
  /** True when some file lies under `dir`. */
  isFolder(dir: string): boolean;
}

const indexes = new WeakMap<ReadonlyMap<string, Uint8Array>, PathIndex>();

function pathIndex(files: ReadonlyMap<string, Uint8Array>): PathIndex {
  const cached = indexes.get(files);
  if (cached !== undefined) return cached;
  const sorted = [...files.keys()].sort(compareCodeUnits);
  const first = (prefix: string): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareCodeUnits(sorted[mid] ?? "", prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const index: PathIndex = {
    under(dir) {
      if (dir === "") return sorted;
      const prefix = `${dir}/`;
      const out: string[] = [];
      for (let i = first(prefix); i < sorted.length && (sorted[i] ?? "").startsWith(prefix); i++) out.push(sorted[i] ?? "");
      return out;
    },
    isFolder(dir) {
      if (dir === "") return sorted.length > 0;
      const prefix = `${dir}/`;
      return (sorted[first(prefix)] ?? "").startsWith(prefix);
    },
  };
  indexes.set(files, index);
  return index;
}
