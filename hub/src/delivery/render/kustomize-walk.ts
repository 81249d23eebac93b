// What a `kustomize build` of one overlay can read, worked out from the snapshot alone before the
// binary runs. Pure. The walk follows every kustomization the overlay reaches (resources, bases,
// components, generators, transformers, validators) and answers two questions:
// - is it safe to build? Remote references are refused (the hub never fetches anything but its
//   fleet repository), and so are folders outside the repository: kustomize's load restrictor
//   keeps files under their kustomization's root, but lets a kustomization reach any folder on
//   the hub's disk through `resources: [../../..]`;
// - which files can change the output? Conservatively every file under every folder reached, plus
//   referenced paths that do not exist yet and, in every folder kustomize looks into, each name a
//   kustomization file may have (a new one makes a folder a kustomization, a second one is an
//   error). Files rather than folder entries, so checking them on the next commit is lookups only.
import { LineCounter, parseDocument, isMap } from "yaml";
import { KustomizeError } from "./kustomize-error.js";
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
  const pending = [overlay];
  /** A folder kustomize may look into: whichever kustomization file appears there changes the build. */
  const candidates = (dir: string): void => {
    for (const name of KUSTOMIZATION_FILE_NAMES) inputs.add(join(dir, name));
  };
  try {
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      folders.push(dir);
      for (const path of index.under(dir)) inputs.add(path);
      candidates(dir);
      const kustomizations = KUSTOMIZATION_FILE_NAMES.map((name) => join(dir, name)).filter((path) => files.has(path));
      if (kustomizations.length === 0 && dir === overlay) {
        const where = overlay === "" ? "the repository root" : overlay;
        throw new KustomizeError("kustomization-invalid", overlay, `${where}: no kustomization.yaml, kustomization.yml or Kustomization in this folder`);
      }
      // A folder reached without one fails in kustomize, in kustomize's words.
      for (const file of kustomizations) {
        // A problem in a base or component also names the overlay that reached it.
        const at = dir === overlay ? file : `${overlay === "" ? "." : overlay}: ${file}`;
        for (const ref of references(overlay, file, at, files.get(file) ?? new Uint8Array())) {
          const local = ref.value.startsWith("/") ? undefined : normalizeFolder(collapse(join(dir, ref.value)));
          const exists = local !== undefined && (files.has(local) || index.isFolder(local));
          // kustomize tries a local path first and fetches only what is not one.
          if (!exists && isRemote(ref.value)) {
            throw new KustomizeError(
              "remote-refused",
              overlay,
              `${at}: ${ref.field}: remote reference "${ref.value}" refused: the hub renders from the fleet repository only; copy it into the repository and refer to it by a relative path`,
              { file },
            );
          }
          if (local === undefined) {
            throw new KustomizeError(
              "outside-repository",
              overlay,
              `${at}: ${ref.field}: "${ref.value}" is outside the repository; refer to files and folders of the repository by relative paths`,
              { file },
            );
          }
          if (ref.folder && !files.has(local) && index.isFolder(local)) {
            pending.push(local);
          } else {
            // A missing path is an input too: adding it must render the overlay again.
            inputs.add(local);
            if (ref.folder && !exists) candidates(local);
          }
        }
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

/** One path a kustomization names, with the field it is in (for messages). */
interface Reference {
  readonly value: string;
  readonly field: string;
  /** True when the field takes kustomization folders as well as files. */
  readonly folder: boolean;
}

/** Fields that take a file or a kustomization folder per entry. */
const FOLDER_LISTS = ["resources", "bases", "components", "generators", "transformers", "validators"];
/** Fields that take one file per entry (strategic-merge patches may also be inline). */
const FILE_LISTS = ["crds", "configurations", "patchesStrategicMerge"];
/** Fields whose entries are objects with an optional `path` to a file. */
const PATH_OBJECT_LISTS = ["patches", "patchesJson6902", "replacements"];
const HELM_FIELDS = ["helmCharts", "helmChartInflationGenerator", "helmGlobals"];

/** The paths a kustomization file names; `at` is how messages name the file. */
function references(overlay: string, file: string, at: string, bytes: Uint8Array): Reference[] {
  const lines = new LineCounter();
  const doc = parseDocument(new TextDecoder().decode(bytes), { version: "1.1", lineCounter: lines, prettyErrors: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    const line = error.linePos?.[0].line;
    throw new KustomizeError("kustomization-invalid", overlay, `${at}${line === undefined ? "" : `:${line}`}: invalid YAML: ${firstLine(error.message)}`, {
      file,
      cause: error,
    });
  }
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) {
    throw new KustomizeError("kustomization-invalid", overlay, `${at}: a kustomization must be a YAML mapping`, { file });
  }
  const root = doc.toJS() as Record<string, unknown>;
  for (const field of HELM_FIELDS) {
    if (root[field] !== undefined && root[field] !== null) {
      throw new KustomizeError(
        "helm-refused",
        overlay,
        `${at}: ${field}: Helm charts are not rendered by the hub; render the chart into the repository (helm template) and list the output under resources`,
        { file },
      );
    }
  }
  const refs: Reference[] = [];
  const add = (value: unknown, field: string, folder: boolean): void => {
    // Multi-line entries are inline YAML (patches, generator configs), not paths.
    if (typeof value === "string" && value !== "" && !value.includes("\n")) refs.push({ value, field, folder });
  };
  const list = (field: string): unknown[] => {
    const value = root[field];
    return Array.isArray(value) ? value : [];
  };
  for (const field of FOLDER_LISTS) list(field).forEach((v, i) => add(v, `${field}[${i}]`, true));
  for (const field of FILE_LISTS) list(field).forEach((v, i) => add(v, `${field}[${i}]`, false));
  for (const field of PATH_OBJECT_LISTS) list(field).forEach((v, i) => add(property(v, "path"), `${field}[${i}].path`, false));
  for (const field of ["configMapGenerator", "secretGenerator"]) {
    list(field).forEach((generator, i) => {
      const entries = property(generator, "files");
      if (Array.isArray(entries)) {
        // `key=path` or `path`.
        entries.forEach((v, j) => add(typeof v === "string" ? v.slice(v.indexOf("=") + 1) : v, `${field}[${i}].files[${j}]`, false));
      }
      const envs = property(generator, "envs");
      if (Array.isArray(envs)) envs.forEach((v, j) => add(v, `${field}[${i}].envs[${j}]`, false));
      add(property(generator, "env"), `${field}[${i}].env`, false);
    });
  }
  add(property(root["openapi"], "path"), "openapi.path", false);
  return refs;
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

/**
 * True for what kustomize would fetch: URLs with a scheme (https://, ssh://, file://), go-getter's
 * `git::`, SCP-like `user@host:path`, and GitHub shorthands. Local paths never match.
 */
function isRemote(value: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ||
    /^git::/i.test(value) ||
    /^gh:/i.test(value) ||
    /^[^/:@\s]+@[^/:\s]+:/.test(value) ||
    /^(?:www\.)?github\.com[/:]/i.test(value)
  );
}

function property(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
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
