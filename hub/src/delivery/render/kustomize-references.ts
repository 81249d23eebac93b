// Every path or URL one kustomization file, or one generator/transformer/validator config, makes
// kustomize read, with the line and field it is written at. Pure. kustomize loads `files:` of a
// ConfigMapGenerator over HTTP when they are URLs, also from loopback (Go's proxy settings never
// apply there), so nothing that kustomize may read is left unread here: kustomization fields,
// inline plugin configs, and the plugin config files they name. Plugin configs are also scanned
// whole: a URL anywhere in one is refused, not only in the fields known to load files.
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, type Document, type Node } from "yaml";
import { KustomizeError } from "./kustomize-error.js";

/** One path or URL a kustomization or a plugin config names. */
export interface Reference {
  readonly value: string;
  /** The field, e.g. `configMapGenerator[0].files[1]` or `generators[0] ConfigMapGenerator.files[0]`. */
  readonly field: string;
  /** 1-based line in the file that holds it. */
  readonly line: number;
  /** True when the field takes kustomization folders as well as files. */
  readonly folder: boolean;
  /** True when what it names is read as plugin configs (generators, transformers, validators). */
  readonly plugin: boolean;
}

/** Where references are read from, for messages: the overlay being rendered and how to name the file. */
export interface ReferenceSource {
  readonly overlay: string;
  /** Repository-relative path of the file. */
  readonly file: string;
  /** How messages name the file (the overlay's own, or `overlay: base/kustomization.yaml`). */
  readonly at: string;
}

/** Fields that take a file or a kustomization folder per entry; the last three take plugin configs. */
const FOLDER_LISTS = ["resources", "bases", "components"];
const PLUGIN_LISTS = ["generators", "transformers", "validators"];
/** Fields that take one file per entry (strategic-merge patches may also be inline). */
const FILE_LISTS = ["crds", "configurations", "patchesStrategicMerge"];
/** Fields whose entries are objects with an optional `path` to a file. */
const PATH_OBJECT_LISTS = ["patches", "patchesJson6902", "replacements"];
const HELM_FIELDS = ["helmCharts", "helmChartInflationGenerator", "helmGlobals"];
/** Builtin plugin kinds that run Helm, which the hub never does. */
const HELM_KINDS = new Set(["HelmChartInflationGenerator"]);

/**
 * The references of a kustomization file. `strict` (a kustomization reached as a plugin config
 * folder, whose output configs kustomize runs) also refuses a URL in any other string of it.
 */
export function kustomizationReferences(source: ReferenceSource, bytes: Uint8Array, strict: boolean): Reference[] {
  const lines = new LineCounter();
  const doc = parseDocument(new TextDecoder().decode(bytes), { version: "1.1", lineCounter: lines, prettyErrors: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    const line = error.linePos?.[0].line;
    throw new KustomizeError("kustomization-invalid", source.overlay, `${source.at}${line === undefined ? "" : `:${line}`}: invalid YAML: ${firstLine(error.message)}`, {
      file: source.file,
      cause: error,
    });
  }
  if (doc.contents === null) return [];
  const root = doc.contents;
  if (!isMap(root)) {
    throw new KustomizeError("kustomization-invalid", source.overlay, `${source.at}: a kustomization must be a YAML mapping`, { file: source.file });
  }
  const lineOf = (node: unknown): number => (isNode(node) && node.range ? lines.linePos(node.range[0]).line : 1);
  for (const field of HELM_FIELDS) {
    const node = root.get(field, true) as Node | undefined;
    if (node !== undefined && !(isScalar(node) && node.value === null)) {
      throw helmRefused(source, lineOf(node), field);
    }
  }
  const refs: Reference[] = [];
  const add = (node: unknown, field: string, folder: boolean, plugin = false): void => {
    const value = scalarText(node);
    // Multi-line entries are inline YAML (patches, plugin configs), not paths.
    if (value !== undefined && value !== "" && !value.includes("\n")) refs.push({ value, field, line: lineOf(node), folder, plugin });
  };
  const list = (field: string): unknown[] => {
    const node = root.get(field, true);
    return isSeq(node) ? node.items : [];
  };
  for (const field of FOLDER_LISTS) list(field).forEach((v, i) => add(v, `${field}[${i}]`, true));
  for (const field of PLUGIN_LISTS) {
    list(field).forEach((entry, i) => {
      const text = scalarText(entry);
      if (text !== undefined && text.includes("\n")) {
        // An inline config: kustomize reads it as plugin configs, like a file of them.
        const offset = isScalar(entry) && (entry.type === "BLOCK_LITERAL" || entry.type === "BLOCK_FOLDED") ? lineOf(entry) : lineOf(entry) - 1;
        refs.push(...pluginConfigReferences(source, text, { field: `${field}[${i}]`, lineOffset: offset }));
      } else if (isMap(entry)) {
        refs.push(...pluginConfigNodeReferences(source, entry, { field: `${field}[${i}]`, lineOf }));
      } else {
        add(entry, `${field}[${i}]`, true, true);
      }
    });
  }
  for (const field of FILE_LISTS) list(field).forEach((v, i) => add(v, `${field}[${i}]`, false));
  for (const field of PATH_OBJECT_LISTS) list(field).forEach((v, i) => add(property(v, "path"), `${field}[${i}].path`, false));
  for (const field of ["configMapGenerator", "secretGenerator"]) {
    list(field).forEach((generator, i) => refs.push(...generatorReferences(generator, `${field}[${i}]`, lineOf)));
  }
  add(property(root.get("openapi", true), "path"), "openapi.path", false);
  if (strict) refs.push(...urlsAnywhere(root, "", lineOf));
  return refs;
}

/** Options of {@link pluginConfigReferences}. */
export interface PluginConfigPlace {
  /** The kustomization field that named the configs, for messages; "" for a config file. */
  readonly field: string;
  /** Added to line numbers inside the text (an inline config starts below its field). */
  readonly lineOffset: number;
}

/**
 * The references of plugin configs (a file listed under generators, transformers or validators,
 * or an inline entry there): the files builtin generators and transformers read, plus every
 * URL written anywhere in them. Helm's generator is refused.
 */
export function pluginConfigReferences(source: ReferenceSource, text: string, place: PluginConfigPlace): Reference[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { version: "1.1", lineCounter: lines, prettyErrors: true });
  // Not YAML: kustomize refuses it in its own words; there is nothing it could load.
  if (!Array.isArray(docs)) return [];
  const lineOf = (node: unknown): number => place.lineOffset + (isNode(node) && node.range ? lines.linePos(node.range[0]).line : 1);
  const refs: Reference[] = [];
  for (const doc of docs as Document[]) {
    if (doc.errors.length > 0) continue;
    if (isMap(doc.contents)) refs.push(...pluginConfigNodeReferences(source, doc.contents, { field: place.field, lineOf }));
    else if (doc.contents !== null) refs.push(...urlsAnywhere(doc.contents, place.field, lineOf));
  }
  return refs;
}

function pluginConfigNodeReferences(source: ReferenceSource, config: Node, place: { field: string; lineOf: (node: unknown) => number }): Reference[] {
  const { lineOf } = place;
  const kind = scalarText(property(config, "kind")) ?? "";
  const prefix = `${place.field === "" ? "" : `${place.field} `}${kind === "" ? "config" : kind}`;
  if (HELM_KINDS.has(kind)) throw helmRefused(source, lineOf(property(config, "kind")), prefix);
  const refs: Reference[] = [...generatorReferences(config, prefix, lineOf)];
  const add = (node: unknown, field: string): void => {
    const value = scalarText(node);
    if (value !== undefined && value !== "" && !value.includes("\n")) refs.push({ value, field, line: lineOf(node), folder: false, plugin: false });
  };
  add(property(config, "path"), `${prefix}.path`);
  const paths = property(config, "paths");
  if (isSeq(paths)) paths.items.forEach((v, i) => add(v, `${prefix}.paths[${i}]`));
  const replacements = property(config, "replacements");
  if (isSeq(replacements)) replacements.items.forEach((v, i) => add(property(v, "path"), `${prefix}.replacements[${i}].path`));
  refs.push(...urlsAnywhere(config, prefix, lineOf));
  return refs;
}

/** `files`, `envs` and `env` of a ConfigMapGenerator or SecretGenerator entry. */
function generatorReferences(generator: unknown, field: string, lineOf: (node: unknown) => number): Reference[] {
  const refs: Reference[] = [];
  const add = (node: unknown, at: string, value = scalarText(node)): void => {
    if (value !== undefined && value !== "" && !value.includes("\n")) refs.push({ value, field: at, line: lineOf(node), folder: false, plugin: false });
  };
  const files = property(generator, "files");
  if (isSeq(files)) {
    files.items.forEach((v, j) => {
      const text = scalarText(v);
      // `key=path` or `path`; a whole entry that is remote is refused too, so `http://h/a=b` cannot pass as `b`.
      if (text?.includes("=") === true) {
        if (isRemote(text)) add(v, `${field}.files[${j}]`);
        add(v, `${field}.files[${j}]`, text.slice(text.indexOf("=") + 1));
      } else {
        add(v, `${field}.files[${j}]`);
      }
    });
  }
  const envs = property(generator, "envs");
  if (isSeq(envs)) envs.items.forEach((v, j) => add(v, `${field}.envs[${j}]`));
  add(property(generator, "env"), `${field}.env`);
  return refs;
}

/**
 * Every string under `node` that names something remote, as a reference that the walk refuses.
 * Label and annotation values are data, not something kustomize loads, and are left alone.
 */
function urlsAnywhere(node: unknown, field: string, lineOf: (node: unknown) => number): Reference[] {
  const refs: Reference[] = [];
  const visit = (n: unknown, at: string): void => {
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = scalarText(pair.key) ?? "";
        if (key === "labels" || key === "annotations" || key === "commonLabels" || key === "commonAnnotations") continue;
        visit(pair.value, at === "" ? key : `${at}.${key}`);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => visit(item, `${at}[${i}]`));
    } else {
      const text = scalarText(n);
      if (text === undefined) return;
      for (const candidate of text.split(/[\s=,]+/)) {
        if (isRemote(candidate)) refs.push({ value: candidate, field: at, line: lineOf(n), folder: false, plugin: false });
      }
    }
  };
  visit(node, field);
  return refs;
}

/**
 * True for what kustomize would fetch: URLs with a scheme (https://, ssh://, file://), go-getter's
 * `git::`, SCP-like `user@host:path`, and GitHub shorthands. Local paths never match.
 */
export function isRemote(value: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ||
    /^git::/i.test(value) ||
    /^gh:/i.test(value) ||
    /^[^/:@\s]+@[^/:\s]+:/.test(value) ||
    /^(?:www\.)?github\.com[/:]/i.test(value)
  );
}

function helmRefused(source: ReferenceSource, line: number, field: string): KustomizeError {
  return new KustomizeError(
    "helm-refused",
    source.overlay,
    `${source.at}:${line}: ${field}: Helm charts are not rendered by the hub; render the chart into the repository (helm template) and list the output under resources`,
    { file: source.file },
  );
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && "range" in value;
}

/** The text of a scalar node (numbers and booleans as written), else undefined. */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (typeof value === "string") return value;
  return typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
}

function property(node: unknown, key: string): unknown {
  return isMap(node) ? node.get(key, true) : undefined;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}
