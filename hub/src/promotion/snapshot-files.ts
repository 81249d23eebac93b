// Snapshot files (repository-relative path → bytes) with a promotion's changes laid over them,
// and the unified diffs of those changes.
import type { EditEngine } from "./contracts.js";

/** A unified diff of one file. */
export interface FileDiff {
  file: string;
  diff: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A file's text, or undefined when it does not exist. */
export function textOf(files: ReadonlyMap<string, Uint8Array>, file: string): string | undefined {
  const bytes = files.get(file);
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** `files` with `changed` laid over them (null deletes). */
export function applyChanged(files: ReadonlyMap<string, Uint8Array>, changed: ReadonlyMap<string, string | null>): Map<string, Uint8Array> {
  const after = new Map(files);
  for (const [file, text] of changed) {
    if (text === null) after.delete(file);
    else after.set(file, encoder.encode(text));
  }
  return after;
}

/** The unified diff of each changed file, in path order. */
export function diffOf(engine: Pick<EditEngine, "unifiedDiff">, files: ReadonlyMap<string, Uint8Array>, changed: ReadonlyMap<string, string | null>): FileDiff[] {
  return [...changed.keys()].sort().map((file) => ({ file, diff: engine.unifiedDiff(file, textOf(files, file), changed.get(file) ?? undefined) }));
}
