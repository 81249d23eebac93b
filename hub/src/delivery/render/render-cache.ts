// Renders kept from one resolution to the next. A render is reused when none of the files it
// read changed: compared by identity first (the Git source hands out the same bytes for blobs it
// already read), then by content. A folder input compares every file under the folder, so
// adding a file there renders again.
import { messageOf } from "@gitfleet/proto/rules";
import { prepareOverlay, type PreparedOverlay } from "./bundle-objects.js";
import { RenderError } from "../errors.js";
import type { OverlayRenderer } from "./overlay.js";
import { filesUnder, type Snapshot } from "../snapshot.js";

/** A render's result: the prepared overlay, or why it failed. */
export type RenderOutcome = { readonly ok: true; readonly overlay: PreparedOverlay } | { readonly ok: false; readonly error: RenderError };

/** One overlay's render, with what it read and the per-cluster results computed from it. */
export interface CachedRender {
  /** The overlay folder. */
  readonly dir: string;
  readonly outcome: RenderOutcome;
  /** What the render read (RenderedOverlay.inputs); undefined when unknown: never reused. */
  readonly inputs: readonly string[] | undefined;
  /** The snapshot files `inputs` were last seen in. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Results of this render for a bundle, target and set of variable values, by key (resolve.ts). */
  readonly results: Map<string, unknown>;
}

/** Renders by overlay folder; pass a resolution's to the next one to skip unchanged overlays. */
export type RenderMemo = ReadonlyMap<string, CachedRender>;

/** Renders `dir` of `snapshot` with `renderer`; a failure becomes an outcome, never a rejection. */
export async function renderOverlay(renderer: OverlayRenderer, snapshot: Snapshot, dir: string): Promise<CachedRender> {
  const base = { dir, files: snapshot.files, results: new Map<string, unknown>() };
  try {
    const rendered = await renderer.render({ snapshot, dir });
    return { ...base, outcome: { ok: true, overlay: prepareOverlay(rendered) }, inputs: [...rendered.inputs] };
  } catch (err) {
    // A bug in a renderer must fail one overlay, not the fleet.
    const error = err instanceof RenderError ? err : new RenderError("manifest-invalid", `${dir || "the repository root"}: internal error while rendering: ${messageOf(err)}`, { cause: err });
    return { ...base, outcome: { ok: false, error }, inputs: error.inputs };
  }
}

/**
 * The cached render of `dir` carried over to `snapshot` when its inputs did not change there, with
 * its results; undefined when it must be rendered again.
 */
export function reuse(cached: CachedRender | undefined, snapshot: Snapshot): CachedRender | undefined {
  if (cached?.inputs === undefined) return undefined;
  if (cached.files !== snapshot.files && !sameInputs(cached.inputs, cached.files, snapshot.files)) return undefined;
  return { ...cached, files: snapshot.files };
}

/** True when every input (file or folder, see RenderedOverlay.inputs) is the same in both file sets. */
export function sameInputs(inputs: readonly string[], before: ReadonlyMap<string, Uint8Array>, after: ReadonlyMap<string, Uint8Array>): boolean {
  for (const input of inputs) {
    if (input.endsWith("/")) {
      const folder = input === "/" ? "" : input.slice(0, -1);
      const a = filesUnder(before, folder);
      const b = filesUnder(after, folder);
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) {
        const path = a[i] ?? "";
        if (path !== b[i] || !sameBytes(before.get(path), after.get(path))) return false;
      }
    } else if (!sameBytes(before.get(input), after.get(input))) {
      return false;
    }
  }
  return true;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
