// Per-cluster variable substitution after rendering, in the style of Flux's post-build
// substitution, but on the rendered objects rather than on their text: only string values are
// substituted (keys never), so a value can never change the shape of an object. Forms:
//   ${name}            the variable's value; an error when it is not defined
//   ${name:=default}   the value, or `default` when the variable is undefined or empty (as in the shell)
//   $${name}           the literal text ${name}
// A `$` not followed by `{` is literal. Defaults are literal text up to the first `}`; nothing is
// substituted twice. Pure.
import { VARIABLE_NAME, type VariableLookup } from "../fleet/index.js";

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
  readonly path: readonly (string | number)[];
  readonly parts: readonly TemplatePart[];
}

/** A problem with one field of one object: a malformed or undefined reference. */
export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What {@link findTemplates} found in one value. */
export interface Templates {
  readonly fields: readonly FieldTemplate[];
  /** Malformed references; such an object can be rendered for no cluster. */
  readonly problems: readonly FieldProblem[];
}

const LITERAL_HINT = "write $${ for a literal ${";

/**
 * Splits `text` into literal parts and references. Returns a problem for `${` without a closing
 * `}` and for `${...}` whose name is not a variable name.
 */
export function parseTemplate(text: string): { ok: true; parts: TemplatePart[] } | { ok: false; problem: string } {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("$", i);
    if (at < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, at);
    if (text.startsWith("$${", at)) {
      literal += "${";
      i = at + 3;
      continue;
    }
    if (!text.startsWith("${", at)) {
      literal += "$";
      i = at + 1;
      continue;
    }
    const close = text.indexOf("}", at + 2);
    if (close < 0) return { ok: false, problem: `"${excerpt(text.slice(at))}" has no closing "}"; ${LITERAL_HINT}` };
    const body = text.slice(at + 2, close);
    const split = body.indexOf(":=");
    const name = split < 0 ? body : body.slice(0, split);
    if (!VARIABLE_NAME.test(name)) {
      return { ok: false, problem: `"\${${excerpt(body)}}" is not a variable reference (\${name} or \${name:=default}); ${LITERAL_HINT}` };
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push({ name, default: split < 0 ? undefined : body.slice(split + 2) });
    i = close + 1;
  }
  if (literal !== "" || parts.length === 0) parts.push(literal);
  return { ok: true, parts };
}

function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Finds every string value under `value` that holds `${` (a reference or an escape). */
export function findTemplates(value: unknown): Templates {
  const fields: FieldTemplate[] = [];
  const problems: FieldProblem[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (typeof node === "string") {
      if (!node.includes("${")) return;
      const parsed = parseTemplate(node);
      if (parsed.ok) fields.push({ path: [...path], parts: parsed.parts });
      else problems.push({ path: [...path], message: parsed.problem });
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, [...path, index]));
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return { fields, problems };
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
 * `object` itself is never changed.
 */
export function substituteObject<T>(object: T, fields: readonly FieldTemplate[], lookup: VariableLookup): { ok: true; object: T } | { ok: false; problems: FieldProblem[] } {
  if (fields.length === 0) return { ok: true, object };
  const problems: FieldProblem[] = [];
  const values: string[] = [];
  for (const field of fields) {
    let text = "";
    for (const part of field.parts) {
      if (typeof part === "string") {
        text += part;
        continue;
      }
      const found = lookup(part.name);
      if (found.kind === "value") text += found.value === "" && part.default !== undefined ? part.default : found.value;
      else if (found.kind === "unknown") text += part.default === undefined ? `\${${part.name}}` : `\${${part.name}:=${part.default}}`;
      else if (part.default !== undefined && found.kind === "undefined") text += part.default;
      else problems.push({ path: field.path, message: problemOf(part.name, found.kind === "ambiguous" ? found.labels : undefined) });
    }
    values.push(text);
  }
  if (problems.length > 0) return { ok: false, problems };
  const copy = structuredClone(object);
  fields.forEach((field, index) => setAt(copy, field.path, values[index] ?? ""));
  return { ok: true, object: copy };
}

function problemOf(name: string, ambiguous: readonly string[] | undefined): string {
  if (ambiguous !== undefined) {
    return `variable ${name} is ambiguous: labels ${ambiguous.join(" and ")} all map to it; rename a label or give the value as a variable`;
  }
  return `variable ${name} is not defined; set it in the target's variables or on the cluster, give a default with \${${name}:=value}, or write $\${${name}} for a literal`;
}

function setAt(root: unknown, path: readonly (string | number)[], value: string): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** `spec.containers[0].image`, or `metadata.annotations["example.com/x"]` for keys that need quoting. */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}
