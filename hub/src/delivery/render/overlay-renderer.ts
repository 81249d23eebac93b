// The hub's renderers: plain folders, and the dispatcher that sends folders with a kustomization
// to kustomize.
import { messageOf } from "@gitfleet/proto/rules";
import { RenderError } from "../errors.js";
import { folderInput, kustomizationIn, type OverlayRenderer } from "./overlay.js";
import { renderPlainDirectory } from "./plain-directory.js";
import { normalizeFolder } from "../snapshot.js";

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
