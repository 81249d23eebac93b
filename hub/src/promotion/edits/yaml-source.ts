// Reading promotable values out of a YAML file: parsed once with source positions, walked along
// a field path to the node it names. Nothing here changes a file; yaml-edit.ts does.
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, type Document, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { formatValuePath, type PathSegment } from "../../delivery/index.js";
import { EditError } from "./edit-error.js";
import type { EditValue } from "./types.js";

/** A parsed single-document YAML file with its source text. */
export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
}

/** One step of a walk: the collection stepped into, and the pair (for maps) or index (for lists) taken. */
export interface WalkStep {
  readonly container: YAMLMap | YAMLSeq;
  readonly pair?: Pair;
  readonly index?: number;
}

/** Where a path leads in a document. */
export type Location =
  /** The path names a scalar (a `key:` with no value is a null scalar). */
  | { readonly kind: "scalar"; readonly node: Scalar; readonly steps: readonly WalkStep[] }
  /** The path stops existing at `depth`: `container` is the last collection that exists (null for an empty document). */
  | {
      readonly kind: "missing";
      readonly depth: number;
      readonly container: YAMLMap | YAMLSeq | null;
      readonly steps: readonly WalkStep[];
      /** Set when the last step's key is present with no value (`images:`): the new collection goes there. */
      readonly empty?: Scalar;
    };

/** Parses `text` as exactly one YAML document; throws {@link EditError} for invalid YAML or several documents. */
export function parseYamlSource(file: string, text: string): YamlSource {
  const docs = parseAllDocuments(text, { keepSourceTokens: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const first = list[0];
  const error = list.flatMap((doc) => doc.errors)[0];
  if (error !== undefined) throw new EditError("invalid-yaml", file, `${file} is not valid YAML: ${error.message.split("\n")[0] ?? error.message}`);
  if (list.length > 1) {
    throw new EditError("multi-document", file, `${file} holds ${list.length} YAML documents; promoted fields must be in a file of one document (split it, or promote the whole file)`);
  }
  // An empty file has no document at all: read it as one with no content.
  if (first === undefined) return { file, text, doc: parseDocument(text, { keepSourceTokens: true }) };
  return { file, text, doc: first };
}

/** How far a path goes in a document: the steps taken, and the node reached at `depth` (all of the path when `depth` is its length). */
export interface Walk {
  readonly steps: readonly WalkStep[];
  readonly node: unknown;
  readonly depth: number;
}

/**
 * Follows `path` from the document root as far as it exists. Throws {@link EditError} when it runs
 * into a value, an alias or the wrong kind of collection; a key with no value (null) stops it.
 */
export function walk(source: YamlSource, path: readonly PathSegment[]): Walk {
  let node: unknown = source.doc.contents;
  const steps: WalkStep[] = [];
  for (const [depth, segment] of path.entries()) {
    if (isAlias(node)) throw notEditable(source, path, depth, "is an alias; edit the anchored value it refers to");
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return { steps, node, depth };
    if (typeof segment === "string") {
      if (!isMap(node)) throw notEditable(source, path, depth, `is ${what(node)}, not a mapping`);
      const pair = node.items.find((p) => keyText(p.key) === segment);
      if (pair === undefined) return { steps, node, depth };
      steps.push({ container: node, pair });
      node = pair.value;
    } else {
      if (!isSeq(node)) throw notEditable(source, path, depth, `is ${what(node)}, not a list`);
      const index = typeof segment === "number" ? segment : node.items.findIndex((item) => isMap(item) && keyText(item.get(segment.match, true)) === segment.equals);
      if (index < 0 || index >= node.items.length) return { steps, node, depth };
      steps.push({ container: node, index });
      node = node.items[index];
    }
  }
  return { steps, node, depth: path.length };
}

/** Where `path` leads: a scalar, or the point where it stops existing. Throws {@link EditError} when it names a collection. */
export function locate(source: YamlSource, path: readonly PathSegment[]): Location {
  const { steps, node, depth } = walk(source, path);
  if (depth < path.length) {
    if (isMap(node) || isSeq(node)) return { kind: "missing", depth, container: node, steps };
    // `key:` with no value: the collection the path goes on into goes there.
    if (isScalar(node) && steps.at(-1)?.pair !== undefined) return { kind: "missing", depth, container: null, steps, empty: node };
    return { kind: "missing", depth, container: null, steps };
  }
  if (isAlias(node)) throw notEditable(source, path, path.length, "is an alias; edit the anchored value it refers to");
  if (isScalar(node)) return { kind: "scalar", node, steps };
  if (node === null || node === undefined) throw notEditable(source, path, path.length, "is an empty list item");
  throw notEditable(source, path, path.length, `is ${what(node)}; only single values (scalars) are promoted`);
}

/** The value at `path`, or undefined when the path does not exist. */
export function valueAt(source: YamlSource, path: readonly PathSegment[]): EditValue | undefined {
  const location = locate(source, path);
  return location.kind === "scalar" ? scalarValue(location.node) : undefined;
}

/**
 * A scalar's value. A plain number whose text is not how JavaScript writes it (`1.10`, `010`,
 * `1e3`) is kept as its text, so a tag like 1.10 does not become 1.1 on its way to the next stage.
 */
export function scalarValue(node: Scalar): EditValue {
  const value = node.value;
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    const source = node.source;
    return node.type === "PLAIN" && typeof source === "string" && source !== String(value) ? source : value;
  }
  return typeof value === "bigint" ? value.toString() : (JSON.stringify(value) ?? "");
}

/** The text of a key scalar, or undefined for keys that are not scalars. */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key) || key.value === null || key.value === undefined) return undefined;
  return scalarTextOf(scalarValue(key));
}

function scalarTextOf(value: EditValue): string {
  return value === null ? "" : String(value);
}

function what(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return `the value ${JSON.stringify(scalarValue(node))}`;
  return "not a value";
}

function notEditable(source: YamlSource, path: readonly PathSegment[], depth: number, why: string): EditError {
  const at = depth === 0 ? "the document" : formatValuePath(path.slice(0, depth));
  return new EditError("not-editable", source.file, `${source.file}: ${formatValuePath(path)} cannot be edited: ${at} ${why}`);
}
