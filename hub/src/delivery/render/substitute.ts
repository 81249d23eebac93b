// Per-cluster variable substitution after rendering, for the targets fleet.yaml turns it on for,
// in the style of Flux's post-build substitution but on the rendered objects rather than on their
// text: only string values are substituted (keys never), so a value can never change the shape of
// an object. Exactly two forms are references, with `name` a variable name:
//   ${name}            the variable's value; an error when it is not defined
//   ${name:=default}   the value, or `default` when the variable is undefined or empty (as in the shell)
// and `$${name}` / `$${name:=default}` are the literal text without the first `$`. Everything else
// is text and stays as written, never refused: shell forms (${HOSTNAME##*-}, ${1}, ${#list[@]},
// ${VAR%.*}), $1, $host, a `${` without `}`. Defaults are literal text up to the first `}`;
// nothing is substituted twice. A string value that is exactly one reference and was written
// unquoted takes the YAML type of the value (`replicas: ${replicas}` gives 3, not "3"). An object
// annotated `gitfleet.dev/substitute: disabled` is left as it is. Pure.
import type { VariableLookup } from "../fleet/index.js";
import { isPlainObject, unquotedScalar, type FieldPath } from "./manifests.js";
import { referenceAt } from "./references.js";

/** The annotation by which an object opts out of substitution, and its one value. */
export const SUBSTITUTE_ANNOTATION = "gitfleet.dev/substitute";
export const SUBSTITUTE_DISABLED = "disabled";

/** A reference to a variable inside a string value. */
export interface TemplateReference {
  readonly name: string;
  /** The text after `:=`, or undefined when the reference has no default. */
  readonly default: string | undefined;
}

/** Literal text or a reference, in order. */
export type TemplatePart = string | TemplateReference;

/** A string value of an object that holds references (or escapes), with where it is. */
export interface FieldTemplate {
  /** Keys and indexes from the object's root to the value. */
  readonly path: FieldPath;
  readonly parts: readonly TemplatePart[];
  /** True when the value is one reference written unquoted: it takes the YAML type of its value. */
  readonly typed: boolean;
  /** True when the value holds a `$${...}` escape (text that only substitution turns into `${...}`). */
  readonly escapes: boolean;
}

/** A problem with one field of one object: an undefined or ambiguous variable. */
export interface FieldProblem {
  readonly path: FieldPath;
  readonly message: string;
}

/**
 * Splits `text` into literal parts and references (see the top of this file); `escapes` says
 * whether it held a `$${...}` escape. Any text parses: what is not a reference is literal.
 */
export function parseTemplate(text: string): { parts: TemplatePart[]; escapes: boolean } {
  const parts: TemplatePart[] = [];
  let literal = "";
  let escapes = false;
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("$", i);
    if (at < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, at);
    const escaped = text[at + 1] === "$" ? referenceAt(text, at + 1) : undefined;
    if (escaped !== undefined) {
      literal += text.slice(at + 1, at + 1 + escaped.length);
      escapes = true;
      i = at + 1 + escaped.length;
      continue;
    }
    const reference = referenceAt(text, at);
    if (reference === undefined) {
      literal += "$";
      i = at + 1;
      continue;
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push({ name: reference.name, default: reference.default });
    i = at + reference.length;
  }
  if (literal !== "" || parts.length === 0) parts.push(literal);
  return { parts, escapes };
}

/**
 * Finds every string value under `value` that holds a reference or an escape. `unquoted` lists the
 * values written as one unquoted reference (RenderedOverlay.unquoted): those are typed.
 */
export function findTemplates(value: unknown, unquoted: readonly FieldPath[] = []): FieldTemplate[] {
  const typedPaths = new Set(unquoted.map((path) => JSON.stringify(path)));
  const fields: FieldTemplate[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (typeof node === "string") {
      // Cheap test first: most strings of most objects (CRD schemas, scripts) hold no `${`.
      if (!node.includes("${")) return;
      const { parts, escapes } = parseTemplate(node);
      if (!escapes && parts.every((part) => typeof part === "string")) return;
      const single = parts.length === 1 && typeof parts[0] !== "string";
      fields.push({ path: [...path], parts, typed: single && typedPaths.has(JSON.stringify(path)), escapes });
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, [...path, index]));
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return fields;
}

/**
 * Whether `object` opts out of substitution: true for the annotation's value `disabled`, false
 * without the annotation, and a problem for any other value (a typo must not substitute silently).
 */
export function optsOut(object: unknown): { ok: true; disabled: boolean } | { ok: false; problem: FieldProblem } {
  const metadata = isPlainObject(object) ? object["metadata"] : undefined;
  const annotations = isPlainObject(metadata) ? metadata["annotations"] : undefined;
  const value = isPlainObject(annotations) ? annotations[SUBSTITUTE_ANNOTATION] : undefined;
  if (value === undefined) return { ok: true, disabled: false };
  if (value === SUBSTITUTE_DISABLED) return { ok: true, disabled: true };
  return {
    ok: false,
    problem: {
      path: ["metadata", "annotations", SUBSTITUTE_ANNOTATION],
      message: `must be "${SUBSTITUTE_DISABLED}" (its only value) to keep the object as written; remove the annotation to substitute; got ${JSON.stringify(value)}`,
    },
  };
}

/** The variable names `fields` refer to at least once without a default, sorted and without repeats. */
export function namesWithoutDefault(fields: readonly FieldTemplate[]): string[] {
  const names = new Set<string>();
  for (const field of fields) for (const part of field.parts) if (typeof part !== "string" && part.default === undefined) names.add(part.name);
  return [...names].sort();
}

/** The variable names `fields` refer to, sorted and without repeats. */
export function referencedNames(fields: readonly FieldTemplate[]): string[] {
  const names = new Set<string>();
  for (const field of fields) for (const part of field.parts) if (typeof part !== "string") names.add(part.name);
  return [...names].sort();
}

/**
 * A copy of `object` with every template field expanded from `lookup`, or the problems of every
 * field that cannot be (an undefined variable without a default, an ambiguous label variable).
 * A typed field whose reference resolved takes the YAML type of its value. `object` itself is
 * never changed.
 */
export function substituteObject<T>(object: T, fields: readonly FieldTemplate[], lookup: VariableLookup): { ok: true; object: T } | { ok: false; problems: FieldProblem[] } {
  if (fields.length === 0) return { ok: true, object };
  const problems: FieldProblem[] = [];
  const values: unknown[] = [];
  for (const field of fields) {
    let text = "";
    let resolved = true;
    for (const part of field.parts) {
      if (typeof part === "string") {
        text += part;
        continue;
      }
      const found = lookup(part.name);
      if (found.kind === "value") text += found.value === "" && part.default !== undefined ? part.default : found.value;
      else if (part.default !== undefined && found.kind === "undefined") text += part.default;
      else if (found.kind === "unknown") {
        text += part.default === undefined ? `\${${part.name}}` : `\${${part.name}:=${part.default}}`;
        resolved = false;
      } else problems.push({ path: field.path, message: problemOf(part.name, found.kind === "ambiguous" ? found.labels : undefined) });
    }
    values.push(field.typed && resolved ? unquotedScalar(text) : text);
  }
  if (problems.length > 0) return { ok: false, problems };
  const copy = structuredClone(object);
  fields.forEach((field, index) => setAt(copy, field.path, values[index]));
  return { ok: true, object: copy };
}

function problemOf(name: string, ambiguous: readonly string[] | undefined): string {
  if (ambiguous !== undefined) {
    return `variable ${name} is ambiguous: labels ${ambiguous.join(" and ")} all map to it; rename a label or give the value as a variable`;
  }
  return (
    `variable ${name} is not defined; set it in the target's variables or on the cluster, give a default with \${${name}:=value}, ` +
    `write $\${${name}} for a literal, or annotate the object ${SUBSTITUTE_ANNOTATION}: ${SUBSTITUTE_DISABLED} to keep it as written`
  );
}

function setAt(root: unknown, path: FieldPath, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** `spec.containers[0].image`, or `metadata.annotations["example.com/x"]` for keys that need quoting. */
export function fieldPath(path: FieldPath): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}
