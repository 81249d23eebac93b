// Kubernetes manifests in YAML or JSON files: parsing into objects with their position, checking
// the fields every object needs, and the identity (group, kind, namespace, name) of an object.
import { LineCounter, parseAllDocuments, type Tags } from "yaml";
import { RenderError } from "../errors.js";
import { yamlErrorText } from "../fleet/index.js";

/** A Kubernetes object as parsed from a manifest: JSON-compatible values only. */
export type KubeObject = Record<string, unknown>;

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
  const docs = parseAllDocuments(text, { lineCounter: lines, version: "1.1", customTags: kubeTags, prettyErrors: true });
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
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (cause) {
      throw new RenderError("manifest-invalid", `${file}:${start} (document ${document}): ${(cause as Error).message}`, { file, document, line: start, cause });
    }
    if (value === null || value === undefined) return;
    const where = { file, document, line: start };
    if (isListDocument(value)) {
      value.items.forEach((item, i) => objects.push(checkObject(item, { ...where, item: `items[${i}]` })));
    } else {
      objects.push(checkObject(value, { ...where, item: "" }));
    }
  });
  return objects;
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
