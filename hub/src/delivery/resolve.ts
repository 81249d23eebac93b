// Resolving one commit for the fleet: fleet.yaml -> targets per cluster -> one render per
// distinct render input -> one payload and digest per bundle, shared by every cluster that gets
// the same bytes. Pure: no I/O, no clock; the same input always gives the same output.
import { BundlePayloadSchema, DriftMode, create, digest, toBinary, type BundlePayload } from "@gitfleet/proto";
import { FleetFileError, RenderError, messageOf, type DeliveryErrorReason } from "./errors.js";
import { readFleetFile, type BundleSpec, type FleetSpec } from "./fleet-file.js";
import { renderFingerprint, renderPlainDirectory, type RenderedBundle, type RenderRequest } from "./render.js";
import type { ClusterRef, Snapshot } from "./snapshot.js";
import { targetsFor, type BundleTarget } from "./targeting.js";

/** A render's result, kept so the next commit can reuse it when its inputs did not change. */
export type RenderOutcome = { readonly ok: true; readonly rendered: RenderedBundle } | { readonly ok: false; readonly error: RenderError };

/** Renders by {@link renderFingerprint}; pass the previous resolution's to skip unchanged bundles. */
export type RenderMemo = ReadonlyMap<string, RenderOutcome>;

/** Input of {@link resolve}. */
export interface ResolveInput {
  readonly snapshot: Snapshot;
  readonly clusters: readonly ClusterRef[];
  /** Renders of an earlier resolution; entries whose inputs are unchanged are reused. */
  readonly previous?: RenderMemo | undefined;
}

/** One bundle resolved for a cluster: the payload the agent applies and its digest. */
export interface ResolvedBundle {
  readonly name: string;
  readonly payload: BundlePayload;
  /** sha256 (hex) of the encoded, uncompressed payload (BundleRef.digest). */
  readonly digest: string;
  /** Size of the encoded, uncompressed payload in bytes. */
  readonly size: number;
}

/** Why one bundle could not be resolved at one commit; it fails only itself. */
export interface BundleError {
  readonly bundle: string;
  /** The bundle's folder in the repository. */
  readonly path: string;
  readonly commit: string;
  readonly reason: DeliveryErrorReason;
  /** What went wrong and where (file:line, document). */
  readonly message: string;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
}

/** Everything one cluster should get at one commit. */
export interface ClusterResolution {
  readonly clusterId: string;
  /** Bundles that resolved, by name. */
  readonly bundles: readonly ResolvedBundle[];
  /** Bundles aimed at this cluster that failed; the publisher keeps their last good state. */
  readonly errors: readonly BundleError[];
}

/** The result of {@link resolve}: per-cluster state, or a fleet.yaml error that fails everything. */
export type Resolution =
  | {
      readonly ok: true;
      readonly commit: string;
      readonly fleet: FleetSpec;
      readonly clusters: ReadonlyMap<string, ClusterResolution>;
      /** This resolution's renders, to pass as `previous` next time. */
      readonly renders: RenderMemo;
      /** How many renders ran, and how many were reused from `previous`. */
      readonly stats: { readonly rendered: number; readonly reused: number };
    }
  | { readonly ok: false; readonly commit: string; readonly error: FleetFileError };

/**
 * Resolves a snapshot for a set of clusters. A broken fleet.yaml fails the whole resolution
 * (the caller keeps its last good state); a bundle that fails to render fails only itself, for
 * the clusters it targets. Each distinct render input is rendered once and its payload shared.
 */
export function resolve(input: ResolveInput): Resolution {
  const { snapshot } = input;
  let fleet: FleetSpec;
  try {
    fleet = readFleetFile(snapshot);
  } catch (err) {
    if (err instanceof FleetFileError) return { ok: false, commit: snapshot.commit, error: err };
    throw err;
  }
  const renders = new Map<string, RenderOutcome>();
  const payloads = new Map<string, ResolvedBundle | BundleError>();
  const fingerprints = new Map<string, string>();
  const stats = { rendered: 0, reused: 0 };

  const resolveTarget = (target: BundleTarget): ResolvedBundle | BundleError => {
    const request: RenderRequest = { bundle: target.bundle.name, ...target.render, files: snapshot.files };
    // Hashing a bundle's files once per run, not once per cluster it goes to.
    const inputs = JSON.stringify([request.bundle, request.path, request.namespace ?? null]);
    let fingerprint = fingerprints.get(inputs);
    if (fingerprint === undefined) {
      fingerprint = renderFingerprint(request);
      fingerprints.set(inputs, fingerprint);
    }
    const known = payloads.get(fingerprint);
    if (known !== undefined) return known;
    let outcome = renders.get(fingerprint) ?? input.previous?.get(fingerprint);
    if (outcome === undefined) {
      outcome = renderOnce(request);
      stats.rendered++;
    } else {
      stats.reused++;
    }
    renders.set(fingerprint, outcome);
    const result = outcome.ok ? toResolved(target.bundle, outcome.rendered) : toBundleError(target.bundle, snapshot.commit, outcome.error);
    payloads.set(fingerprint, result);
    return result;
  };

  const clusters = new Map<string, ClusterResolution>();
  for (const cluster of input.clusters) {
    const bundles: ResolvedBundle[] = [];
    const errors: BundleError[] = [];
    for (const target of targetsFor(fleet, cluster)) {
      const result = resolveTarget(target);
      if ("payload" in result) bundles.push(result);
      else errors.push(result);
    }
    clusters.set(cluster.id, { clusterId: cluster.id, bundles, errors });
  }
  return { ok: true, commit: snapshot.commit, fleet, clusters, renders, stats };
}

function renderOnce(request: RenderRequest): RenderOutcome {
  try {
    return { ok: true, rendered: renderPlainDirectory(request) };
  } catch (err) {
    if (err instanceof RenderError) return { ok: false, error: err };
    // A bug in a renderer must fail one bundle, not the fleet.
    return { ok: false, error: new RenderError("manifest-invalid", `internal error while rendering: ${messageOf(err)}`, { cause: err }) };
  }
}

function toResolved(bundle: BundleSpec, rendered: RenderedBundle): ResolvedBundle {
  const payload = create(BundlePayloadSchema, {
    name: bundle.name,
    objects: rendered.objects.map((object) => object.json),
    policy: {
      drift: bundle.drift === "report" ? DriftMode.REPORT : DriftMode.CORRECT,
      ignore: [...bundle.ignore],
      prune: bundle.prune,
      namespace: bundle.namespace ?? "",
    },
  });
  const bytes = toBinary(BundlePayloadSchema, payload);
  return { name: bundle.name, payload, digest: digest(bytes), size: bytes.byteLength };
}

function toBundleError(bundle: BundleSpec, commit: string, error: RenderError): BundleError {
  return { bundle: bundle.name, path: bundle.path, commit, reason: error.reason, message: error.message, file: error.file, line: error.line };
}
