// The parts of a pipeline stage in fleet.yaml that say what moves and when: `promote` (kustomize
// images, fields of YAML files, whole files) and `gates` (healthy, noDrift, soak, minClusters),
// plus the durations they are written with.
import { isScalar, type Node } from "yaml";
import { DurationError, parseDuration } from "@gitfleet/proto/rules";
import { folderInside } from "./fleet-fields.js";
import { parseValuePath } from "./value-paths.js";
import type { Field, YamlFields } from "./yaml-fields.js";

/** What a promotion moves from a stage's overlay into the next stage's overlay. */
export interface PromotableSpec {
  /** Kustomize `images[].name` entries; their newName, newTag and digest move. */
  readonly images: readonly string[];
  /** Scalars of YAML files: `file` relative to the overlay, `path` as {@link parseValuePath} reads it. */
  readonly fields: readonly { readonly file: string; readonly path: string }[];
  /** Whole files, relative to the overlay. */
  readonly files: readonly string[];
}

/** The gates a stage's clusters must pass before a promotion out of the stage may start. */
export interface GateSpec {
  /** Every cluster healthy at the stage's revision (besides synced, which is always required). Default true. */
  readonly healthy: boolean;
  /** No drifted object on any cluster of the stage. Default false. */
  readonly noDrift: boolean;
  /** How long every cluster must have been synced (and healthy) at the revision. Default 0. */
  readonly soakMs: number;
  /** The fewest clusters the stage must have; a stage with fewer never passes. Default 1. */
  readonly minClusters: number;
}

/** The gates of a stage that says nothing about them. */
export const DEFAULT_GATES: GateSpec = { healthy: true, noDrift: false, soakMs: 0, minClusters: 1 };

/** What a stage with no promote of its own (and a pipeline with none) promotes: nothing. */
export const NOTHING_PROMOTED: PromotableSpec = { images: [], fields: [], files: [] };

const PROMOTE_FIELDS = ["images", "fields", "files"] as const;
const VALUE_FIELDS = ["file", "path"] as const;
const GATE_FIELDS = ["healthy", "noDrift", "soak", "minClusters"] as const;

/** Reads a `promote` mapping; undefined (with issues) when any part is wrong or it names nothing. */
export function readPromotable(r: YamlFields, field: Field): PromotableSpec | undefined {
  const f = r.fields(field.value, field.path, PROMOTE_FIELDS, "a mapping with images, fields and/or files");
  if (f === undefined) return undefined;
  const before = r.count;
  const imagesField = f.get("images");
  const images = imagesField ? readStrings(r, imagesField, "image", imageNameProblem) : [];
  const fieldsField = f.get("fields");
  const fields = fieldsField ? readValueFields(r, fieldsField) : [];
  const filesField = f.get("files");
  const files = filesField ? readStrings(r, filesField, "file", (value) => (overlayFile(value) === undefined ? OVERLAY_FILE_PROBLEM : undefined)) : [];
  if (r.count > before || images === undefined || fields === undefined || files === undefined) return undefined;
  const normalisedFiles = files.map((file) => overlayFile(file) ?? file);
  if (filesField !== undefined) {
    for (const value of fields) {
      if (normalisedFiles.includes(value.file)) r.add(filesField.value, filesField.path, `${value.file} is promoted whole, so its field ${value.path} cannot be promoted too; keep one of them`);
    }
  }
  if (images.length + fields.length + files.length === 0) {
    r.add(field.value ?? field.key, field.path, "must name at least one image, field or file to promote");
  }
  if (r.count > before) return undefined;
  return { images, fields, files: normalisedFiles };
}

/** Reads a `gates` mapping, defaults applied. */
export function readGates(r: YamlFields, field: Field): GateSpec | undefined {
  const f = r.fields(field.value, field.path, GATE_FIELDS, "a mapping with healthy, noDrift, soak and/or minClusters");
  if (f === undefined) return undefined;
  const before = r.count;
  const healthyField = f.get("healthy");
  const healthy = healthyField ? r.boolean(healthyField) : DEFAULT_GATES.healthy;
  const noDriftField = f.get("noDrift");
  const noDrift = noDriftField ? r.boolean(noDriftField) : DEFAULT_GATES.noDrift;
  const soakField = f.get("soak");
  const soakMs = soakField ? readDuration(r, soakField, { allowZero: true }) : DEFAULT_GATES.soakMs;
  const minField = f.get("minClusters");
  const minClusters = minField ? readCount(r, minField) : DEFAULT_GATES.minClusters;
  if (r.count > before || healthy === undefined || noDrift === undefined || soakMs === undefined || minClusters === undefined) return undefined;
  return { healthy, noDrift, soakMs, minClusters };
}

/**
 * A duration (`30s`, `5m`, `1h30m`, or a number of seconds) in milliseconds, or undefined with an
 * issue. Zero (`0`, `0s`) only where `allowZero` says so.
 */
export function readDuration(r: YamlFields, field: Field, options: { allowZero: boolean }): number | undefined {
  const node = field.value;
  if (!isScalar(node) || (typeof node.value !== "string" && typeof node.value !== "number")) {
    r.add(node ?? field.key, field.path, `must be a duration such as 30s, 5m or 1h30m${node === null || (isScalar(node) && node.value === null) ? "; got nothing" : ""}`);
    return undefined;
  }
  const value = node.value;
  if (options.allowZero && /^0+(ms|s|m|h|d)?$/.test(String(value).trim())) return 0;
  try {
    return parseDuration(value, field.path);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    r.add(node, field.path, err.message.slice(err.what.length + 2));
    return undefined;
  }
}

/** The folder-relative path of a file inside an overlay, normalised; undefined when it is absolute, climbs out or is empty. */
export function overlayFile(value: string): string | undefined {
  if (value.endsWith("/")) return undefined;
  const file = folderInside("", value);
  return file === undefined || file === "" ? undefined : file;
}

const OVERLAY_FILE_PROBLEM = 'must be a file inside the stage\'s overlay, relative to it (no leading "/", no ".." above it)';

function readCount(r: YamlFields, field: Field): number | undefined {
  const node = field.value;
  if (isScalar(node) && typeof node.value === "number" && Number.isInteger(node.value) && node.value >= 1) return node.value;
  const got = isScalar(node) ? `; got ${typeof node.value} ${JSON.stringify(node.value)}` : "";
  r.add(node ?? field.key, field.path, `must be a whole number of at least 1${got}`);
  return undefined;
}

function readStrings(r: YamlFields, field: Field, what: string, problem: (value: string) => string | undefined): string[] | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const before = r.count;
  const out: string[] = [];
  const seen = new Map<string, string>();
  for (const item of items) {
    const value = r.stringAt(item.node ?? field.key, item.node, item.path);
    if (value === undefined) continue;
    const why = problem(value);
    if (why !== undefined) {
      r.add(item.node, item.path, `${JSON.stringify(value)} ${why}`);
      continue;
    }
    const key = what === "file" ? (overlayFile(value) ?? value) : value;
    const earlier = seen.get(key);
    if (earlier !== undefined) r.add(item.node, item.path, `${what} ${key} is already listed at ${earlier}`);
    seen.set(key, item.path);
    out.push(value);
  }
  return r.count > before ? undefined : out;
}

function readValueFields(r: YamlFields, field: Field): Array<{ file: string; path: string }> | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const before = r.count;
  const out: Array<{ file: string; path: string }> = [];
  const seen = new Map<string, string>();
  for (const item of items) {
    const value = readValueField(r, item.node, item.path);
    if (value === undefined) continue;
    const key = `${value.file}\n${value.path}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) r.add(item.node, item.path, `field ${value.path} of ${value.file} is already listed at ${earlier}`);
    seen.set(key, item.path);
    out.push(value);
  }
  return r.count > before ? undefined : out;
}

function readValueField(r: YamlFields, node: Node | null, path: string): { file: string; path: string } | undefined {
  const f = r.fields(node, path, VALUE_FIELDS, "a mapping with file and path");
  if (f === undefined) return undefined;
  const before = r.count;
  const fileField = r.require(f, "file", node, path, "the YAML file, relative to the stage's overlay");
  const fileText = fileField && r.string(fileField);
  const file = fileText === undefined ? undefined : overlayFile(fileText);
  if (fileField !== undefined && fileText !== undefined && file === undefined) r.add(fileField.value, fileField.path, `${JSON.stringify(fileText)} ${OVERLAY_FILE_PROBLEM}`);
  const pathField = r.require(f, "path", node, path, "the field's path in the file, e.g. data.version");
  const pathText = pathField && r.string(pathField);
  if (pathField !== undefined && pathText !== undefined) {
    const parsed = parseValuePath(pathText);
    if ("problem" in parsed) r.add(pathField.value, pathField.path, `${JSON.stringify(pathText)} ${parsed.problem}`);
  }
  if (r.count > before || file === undefined || pathText === undefined) return undefined;
  return { file, path: pathText };
}

/** Why `value` is not a kustomize image name (a name without tag or digest), or undefined. */
function imageNameProblem(value: string): string | undefined {
  if (value === "" || /\s/.test(value)) return "is not an image name";
  const last = value.slice(value.lastIndexOf("/") + 1);
  if (value.includes("@") || last.includes(":")) return "must be an image name without tag or digest (the images entry's name); the tag is what gets promoted";
  return undefined;
}
