// Kubernetes manifests in YAML or JSON files: parsing into objects with their position, checking
// the fields every object needs, and the identity (group, kind, namespace, name) of an object.
// Parsing also notes which string values were written as an unquoted variable reference
// (`replicas: ${replicas}`): substitution gives those the YAML type of their value.
import { randomBytes } from "node:crypto";
import { LineCounter, isScalar, parseAllDocuments, parseDocument, visit, type Document, type Tags } from "yaml";
import { RenderError } from "../errors.js";
import { yamlErrorText } from "../fleet/index.js";
import { isSingleReference } from "./references.js";

/** A Kubernetes object as parsed from a manifest: JSON-compatible values only. */
export type KubeObject = Record<string, unknown>;

/** Keys and indexes from an object's root to one of its values. */
export type FieldPath = readonly (string | number)[];

/** One object read from a manifest file, with where it came from. */
export interface ParsedObject {
  readonly object: KubeObject;
  /** Repository-relative file path. */
  readonly file: string;
  /** 1-based index of the YAML document in the file. */
  readonly document: number;
  /** 1-based line where the document starts. */
  readonly line: number;
  /** Where inside a `kind: List` document the object was, e.g. "items[2]"; empty otherwise. */
  readonly item: string;
  /** String values written as one unquoted variable reference (a plain YAML scalar), by path. */
  readonly unquoted: readonly FieldPath[];
}

/**
 * YAML 1.1 as Kubernetes tooling reads it (kubectl and the apiserver use go-yaml v2): `0644` is
 * octal, `yes`/`on` are booleans, `<<` merges. Like go-yaml into an untyped value, timestamps and
 * sexagesimal numbers stay strings, and `!!binary` is not decoded; without this a ConfigMap
 * volume's `defaultMode: 0644` would arrive as 644 and be rejected.
 */
function kubeTags(tags: Tags): Tags {
  return tags.filter((tag) => {
    if (typeof tag !== "object") return true;
    if (tag.format === "TIME") return false;
    return tag.tag !== "tag:yaml.org,2002:timestamp" && tag.tag !== "tag:yaml.org,2002:binary";
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Every YAML 1.1 number starts so (`3`, `-2`, `+1`, `.5`, `.inf`, `0x1F`, `1_000`). */
const MAYBE_NUMBER = /^[-+.0-9]/;
/** The YAML 1.1 boolean words, lowercased (a superset is harmless: the parser decides). */
const MAYBE_BOOLEAN = new Set(["true", "false", "yes", "no", "on", "off", "y", "n"]);

/** How Kubernetes tooling reads YAML (see kubeTags). */
const YAML_OPTIONS = { version: "1.1", customTags: kubeTags } as const;

/**
 * What `text` would be if it were written unquoted as a value in a manifest, as far as it is a
 * boolean or a number (`3`, `0.5`, `true`, and in YAML 1.1 also `yes`, `off` and octal `0644`);
 * anything else, null (`null`, `~`, empty) included, is `text` itself. So a substituted value
 * never changes the shape of an object, only the type of one value.
 */
export function unquotedScalar(text: string): string | number | boolean {
  if (text === "" || text.includes("\n") || text.includes("\r")) return text;
  // Most values (names, hosts, images) cannot be a number or a boolean: skip the YAML parser,
  // which would otherwise run once per typed field and cluster.
  if (!MAYBE_NUMBER.test(text) && !MAYBE_BOOLEAN.has(text.toLowerCase())) return text;
  const doc = parseDocument(text, YAML_OPTIONS);
  const node = doc.contents;
  if (doc.errors.length > 0 || doc.warnings.length > 0 || !isScalar(node) || node.type !== "PLAIN" || node.tag !== undefined) return text;
  // A comment or surrounding blanks would be lost: only a value that is the whole text counts.
  if (node.range?.[0] !== 0 || node.range[1] !== text.length) return text;
  const value: unknown = node.value;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return value;
  return text;
}

/**
 * Parses a manifest file (multi-document YAML, or JSON) into objects. Empty documents are
 * skipped; a `v1` `List` is flattened into its items. Throws {@link RenderError} that names the
 * file, the document and the line for invalid UTF-8, invalid YAML or a document that is not an
 * object with apiVersion, kind and metadata.name.
 */
export function parseManifestFile(file: string, bytes: Uint8Array): ParsedObject[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new RenderError("manifest-invalid", `${file}: is not valid UTF-8 text`, { file, cause });
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...YAML_OPTIONS, lineCounter: lines, prettyErrors: true });
  // Most files hold no reference at all, and are parsed without looking for them.
  const marker = text.includes("${") ? `\u0000${randomBytes(6).toString("hex")}\u0000` : undefined;
  const objects: ParsedObject[] = [];
  docs.forEach((doc, index) => {
    const document = index + 1;
    const start = lines.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    const [error] = doc.errors;
    if (error !== undefined) {
      const line = error.linePos?.[0].line ?? start;
      throw new RenderError("manifest-invalid", `${file}:${line} (document ${document}): invalid YAML: ${yamlErrorText(error.message)}`, {
        file,
        document,
        line,
        cause: error,
      });
    }
    if (doc.contents === null) return;
    if (marker !== undefined) markUnquotedReferences(doc, marker);
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (cause) {
      throw new RenderError("manifest-invalid", `${file}:${start} (document ${document}): ${(cause as Error).message}`, { file, document, line: start, cause });
    }
    if (value === null || value === undefined) return;
    const unquoted = marker === undefined ? [] : takeMarks(value, marker);
    const where = { file, document, line: start };
    if (isListDocument(value)) {
      value.items.forEach((item, i) => {
        const inside = unquoted.filter((path) => path[0] === "items" && path[1] === i).map((path) => path.slice(2));
        objects.push(checkObject(item, { ...where, item: `items[${i}]`, unquoted: inside }));
      });
    } else {
      objects.push(checkObject(value, { ...where, item: "", unquoted }));
    }
  });
  return objects;
}

/**
 * Prefixes every plain (unquoted, untagged) scalar value that is one variable reference with
 * `marker`, so that after toJS, which resolves aliases and merge keys, the marks say where such
 * values ended up. Keys are left alone: they are never substituted.
 */
function markUnquotedReferences(doc: Document, marker: string): void {
  visit(doc, {
    Scalar(key, node) {
      if (key === "key" || node.type !== "PLAIN" || node.tag !== undefined) return;
      if (typeof node.value === "string" && isSingleReference(node.value)) node.value = marker + node.value;
    },
  });
}

/** Removes the marks of {@link markUnquotedReferences} from `root`, and returns the paths they were at. */
function takeMarks(root: unknown, marker: string): FieldPath[] {
  const found: Array<{ parent: Record<string | number, unknown>; key: string | number; path: FieldPath }> = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        if (typeof child === "string" && child.startsWith(marker)) found.push({ parent: node as unknown as Record<number, unknown>, key: i, path: [...path, i] });
        else walk(child, [...path, i]);
      });
    } else if (isPlainObject(node)) {
      for (const [key, child] of Object.entries(node)) {
        if (typeof child === "string" && child.startsWith(marker)) found.push({ parent: node, key, path: [...path, key] });
        else walk(child, [...path, key]);
      }
    }
  };
  walk(root, []);
  // Only now: an alias shares its value, and must be found marked under every path it appears at.
  for (const { parent, key } of found) {
    const value = parent[key];
    if (typeof value === "string" && value.startsWith(marker)) parent[key] = value.slice(marker.length);
  }
  return found.map((f) => f.path);
}

function isListDocument(value: unknown): value is { items: unknown[] } {
  if (!isPlainObject(value)) return false;
  return value["apiVersion"] === "v1" && value["kind"] === "List" && Array.isArray(value["items"]);
}

function checkObject(value: unknown, where: Omit<ParsedObject, "object">): ParsedObject {
  const fail = (message: string): never => {
    const item = where.item === "" ? "" : ` ${where.item}`;
    throw new RenderError("object-invalid", `${describe(where)}${item}: ${message}`, where);
  };
  if (!isPlainObject(value)) return fail(`must be a Kubernetes object (a mapping); got ${Array.isArray(value) ? "a list" : typeof value}`);
  for (const field of ["apiVersion", "kind"] as const) {
    const v = value[field];
    if (typeof v !== "string" || v.trim() === "") fail(`${field} is missing or not a string`);
  }
  const metadata = value["metadata"];
  if (!isPlainObject(metadata)) return fail("metadata is missing or not a mapping");
  const name = metadata["name"];
  if (typeof name !== "string" || name.trim() === "") fail("metadata.name is missing or not a string (generateName is not supported)");
  const namespace = metadata["namespace"];
  if (namespace !== undefined && namespace !== null && typeof namespace !== "string") fail("metadata.namespace must be a string");
  return { object: value, ...where };
}

/** `apps/web/a.yaml:12 (document 3)`: where a parsed object came from, for messages. */
export function describe(where: Pick<ParsedObject, "file" | "document" | "line">): string {
  return `${where.file}:${where.line} (document ${where.document})`;
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
