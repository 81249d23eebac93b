// Reads typed fields out of a YAML syntax tree and records every problem with its line and field
// path, so a config file reports all of its mistakes at once and says where each one is.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import type { FleetFileIssue } from "../errors.js";

/** A field of a mapping: the key node (for "unknown field" positions) and the value node. */
export interface Field {
  readonly key: Node;
  readonly value: Node | null;
  /** Dotted path of the field, e.g. `bundles[0].name` or `matchLabels["gitfleet.dev/region"]`. */
  readonly path: string;
  /** The key. */
  readonly name: string;
}

/** Collects issues while reading one YAML document; see {@link YamlFields.issues}. */
export class YamlFields {
  /** Every problem found so far, in the order found. */
  readonly issues: FleetFileIssue[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Records a problem at `node` (or line 0 when there is none). */
  add(node: Node | null | undefined, field: string, message: string): void {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? { line: 0, col: 0 } : this.lines.linePos(offset);
    this.issues.push({ line: pos.line, column: pos.col, field, message });
  }

  /** How many issues were recorded; compare before and after reading a part. */
  get count(): number {
    return this.issues.length;
  }

  /** Follows an alias to the node it names; other nodes come back unchanged. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }

  /** 1-based line of `node`, or 0 when it has no position. */
  line(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 0 : this.lines.linePos(offset).line;
  }

  /**
   * Every field of a mapping, in order. Records an issue and returns undefined when `node` is not
   * a mapping; records (and skips) keys that are not strings.
   */
  entries(node: Node | null, path: string, what = "a mapping"): Field[] | undefined {
    if (!isMap(node)) {
      this.add(node, path, `must be ${what}${describeFound(node)}`);
      return undefined;
    }
    const out: Field[] = [];
    for (const pair of node.items) {
      const key = this.resolve(pair.key);
      const keyNode = key ?? node;
      if (!isScalar(key) || typeof key.value !== "string") {
        this.add(keyNode, path, "keys must be strings");
        continue;
      }
      out.push({ key: keyNode, value: this.resolve(pair.value), path: childPath(path, key.value), name: key.value });
    }
    return out;
  }

  /**
   * Reads a mapping's fields by name, like {@link entries}, and records an "unknown field" issue
   * for each key not in `allowed` (typos must not pass silently). A key of `retired` (a field
   * that no longer exists) gets the message given for it instead.
   */
  fields(node: Node | null, path: string, allowed: readonly string[], what = "a mapping", retired: Readonly<Record<string, string>> = {}): Map<string, Field> | undefined {
    const entries = this.entries(node, path, what);
    if (entries === undefined) return undefined;
    const out = new Map<string, Field>();
    for (const field of entries) {
      if (allowed.includes(field.name)) out.set(field.name, field);
      else if (Object.hasOwn(retired, field.name)) this.add(field.key, field.path, retired[field.name] ?? "");
      else this.add(field.key, field.path, `unknown field; expected one of ${allowed.join(", ")}`);
    }
    return out;
  }

  /** The items of a sequence field, or undefined (with an issue) when it is not one. */
  list(field: Field): Array<{ node: Node | null; path: string }> | undefined {
    if (!isSeq(field.value)) {
      this.add(field.value ?? field.key, field.path, `must be a list${describeFound(field.value)}`);
      return undefined;
    }
    return field.value.items.map((item, index) => ({ node: this.resolve(item), path: `${field.path}[${index}]` }));
  }

  /** A string value, or undefined (with an issue) when the value is missing or of another type. */
  string(field: Field): string | undefined {
    return this.stringAt(field.value ?? field.key, field.value, field.path);
  }

  /** Like {@link string} for a node that is not a named field (a list item, a map value). */
  stringAt(where: Node, node: Node | null, path: string): string | undefined {
    if (isScalar(node) && typeof node.value === "string") return node.value;
    if (isScalar(node) && (node.value === null || node.value === undefined)) {
      this.add(where, path, "must not be empty");
    } else if (isScalar(node)) {
      this.add(where, path, `must be a string; got ${typeof node.value} ${String(node.value)} (quote it)`);
    } else {
      this.add(where, path, `must be a string${describeFound(node)}`);
    }
    return undefined;
  }

  /** A boolean value, or undefined (with an issue) when it is of another type. */
  boolean(field: Field): boolean | undefined {
    const node = field.value;
    if (isScalar(node) && typeof node.value === "boolean") return node.value;
    this.add(node ?? field.key, field.path, `must be true or false${describeFound(node)}`);
    return undefined;
  }

  /** Records a "required" issue at `where` unless `fields` has `name`. */
  require(fields: Map<string, Field>, name: string, where: Node | null, path: string, hint: string): Field | undefined {
    const field = fields.get(name);
    if (field === undefined) this.add(where, childPath(path, name), `is required (${hint})`);
    return field;
  }
}

/** The first line of a yaml package error, without the position it appends (callers report it apart). */
export function yamlErrorText(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

/** `parent.name`, or `parent["name"]` when the name is not a plain identifier. */
function childPath(parent: string, name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return parent === "" ? name : `${parent}.${name}`;
  return `${parent}[${JSON.stringify(name)}]`;
}

/** ", got a list" and the like, to tell the user what the parser saw instead. */
function describeFound(node: Node | null): string {
  if (node === null) return "; got nothing";
  if (isMap(node)) return "; got a mapping";
  if (isSeq(node)) return "; got a list";
  if (isScalar(node)) return node.value === null ? "; got nothing" : `; got ${typeof node.value} ${JSON.stringify(node.value)}`;
  return "";
}
