// Which variable references a kustomize overlay writes unquoted. kustomize re-serialises every
// object and prints `${replicas}` without quotes whether the source quoted it or not, so its output
// cannot say which values are typed (see substitute.ts). The overlay's own YAML files can: a
// reference is typed when, in the files the build reads (resources, patches, components, inline
// patches in kustomizations), it is written as a whole unquoted value somewhere and quoted
// nowhere. Written both ways, it stays a string everywhere and a warning says so. Values that
// kustomize makes up itself (configMapGenerator literals, env files) are never written as a whole
// value in YAML, so they stay strings. Pure.
import { LineCounter, isScalar, parseAllDocuments, visit, type Document } from "yaml";
import { isSingleReference } from "./references.js";
import { KUSTOMIZATION_FILE_NAMES } from "./overlay.js";

const YAML_FILE = /\.(ya?ml|json)$/i;
const KUSTOMIZATIONS = new Set<string>(KUSTOMIZATION_FILE_NAMES);

/** The references of `wanted` that are typed in a build that read `inputs`, and warnings about the rest. */
export interface ReferenceStyles {
  /** References written unquoted, and never quoted, as a whole value. */
  readonly typed: ReadonlySet<string>;
  /** One per reference written both ways, naming a place of each. */
  readonly warnings: readonly string[];
}

/**
 * Looks up how each reference of `wanted` (texts such as `${replicas}`) is written in the YAML files
 * of `inputs` (RenderedOverlay.inputs of a kustomize build, files only). Files that hold none of
 * them are not parsed, so large CRDs cost a text search.
 */
export function referenceStyles(files: ReadonlyMap<string, Uint8Array>, inputs: readonly string[], wanted: ReadonlySet<string>): ReferenceStyles {
  const unquoted = new Map<string, string>();
  const quoted = new Map<string, string>();
  const note = (text: string, plain: boolean, where: string): void => {
    if (!wanted.has(text)) return;
    const seen = plain ? unquoted : quoted;
    if (!seen.has(text)) seen.set(text, where);
  };
  const decoder = new TextDecoder();
  for (const path of inputs) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const kustomization = KUSTOMIZATIONS.has(name);
    if (!kustomization && !YAML_FILE.test(name)) continue;
    const bytes = files.get(path);
    if (bytes === undefined) continue;
    const text = decoder.decode(bytes);
    if (![...wanted].some((reference) => text.includes(reference))) continue;
    scan(text, (value, plain, line) => note(value, plain, `${path}:${line}`), kustomization);
  }
  const typed = new Set<string>();
  const warnings: string[] = [];
  for (const reference of [...wanted].sort()) {
    const plainAt = unquoted.get(reference);
    const quotedAt = quoted.get(reference);
    if (plainAt !== undefined && quotedAt === undefined) typed.add(reference);
    else if (plainAt !== undefined && quotedAt !== undefined) {
      warnings.push(
        `${reference} is written unquoted (${plainAt}) and quoted (${quotedAt}) in the files kustomize build reads; ` +
          `kustomize prints both alike, so it stays a string everywhere: write it one way, or use two variables`,
      );
    }
  }
  return { typed, warnings };
}

/**
 * Calls `found` for every string value of `text` that is one reference, with whether it is plain
 * and its line. In a kustomization, multi-line string values (inline patches) are scanned too.
 */
function scan(text: string, found: (value: string, plain: boolean, line: number) => void, kustomization: boolean): void {
  const lines = new LineCounter();
  for (const doc of parseAllDocuments(text, { version: "1.1", lineCounter: lines })) {
    // A file kustomize could not read fails the build; one it could, parses here.
    if (doc.errors.length > 0) continue;
    visitValues(doc, (value, plain, offset) => {
      const line = lines.linePos(offset).line;
      if (isSingleReference(value)) found(value, plain, line);
      else if (kustomization && value.includes("\n") && value.includes("${")) scan(value, (inner, innerPlain) => found(inner, innerPlain, line), false);
    });
  }
}

function visitValues(doc: Document, each: (value: string, plain: boolean, offset: number) => void): void {
  visit(doc, {
    Scalar(key, node) {
      if (key === "key" || !isScalar(node) || typeof node.value !== "string") return;
      each(node.value, node.type === "PLAIN" && node.tag === undefined, node.range?.[0] ?? 0);
    },
  });
}
