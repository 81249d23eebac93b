// The seam between resolving and rendering: the resolver asks an OverlayRenderer for the objects
// of one overlay folder of one commit; a renderer also says which files it read, so the next
// commit renders the overlay again only when one of them changed. Types and folder conventions
// only, so every renderer can depend on this file without depending on each other.
import type { Snapshot } from "../snapshot.js";
import type { FieldPath, KubeObject } from "./manifests.js";

/** The file names kustomize accepts for a kustomization, in the order it looks for them. */
export const KUSTOMIZATION_FILE_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

/** The input entry that stands for every file under `dir` (see RenderedOverlay.inputs). */
export function folderInput(dir: string): string {
  return `${dir}/`;
}

/** What to render: one overlay folder of one snapshot. */
export interface OverlayRenderInput {
  readonly snapshot: Snapshot;
  /** Repository-relative overlay folder, normalised ("" is the repository root). */
  readonly dir: string;
}

/** The objects of one overlay, and what producing them read. */
export interface RenderedOverlay {
  /** Plain JSON objects in output order; checked, defaulted and substituted by the resolver. */
  readonly objects: readonly KubeObject[];
  /**
   * Repository-relative files the render read or would read if they existed, for invalidation:
   * when none of them changed in a later snapshot, the render is reused. An entry ending in "/"
   * stands for every file under that folder, present or future ("/" alone: the whole repository).
   */
  readonly inputs: readonly string[];
  /** Where each object came from (`apps/web/a.yaml:3 (document 2)`), parallel to `objects`, when known. */
  readonly sources?: readonly string[] | undefined;
  /**
   * Per object (parallel to `objects`), the string values that were written as one unquoted
   * variable reference (`replicas: ${replicas}`): substitution gives them the YAML type of the
   * value. Absent: every value stays a string.
   */
  readonly unquoted?: readonly (readonly FieldPath[])[] | undefined;
  /** What the render found worth a warning without failing (`gitfleet render --check` shows them). */
  readonly warnings?: readonly string[] | undefined;
}

/**
 * Renders overlay folders. `render` rejects with a {@link RenderError} (or a subclass) for a
 * problem of the overlay (its message names the overlay and, when known, the file); the resolver
 * turns it into an error of the bundles that use the overlay, on their clusters only.
 */
export interface OverlayRenderer {
  render(input: OverlayRenderInput): Promise<RenderedOverlay>;
}

/** The kustomization file directly in `dir`, or undefined when `dir` is a plain folder. */
export function kustomizationIn(files: ReadonlyMap<string, Uint8Array>, dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const path = dir === "" ? name : `${dir}/${name}`;
    if (files.has(path)) return path;
  }
  return undefined;
}
