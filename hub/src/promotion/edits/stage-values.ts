// What a stage of a pipeline carries: for each promotable image, field and file of the stage, the
// value its overlay holds in a snapshot of the repository.
import { createHash } from "node:crypto";
import { isMap } from "yaml";
import { HubError } from "../../errors.js";
import { kustomizationIn, parseValuePath, type PathSegment, type PipelineSpec, type PipelineStageSpec, type PromotableSpec } from "../../delivery/index.js";
import { EditError } from "./edit-error.js";
import { parseYamlSource, valueAt, walk, type YamlSource } from "./yaml-source.js";
import type { EditValue, PromotedValue } from "./types.js";

/** The keys of a kustomize images entry that a promotion moves, in the order they are written. */
export const IMAGE_KEYS = ["newName", "newTag", "digest"] as const;

/** One kustomize images entry's promotable keys; absent keys are undefined. */
export type ImageEntry = Partial<Record<(typeof IMAGE_KEYS)[number], EditValue>>;

/** The values `stage` of `pipeline` carries in `files`: what it receives and what it passes on. */
export function stageValues(input: { pipeline: PipelineSpec; stage: string; files: ReadonlyMap<string, Uint8Array> }): PromotedValue[] {
  const { pipeline, files } = input;
  const index = stageIndex(pipeline, input.stage);
  const stage = pipeline.stages[index] as PipelineStageSpec;
  const promote = merged(stage.promote, pipeline.stages[index + 1]?.promote);
  const values: PromotedValue[] = [];
  const kustomization = kustomizationIn(files, stage.overlay);
  for (const name of promote.images) {
    const entry = kustomization === undefined ? undefined : imageEntry(readYaml(files, kustomization), name);
    values.push({ kind: "image", file: kustomization ?? inOverlay(stage.overlay, "kustomization.yaml"), key: name, value: entry && imageReference(name, entry) });
  }
  for (const field of promote.fields) {
    const file = inOverlay(stage.overlay, field.file);
    const value = files.has(file) ? valueAt(readYaml(files, file), pathOf(field.path)) : undefined;
    values.push({ kind: "field", file, key: field.path, value: value === undefined ? undefined : String(value) });
  }
  for (const name of promote.files) {
    const file = inOverlay(stage.overlay, name);
    const bytes = files.get(file);
    values.push({ kind: "file", file, key: "", value: bytes && createHash("sha256").update(bytes).digest("hex") });
  }
  return values;
}

/** The position of `stage` in the pipeline; throws HubError not-found naming the stages there are. */
export function stageIndex(pipeline: PipelineSpec, stage: string): number {
  const index = pipeline.stages.findIndex((s) => s.name === stage);
  if (index < 0) throw new HubError("not-found", `pipeline ${pipeline.name} has no stage ${stage}; its stages: ${pipeline.stages.map((s) => s.name).join(", ")}`);
  return index;
}

/** The images entry named `name`, or undefined when there is none. */
export function imageEntry(source: YamlSource, name: string): ImageEntry | undefined {
  const reached = walk(source, ["images", { match: "name", equals: name }]);
  if (reached.depth < 2 || !isMap(reached.node)) return undefined;
  const entry: ImageEntry = {};
  for (const key of IMAGE_KEYS) {
    const value = valueAt(source, ["images", { match: "name", equals: name }, key]);
    if (value !== undefined) entry[key] = value;
  }
  return entry;
}

/** `newName:newTag@digest` as the entry makes kustomize write the image (the name stands in for a missing newName). */
export function imageReference(name: string, entry: ImageEntry): string {
  const text = (value: EditValue | undefined): string | undefined => (value === undefined || value === null ? undefined : String(value));
  const tag = text(entry.newTag);
  const digest = text(entry.digest);
  return `${text(entry.newName) ?? name}${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
}

/** A file of the snapshot parsed as one YAML document; throws {@link EditError} for text that is not. */
export function readYaml(files: ReadonlyMap<string, Uint8Array>, file: string): YamlSource {
  const text = readText(files, file);
  if (text === undefined) throw new EditError("target-missing", file, `${file} does not exist`);
  return parseYamlSource(file, text);
}

/** A file's content as UTF-8 text, undefined when absent; throws {@link EditError} for binary content. */
export function readText(files: ReadonlyMap<string, Uint8Array>, file: string): string | undefined {
  const bytes = files.get(file);
  if (bytes === undefined) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    throw new EditError("not-editable", file, `${file} is not UTF-8 text; promotion edits only text files`, { cause: err });
  }
}

/** A path of fleet.yaml's promote.fields, already validated there. */
export function pathOf(text: string): PathSegment[] {
  const parsed = parseValuePath(text);
  if ("problem" in parsed) throw new HubError("invalid-argument", `field path ${JSON.stringify(text)} ${parsed.problem}`);
  return parsed.segments;
}

/** `file` (relative to the overlay) as a repository path. */
export function inOverlay(overlay: string, file: string): string {
  return overlay === "" ? file : `${overlay}/${file}`;
}

function merged(a: PromotableSpec, b: PromotableSpec | undefined): PromotableSpec {
  if (b === undefined) return a;
  const images = [...new Set([...a.images, ...b.images])];
  const fields = [...a.fields];
  for (const field of b.fields) if (!fields.some((f) => f.file === field.file && f.path === field.path)) fields.push(field);
  const files = [...new Set([...a.files, ...b.files])];
  return { images, fields, files };
}
