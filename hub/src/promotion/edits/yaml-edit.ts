// Setting or removing one value of a YAML file while keeping every other byte: the node is found
// through the parsed Document (its source ranges), the new scalar is written by the yaml
// stringifier in the old scalar's own style (plain, quoted, block), and only that span of the
// text is replaced. Comments, key order, quoting elsewhere, flow or block style and blank lines
// stay as they were. New keys and list items are added after their last sibling, in the style of
// the collection they join. Every result is parsed again and checked before it is returned.
import { Document, Scalar, YAMLMap, isMap, isScalar, isSeq, type Node, type ToStringOptions, type YAMLSeq } from "yaml";
import { formatValuePath, type PathSegment } from "../../delivery/index.js";
import { EditError } from "./edit-error.js";
import { keyText, locate, parseYamlSource, scalarValue, valueAt, walk, type Location, type YamlSource } from "./yaml-source.js";
import type { EditValue } from "./types.js";

/** `text` with the value at `path` set to `value`, or removed when `value` is undefined. */
export function setValue(file: string, text: string, path: readonly PathSegment[], value: EditValue | undefined): string {
  const source = parseYamlSource(file, text);
  const location = locate(source, path);
  let out: string;
  if (value === undefined) {
    if (location.kind === "missing") return text;
    out = removeEmptied(file, remove(source, location.steps), path.slice(0, -1));
  } else if (location.kind === "scalar") {
    out = splice(text, location.node.range?.[0] ?? 0, location.node.range?.[1] ?? 0, renderScalar(source, location, value));
  } else {
    out = insert(source, location, path, value);
  }
  const check = parseYamlSource(file, out);
  const now = valueAt(check, path);
  if (now !== value) {
    throw new EditError("not-editable", file, `${file}: setting ${formatValuePath(path)} to ${JSON.stringify(value)} gave ${JSON.stringify(now)}; the file's layout is not one edits can keep`);
  }
  return out;
}

function splice(text: string, start: number, end: number, replacement: string): string {
  return text.slice(0, start) + replacement + text.slice(end);
}

/** The new scalar's source in the old one's style; quoted where that style would read back as another type. */
function renderScalar(source: YamlSource, location: Extract<Location, { kind: "scalar" }>, value: EditValue): string {
  const node = location.node;
  const flow = location.steps.some((step) => step.container.flow === true);
  const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED";
  const scalar = new Scalar(value);
  if (node.type !== undefined && (typeof value === "string" || !block)) scalar.type = node.type;
  // Several lines where one was: double quotes keep them on the scalar's own line.
  if (typeof value === "string" && value.includes("\n") && !block) scalar.type = "QUOTE_DOUBLE";
  const start = node.range?.[0] ?? 0;
  const indent = block ? blockBodyIndent(source.text, start) : 2;
  const rendered = render(scalar, flow, indent).trimEnd();
  if (node.value === null && (node.source === "" || node.source === undefined) && node.range?.[0] === node.range?.[1]) return ` ${rendered}`;
  // A block scalar's range ends after its line break; other scalars end at their last character.
  const end = node.range?.[1] ?? 0;
  return block && source.text[end - 1] === "\n" ? `${rendered}\n` : rendered;
}

function render(scalar: Scalar, flow: boolean, indent: number): string {
  const map = new YAMLMap();
  map.flow = flow;
  map.set(new Scalar("v"), scalar);
  const doc = new Document();
  doc.contents = map;
  const text = doc.toString({ lineWidth: 0, indent, flowCollectionPadding: false });
  return flow ? text.slice("{v: ".length, text.lastIndexOf("}")) : text.slice("v: ".length);
}

/** Column of the first line of a block scalar's body, from its header at `start`. */
function blockBodyIndent(text: string, start: number): number {
  const firstLine = text.indexOf("\n", start) + 1;
  const match = /^( *)\S/m.exec(text.slice(firstLine));
  return Math.max(1, match?.[1]?.length ?? 2);
}

/** Adds what is missing of `path` (a key, a list item, nested collections) with `value` at its end. */
function insert(source: YamlSource, location: Extract<Location, { kind: "missing" }>, path: readonly PathSegment[], value: EditValue): string {
  const { text } = source;
  const rest = path.slice(location.depth);
  const style = styleOf(source);
  const container = location.container;
  if (location.empty !== undefined) {
    // `images:` with nothing after it: the new collection goes under the key.
    const built = build(source, path, location.depth, rest, value);
    const keyStart = location.steps.at(-1)?.pair?.key;
    const keyColumn = columnOf(text, (keyStart as Node | undefined)?.range?.[0] ?? 0);
    const block = blockOf(built, style, isSeq(built) && !style.indentSeq ? keyColumn : keyColumn + style.indent);
    const at = location.empty.range?.[0] ?? 0;
    return splice(text, at, at, `\n${block.trimEnd()}`);
  }
  if (container === null) {
    const built = build(source, path, 0, rest, value);
    const prefix = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return prefix + blockOf(built, style, 0);
  }
  const first = rest[0];
  let entry: unknown;
  if (isMap(container) && typeof first === "string") {
    entry = { [first]: build(source, path, location.depth + 1, rest.slice(1), value) };
  } else if (isSeq(container) && first !== undefined && typeof first === "object") {
    entry = [itemFor(source, path, location.depth, first, rest.slice(1), value)];
  } else {
    const at = formatValuePath(path.slice(0, location.depth)) || "the document";
    throw new EditError("not-editable", source.file, `${source.file}: ${formatValuePath(path)} cannot be added: ${at} has no ${typeof first === "number" ? `item [${first}]` : JSON.stringify(first)} and an edit cannot create it`);
  }
  const node = source.doc.createNode(entry) as YAMLMap | YAMLSeq;
  const newItem = node.items[0];
  const last = container.items.at(-1);
  if (isSeq(container) && isMap(newItem) && isMap(last)) imitate(newItem, last);
  if (container.flow === true) return insertFlow(source, container, node);
  return insertBlock(source, container, node, style);
}

/** A list item selected by `match`, holding the rest of the path. */
function itemFor(source: YamlSource, path: readonly PathSegment[], depth: number, select: { match: string; equals: string }, rest: readonly PathSegment[], value: EditValue): Record<string, unknown> {
  const inner = build(source, path, depth + 1, rest, value);
  if (rest.length === 0 || typeof rest[0] !== "string" || inner === null || typeof inner !== "object" || Array.isArray(inner)) {
    throw new EditError("not-editable", source.file, `${source.file}: ${formatValuePath(path)} cannot be added: a new list item needs a key after [${select.match}=${select.equals}]`);
  }
  return { [select.match]: select.equals, ...(inner as Record<string, unknown>) };
}

/** The nested value `rest` describes, ending in `value`. */
function build(source: YamlSource, path: readonly PathSegment[], depth: number, rest: readonly PathSegment[], value: EditValue): unknown {
  const [first, ...tail] = rest;
  if (first === undefined) return value;
  if (typeof first === "string") return { [first]: build(source, path, depth + 1, tail, value) };
  if (typeof first === "object") return [itemFor(source, path, depth, first, tail, value)];
  throw new EditError("not-editable", source.file, `${source.file}: ${formatValuePath(path)} cannot be added: ${formatValuePath(path.slice(0, depth))} does not exist, and an edit cannot create item [${first}] of a list`);
}

/** Gives a new list item the flow/block style and the quoting of its last sibling's same keys. */
function imitate(item: YAMLMap, sibling: YAMLMap): void {
  item.flow = sibling.flow === true;
  for (const pair of item.items) {
    const twin = sibling.items.find((p) => keyText(p.key) === keyText(pair.key));
    if (isScalar(pair.value) && isScalar(twin?.value) && typeof pair.value.value === "string" && twin.value.type !== undefined && twin.value.type.startsWith("QUOTE")) {
      pair.value.type = twin.value.type;
    }
  }
}

interface FileStyle {
  readonly indent: number;
  readonly indentSeq: boolean;
}

/** How the file indents: the step of its first nested block mapping, and whether lists are indented under their key. */
function styleOf(source: YamlSource): FileStyle {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const visit = (node: unknown, column: number): void => {
    if (!isMap(node) || node.flow === true) return;
    for (const pair of node.items) {
      const value = pair.value as Node | null;
      const start = value?.range?.[0];
      if (start === undefined || (!isMap(value) && !isSeq(value)) || value.flow === true) continue;
      const inner = columnOf(source.text, start);
      if (isMap(value)) {
        indent ??= inner > column ? inner - column : undefined;
        visit(value, inner);
      } else {
        indentSeq ??= inner > column;
        for (const item of value.items) if (isMap(item) && item.range) visit(item, columnOf(source.text, item.range[0]));
      }
    }
  };
  const root = source.doc.contents;
  if (isMap(root) && root.range) visit(root, columnOf(source.text, root.range[0]));
  return { indent: indent ?? 2, indentSeq: indentSeq ?? true };
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf("\n", offset - 1) + 1);
}

/** `value` as block YAML, every line indented by `column`. */
function blockOf(value: unknown, style: FileStyle, column: number): string {
  const doc = new Document(value);
  const options: ToStringOptions = { lineWidth: 0, indent: style.indent, indentSeq: style.indentSeq, flowCollectionPadding: true };
  const pad = " ".repeat(column);
  return doc
    .toString(options)
    .split("\n")
    .map((line) => (line === "" ? line : pad + line))
    .join("\n");
}

/** Inserts `node`'s one entry after the last entry of a block collection, at the collection's column. */
function insertBlock(source: YamlSource, container: YAMLMap | YAMLSeq, node: YAMLMap | YAMLSeq, style: FileStyle): string {
  const { text } = source;
  const firstItem = container.items[0];
  const firstStart = isSeq(container) ? container.range?.[0] : (firstItem as { key?: Node } | undefined)?.key?.range?.[0];
  const column = columnOf(text, firstStart ?? 0);
  const at = afterOwnComments(text, lineEndAfter(text, entryEnd(container.items.at(-1))), column);
  const doc = new Document(node);
  const rendered = doc.toString({ lineWidth: 0, indent: style.indent, indentSeq: style.indentSeq, flowCollectionPadding: true });
  const pad = " ".repeat(column);
  const lines = rendered.split("\n").map((line) => (line === "" ? line : pad + line)).join("\n");
  // At the end of a file without a final line break, the new entry does not add one.
  if (at === text.length && !text.endsWith("\n")) return `${text}\n${lines.replace(/\n$/, "")}`;
  return splice(text, at, at, lines);
}

/** Inserts `node`'s one entry after the last entry of a flow collection (`{ a: 1 }`, `[a, b]`). */
function insertFlow(source: YamlSource, container: YAMLMap | YAMLSeq, node: YAMLMap | YAMLSeq): string {
  const { text } = source;
  node.flow = true;
  // Pad `{ a: 1 }` like the collection's last flow entry does, else like the collection itself.
  const last = container.items.at(-1);
  const lastNode = isPairLike(last) ? last.value : last;
  const sample = (isMap(lastNode) || isSeq(lastNode)) && lastNode.flow === true ? lastNode : container;
  const padded = /^[[{] /.test(text.slice(sample.range?.[0] ?? 0));
  const doc = new Document(node);
  const rendered = doc.toString({ lineWidth: 0, flowCollectionPadding: padded }).trim();
  const inner = rendered.slice(1, -1).trim();
  if (last === undefined) {
    const open = container.range?.[0] ?? 0;
    return splice(text, open + 1, open + 1, padded ? ` ${inner} ` : inner);
  }
  const at = entryEnd(last, true);
  return splice(text, at, at, `, ${inner}`);
}

/** Where an entry (a pair or a list item) ends: with its trailing comment, or (`valueOnly`) at its value's last character. */
function entryEnd(entry: unknown, valueOnly = false): number {
  const node = (isPairLike(entry) ? (entry.value ?? entry.key) : entry) as Node | null | undefined;
  const range = node?.range;
  if (range === undefined || range === null) return 0;
  return valueOnly || isMap(node) || isSeq(node) ? range[1] : range[2];
}

function isPairLike(entry: unknown): entry is { key: unknown; value: unknown } {
  return typeof entry === "object" && entry !== null && "key" in entry && "value" in entry;
}

/** The offset just after the line break that ends the line `offset` is on (or the end of the text). */
function lineEndAfter(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === "\n") return offset;
  const next = text.indexOf("\n", offset);
  return next === -1 ? text.length : next + 1;
}

/** Past the comment lines after `offset` indented deeper than `column`: they belong to the entry above. */
function afterOwnComments(text: string, offset: number, column: number): number {
  let at = offset;
  for (;;) {
    const match = /^( *)#[^\n]*(\n|$)/.exec(text.slice(at));
    if (match === null || (match[1]?.length ?? 0) <= column || match[0] === "") return at;
    at += match[0].length;
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Removes the entry the last step names: a pair of a mapping or an item of a list. */
function remove(source: YamlSource, steps: Location["steps"]): string {
  const step = steps.at(-1);
  if (step === undefined) return source.text;
  const { text } = source;
  const { container } = step;
  const items = container.items as unknown[];
  const index = step.pair !== undefined ? items.indexOf(step.pair) : (step.index ?? -1);
  const entry = items[index];
  const start = entryStart(entry);
  if (container.flow === true) {
    if (index > 0) return splice(text, entryEnd(items[index - 1], true), entryEnd(entry, true), "");
    const next = items[index + 1];
    return splice(text, start, next === undefined ? entryEnd(entry, true) : entryStart(next), "");
  }
  const lineHead = text.slice(lineStart(text, start), start);
  if (/^ *$/.test(lineHead) || (isSeq(container) && /^ *- *$/.test(lineHead))) {
    return splice(text, lineStart(text, start), lineEndAfter(text, entryEnd(entry)), "");
  }
  // The first key of a list item, on the "- " line: the next key moves up to take its place.
  const next = items[index + 1];
  if (next !== undefined) return splice(text, start, entryStart(next), "");
  throw new EditError("not-editable", source.file, `${source.file}: the entry at line ${text.slice(0, start).split("\n").length} cannot be removed without rewriting its line`);
}

function entryStart(entry: unknown): number {
  const node = (isPairLike(entry) ? entry.key : entry) as Node | null | undefined;
  return node?.range?.[0] ?? 0;
}

/**
 * After a removal, removes what it left empty on the way up `parent`: a list item that only has
 * the key it was selected by, an empty mapping, an empty list. The document itself stays.
 */
function removeEmptied(file: string, text: string, parent: readonly PathSegment[]): string {
  let out = text;
  for (let depth = parent.length; depth > 0; depth -= 1) {
    const path = parent.slice(0, depth);
    const source = parseYamlSource(file, out);
    const node = nodeAt(source, path);
    const last = path.at(-1);
    const selectedBy = typeof last === "object" ? last.match : undefined;
    const emptied =
      (isMap(node) && (node.items.length === 0 || (selectedBy !== undefined && node.items.length === 1 && keyText(node.items[0]?.key) === selectedBy))) ||
      (isSeq(node) && node.items.length === 0) ||
      (isScalar(node) && node.value === null && scalarValue(node) === null && typeof last === "string");
    if (!emptied) break;
    const location = locateParent(source, path);
    if (location === undefined) break;
    out = remove(source, location);
  }
  return out;
}

function nodeAt(source: YamlSource, path: readonly PathSegment[]): unknown {
  const reached = walk(source, path);
  return reached.depth === path.length ? reached.node : undefined;
}

/** The walk steps to the entry at `path` (whatever its value), or undefined when it is not there. */
function locateParent(source: YamlSource, path: readonly PathSegment[]): Location["steps"] | undefined {
  const reached = walk(source, path);
  return reached.depth === path.length ? reached.steps : undefined;
}
