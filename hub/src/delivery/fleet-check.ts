// Checking a fleet repository without clusters (`gitfleet render --check`): fleet.yaml is
// validated and every target's overlay rendered once, with the checks the hub makes per cluster.
// Where a target substitutes, the variables it defines are substituted; every other reference is
// left as written, since the values a cluster brings (its name, labels and own variables) are not
// known here. What a cluster must bring is listed instead of failing: references without a
// default that the target does not define. Invalid and duplicate objects do fail. Where a target
// does not substitute, text that only substitution would change (a reference to a variable the
// fleet knows, a `$${...}` escape) is a warning: fleets written when substitution was always on.
import { bundleObjects, kustomizationIn, namesWithoutDefault, renderOverlay, substitutionCandidates, type CachedRender, type OverlayRenderer, type PreparedOverlay } from "./render/index.js";
import { FleetFileError, RenderError, type DeliveryErrorReason } from "./errors.js";
import { CLUSTER_LABEL_PREFIX, CLUSTER_NAME_VARIABLE, FLEET_FILE, readFleetFile, type BundleSpec, type FleetSpec, type Substitution, type TargetSpec, type VariableLookup } from "./fleet/index.js";
import type { Snapshot } from "./snapshot.js";

/** What checking one target found. */
export interface TargetCheck {
  readonly bundle: string;
  readonly target: string;
  readonly overlay: string;
  readonly renderer: "plain" | "kustomize";
  /** Whether the target substitutes variables, and which setting of fleet.yaml says so. */
  readonly substitution: Substitution;
  /** Objects the overlay renders; undefined when it failed. */
  readonly objects: number | undefined;
  /** Variables each cluster of the target must bring (cluster_label_* through its labels). */
  readonly needs: readonly string[];
  /** What deserves a look but does not fail the check. */
  readonly warnings: readonly string[];
  readonly error?: { readonly reason: DeliveryErrorReason; readonly message: string; readonly file?: string | undefined; readonly line?: number | undefined };
}

/** The result of {@link checkFleet}. */
export type FleetCheck =
  | { readonly ok: true; readonly commit: string; readonly fleet: FleetSpec; readonly targets: readonly TargetCheck[] }
  | { readonly ok: false; readonly commit: string; readonly error: FleetFileError };

/** Most places listed in one warning; the rest are counted. */
const MAX_LISTED = 3;

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
  const fleetVariables = new Set(fleet.bundles.flatMap((b) => b.targets.flatMap((t) => Object.keys(t.variables))));
  const known = (name: string): boolean => name === CLUSTER_NAME_VARIABLE || name.startsWith(CLUSTER_LABEL_PREFIX) || fleetVariables.has(name);
  const targets: TargetCheck[] = [];
  for (const bundle of fleet.bundles) {
    for (const target of bundle.targets) {
      const render = renders.get(target.overlay);
      const base = {
        bundle: bundle.name,
        target: target.name,
        overlay: target.overlay,
        renderer: kustomizationIn(snapshot.files, target.overlay) === undefined ? ("plain" as const) : ("kustomize" as const),
        substitution: target.substitution,
      };
      if (render === undefined || !render.outcome.ok) {
        const error = render?.outcome.ok === false ? render.outcome.error : undefined;
        targets.push({ ...base, objects: undefined, needs: [], warnings: [], error: { reason: error?.reason ?? "manifest-invalid", message: error?.message ?? "not rendered", file: error?.file, line: error?.line } });
        continue;
      }
      const overlay = render.outcome.overlay;
      const substitute = target.substitution.on;
      const needs = substitute ? namesWithoutDefault(overlay.templates.flat()).filter((name) => name !== CLUSTER_NAME_VARIABLE && !Object.hasOwn(target.variables, name)) : [];
      const warnings = substitute ? [...overlay.warnings] : migrationWarnings(bundle, target, overlay, known);
      const lookup: VariableLookup = (name) => (Object.hasOwn(target.variables, name) ? { kind: "value", value: target.variables[name] ?? "" } : { kind: "unknown" });
      try {
        const objects = bundleObjects(overlay, { namespace: bundle.namespace, substitute, lookup, allowEmpty: bundle.allowEmpty });
        targets.push({ ...base, objects: objects.length, needs, warnings });
      } catch (err) {
        if (!(err instanceof RenderError)) throw err;
        targets.push({ ...base, objects: undefined, needs, warnings, error: { reason: err.reason, message: err.message, file: err.file, line: err.line } });
      }
    }
  }
  return { ok: true, commit: snapshot.commit, fleet, targets };
}

/**
 * For a target without substitution: the places that look written for it (see the top of this
 * file), as one warning that points at the opt-in; none when there are none.
 */
function migrationWarnings(bundle: BundleSpec, target: TargetSpec, overlay: PreparedOverlay, known: (name: string) => boolean): string[] {
  const places = substitutionCandidates(overlay, known);
  if (places.length === 0) return [];
  const listed = places.slice(0, MAX_LISTED).join("; ") + (places.length > MAX_LISTED ? `; and ${places.length - MAX_LISTED} more` : "");
  const where = target.implicit ? `bundle ${bundle.name}` : `target ${target.name} (or bundle ${bundle.name})`;
  return [
    `${FLEET_FILE}:${target.line}: substitution is off for this target, so these reach its clusters as written: ${listed}. ` +
      `Substitution is opt-in: set substitute: true on ${where} in ${FLEET_FILE} to fill them in, ` +
      `or annotate the objects gitfleet.dev/substitute: disabled to keep them as written and silence this warning`,
  ];
}
