// The seam between resolving and rendering. The resolver asks an OverlayRenderer for the objects
// of one overlay folder of one commit; a renderer also says which files it read, so the next
// commit renders the overlay again only when one of them changed. Two renderers live here: the
// plain-folder one, and the dispatcher that sends folders with a kustomization to kustomize.
import { RenderError, messageOf } from "./errors.js";
import type { KubeObject } from "./manifests.js";
import { KUSTOMIZATION_FILE_NAMES, folderInput, renderPlainDirectory } from "./render.js";
import { normalizeFolder, type Snapshot } from "./snapshot.js";

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

/** A renderer of plain folders: every .yaml, .yml and .json file under the folder, in path order. */
export function createPlainDirectoryRenderer(): OverlayRenderer {
  return {
    render: (input) => {
      try {
        return Promise.resolve(renderPlainDirectory(input.snapshot.files, input.dir));
      } catch (err) {
        // A broken folder stays broken until something under it changes.
        if (err instanceof RenderError) err.inputs = [folderInput(input.dir)];
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}

/** Options of {@link createOverlayRenderer}. */
export interface OverlayRendererOptions {
  /** Renders folders that hold a kustomization; without it such folders fail their bundles. */
  readonly kustomize?: OverlayRenderer | undefined;
  /** Renders the other folders; default {@link createPlainDirectoryRenderer}. */
  readonly plain?: OverlayRenderer | undefined;
}

/**
 * The hub's renderer: a folder with a kustomization.yaml, kustomization.yml or Kustomization goes
 * to the kustomize renderer, any other folder is read as plain manifests. A failure that is not
 * a RenderError (a bug in a renderer) still fails only the overlay, as a RenderError.
 */
export function createOverlayRenderer(options: OverlayRendererOptions = {}): OverlayRenderer {
  const plain = options.plain ?? createPlainDirectoryRenderer();
  const { kustomize } = options;
  return {
    async render(input) {
      const dir = normalizeFolder(input.dir);
      if (dir === undefined) throw new RenderError("bundle-path-missing", `${input.dir}: an overlay must be a relative folder inside the repository`);
      const kustomization = kustomizationIn(input.snapshot.files, dir);
      if (kustomization !== undefined && kustomize === undefined) {
        const err = new RenderError(
          "kustomize-not-configured",
          `${kustomization}: kustomize is not configured; set GITFLEET_KUSTOMIZE on the hub to the kustomize binary (--kustomize for gitfleet render)`,
          { file: kustomization },
        );
        err.inputs = [folderInput(dir)];
        throw err;
      }
      const renderer = kustomization === undefined ? plain : kustomize;
      try {
        return await (renderer ?? plain).render({ snapshot: input.snapshot, dir });
      } catch (err) {
        if (err instanceof RenderError) throw err;
        const where = dir === "" ? "the repository root" : dir;
        throw new RenderError("manifest-invalid", `${where}: internal error while rendering: ${messageOf(err)}`, { cause: err });
      }
    },
  };
}
