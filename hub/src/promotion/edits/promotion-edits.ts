// The edits that make one stage carry another stage's promotable values: for each image, field
// and file the receiving stage takes, the value it has now (before) and the one it gets (after).
import { kustomizationIn, type PathSegment, type PipelineSpec, type PipelineStageSpec } from "../../delivery/index.js";
import { EditError } from "./edit-error.js";
import { IMAGE_KEYS, imageEntry, inOverlay, pathOf, readText, readYaml, stageIndex } from "./stage-values.js";
import { valueAt } from "./yaml-source.js";
import type { Edit } from "./types.js";

/**
 * The edits that make stage `to` carry stage `from`'s values of what `to` receives (its
 * `promote`); [] when nothing differs. Throws {@link EditError} when `from` lacks a value
 * (naming the file and field) or `to` lacks a file a field is in.
 */
export function promotionEdits(input: { pipeline: PipelineSpec; from: string; to: string; files: ReadonlyMap<string, Uint8Array> }): Edit[] {
  const { pipeline, files } = input;
  const from = pipeline.stages[stageIndex(pipeline, input.from)] as PipelineStageSpec;
  const to = pipeline.stages[stageIndex(pipeline, input.to)] as PipelineStageSpec;
  return [...imageEdits(files, from, to), ...fieldEdits(files, from, to), ...fileEdits(files, from, to)];
}

function imageEdits(files: ReadonlyMap<string, Uint8Array>, from: PipelineStageSpec, to: PipelineStageSpec): Edit[] {
  if (to.promote.images.length === 0) return [];
  const source = kustomizationIn(files, from.overlay);
  if (source === undefined) {
    throw new EditError("source-missing", inOverlay(from.overlay, "kustomization.yaml"), `stage ${from.name} has no kustomization.yaml in ${from.overlay || "."}, so its images (${to.promote.images.join(", ")}) cannot be read`);
  }
  const target = kustomizationIn(files, to.overlay);
  if (target === undefined) {
    throw new EditError("target-missing", inOverlay(to.overlay, "kustomization.yaml"), `stage ${to.name} has no kustomization.yaml in ${to.overlay || "."} to write images into`);
  }
  const wholeFile = to.promote.files.map((file) => inOverlay(to.overlay, file)).find((file) => file === target);
  if (wholeFile !== undefined) {
    throw new EditError("not-editable", target, `${target} is promoted whole, so images (${to.promote.images.join(", ")}) cannot be promoted into it too; promote one or the other`);
  }
  const sourceYaml = readYaml(files, source);
  const targetYaml = readYaml(files, target);
  const edits: Edit[] = [];
  for (const name of to.promote.images) {
    const have = imageEntry(sourceYaml, name);
    if (have === undefined || IMAGE_KEYS.every((key) => have[key] === undefined)) {
      const why = have === undefined ? `has no images entry named ${name}` : `has an images entry for ${name} without newName, newTag or digest`;
      throw new EditError("source-missing", source, `${source}: field images[${name}] is missing: stage ${from.name} ${why}, so there is nothing of it to promote`);
    }
    const now = imageEntry(targetYaml, name) ?? {};
    for (const key of IMAGE_KEYS) {
      if (have[key] === now[key]) continue;
      const path: PathSegment[] = ["images", { match: "name", equals: name }, key];
      edits.push({ kind: "value", file: target, path, display: `images[${name}].${key}`, before: now[key], after: have[key] });
    }
  }
  return edits;
}

function fieldEdits(files: ReadonlyMap<string, Uint8Array>, from: PipelineStageSpec, to: PipelineStageSpec): Edit[] {
  const edits: Edit[] = [];
  for (const field of to.promote.fields) {
    const path = pathOf(field.path);
    const source = inOverlay(from.overlay, field.file);
    if (!files.has(source)) throw new EditError("source-missing", source, `${source} does not exist, so stage ${from.name} has no ${field.path} to promote`);
    const after = valueAt(readYaml(files, source), path);
    if (after === undefined) throw new EditError("source-missing", source, `${source}: field ${field.path} is missing, so stage ${from.name} has no value of it to promote`);
    const target = inOverlay(to.overlay, field.file);
    if (!files.has(target)) throw new EditError("target-missing", target, `${target} does not exist, so stage ${to.name} has nowhere to write ${field.path}; create the file first`);
    const before = valueAt(readYaml(files, target), path);
    if (before !== after) edits.push({ kind: "value", file: target, path, display: field.path, before, after });
  }
  return edits;
}

function fileEdits(files: ReadonlyMap<string, Uint8Array>, from: PipelineStageSpec, to: PipelineStageSpec): Edit[] {
  const edits: Edit[] = [];
  for (const name of to.promote.files) {
    const source = inOverlay(from.overlay, name);
    const after = readText(files, source);
    if (after === undefined) throw new EditError("source-missing", source, `${source} does not exist, so stage ${from.name} has no ${name} to promote`);
    const target = inOverlay(to.overlay, name);
    const before = readText(files, target);
    if (before !== after) edits.push({ kind: "file", file: target, before, after });
  }
  return edits;
}
