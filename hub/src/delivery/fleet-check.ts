// Checking a fleet repository without clusters (`gitfleet render --check`): fleet.yaml is
// validated and every target's overlay rendered once, with the checks the hub makes per cluster.
// Variables the target defines are substituted; every other reference is left as written, since
// the values a cluster brings (its name, labels and own variables) are not known here. What a
// cluster must bring is listed instead of failing: references without a default that the target
// does not define. Malformed references, invalid and duplicate objects do fail.
import { bundleObjects, kustomizationIn, namesWithoutDefault, renderOverlay, type CachedRender, type OverlayRenderer } from "./render/index.js";
import { FleetFileError, RenderError, type DeliveryErrorReason } from "./errors.js";
import { CLUSTER_NAME_VARIABLE, readFleetFile, type FleetSpec, type VariableLookup } from "./fleet/index.js";
import type { Snapshot } from "./snapshot.js";

/** What checking one target found. */
export interface TargetCheck {
  readonly bundle: string;
  readonly target: string;
  readonly overlay: string;
  readonly renderer: "plain" | "kustomize";
  /** Objects the overlay renders; undefined when it failed. */
  readonly objects: number | undefined;
  /** Variables each cluster of the target must bring (cluster_label_* through its labels). */
  readonly needs: readonly string[];
  readonly error?: { readonly reason: DeliveryErrorReason; readonly message: string; readonly file?: string | undefined; readonly line?: number | undefined };
}

/** The result of {@link checkFleet}. */
export type FleetCheck =
  | { readonly ok: true; readonly commit: string; readonly fleet: FleetSpec; readonly targets: readonly TargetCheck[] }
  | { readonly ok: false; readonly commit: string; readonly error: FleetFileError };

/** Validates fleet.yaml and renders every target's overlay once (see the top of this file). */
export async function checkFleet(snapshot: Snapshot, renderer: OverlayRenderer): Promise<FleetCheck> {
  let fleet: FleetSpec;
  try {
    fleet = readFleetFile(snapshot);
  } catch (err) {
    if (err instanceof FleetFileError) return { ok: false, commit: snapshot.commit, error: err };
    throw err;
  }
  const dirs = [...new Set(fleet.bundles.flatMap((b) => b.targets.map((t) => t.overlay)))].sort();
  const renders = new Map<string, CachedRender>();
  await Promise.all(dirs.map(async (dir) => renders.set(dir, await renderOverlay(renderer, snapshot, dir))));
  const targets: TargetCheck[] = [];
  for (const bundle of fleet.bundles) {
    for (const target of bundle.targets) {
      const render = renders.get(target.overlay);
      const base = {
        bundle: bundle.name,
        target: target.name,
        overlay: target.overlay,
        renderer: kustomizationIn(snapshot.files, target.overlay) === undefined ? ("plain" as const) : ("kustomize" as const),
      };
      if (render === undefined || !render.outcome.ok) {
        const error = render?.outcome.ok === false ? render.outcome.error : undefined;
        targets.push({ ...base, objects: undefined, needs: [], error: { reason: error?.reason ?? "manifest-invalid", message: error?.message ?? "not rendered", file: error?.file, line: error?.line } });
        continue;
      }
      const overlay = render.outcome.overlay;
      const needs = namesWithoutDefault(overlay.templates.flat()).filter((name) => name !== CLUSTER_NAME_VARIABLE && !Object.hasOwn(target.variables, name));
      const lookup: VariableLookup = (name) => (Object.hasOwn(target.variables, name) ? { kind: "value", value: target.variables[name] ?? "" } : { kind: "unknown" });
      try {
        targets.push({ ...base, objects: bundleObjects(overlay, { namespace: bundle.namespace, lookup }).length, needs });
      } catch (err) {
        if (!(err instanceof RenderError)) throw err;
        targets.push({ ...base, objects: undefined, needs, error: { reason: err.reason, message: err.message, file: err.file, line: err.line } });
      }
    }
  }
  return { ok: true, commit: snapshot.commit, fleet, targets };
}
