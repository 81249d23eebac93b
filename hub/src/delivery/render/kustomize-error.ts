// The kustomize renderer's error. It is a RenderError, so whoever turns render failures into a
// bundle's own error (its clusters keep their last good state) treats it like any other.
import { RenderError } from "../errors.js";

/** Why a kustomize render failed. */
export type KustomizeFailure =
  /** The overlay has no kustomization, or a kustomization file is not a YAML mapping. */
  | "kustomization-invalid"
  /** A kustomization refers to a remote resource (URL, Git repository): never fetched. */
  | "remote-refused"
  /** A kustomization refers to a path outside the repository (absolute, or `..` past the root). */
  | "outside-repository"
  /** A kustomization uses helmCharts: the hub does not run Helm. */
  | "helm-refused"
  /** `kustomize build` exited with an error; the message carries kustomize's own. */
  | "build-failed"
  /** `kustomize build` did not finish in time and was killed. */
  | "timeout"
  /** The output of `kustomize build` could not be read as objects, or was too large. */
  | "output-invalid"
  /** The binary could not be started, or the work folder could not be written. */
  | "unavailable"
  /** The renderer was closed. */
  | "closed";

/**
 * A kustomize overlay could not be rendered. The message starts with the overlay's folder
 * (repository-relative) and, for a failed build, carries kustomize's own message with work
 * folder paths made repository-relative.
 */
export class KustomizeError extends RenderError {
  /** The overlay folder, relative to the repository root ("" is the root). */
  readonly overlay: string;
  /** What failed; see {@link KustomizeFailure}. */
  readonly failure: KustomizeFailure;

  constructor(
    failure: KustomizeFailure,
    overlay: string,
    message: string,
    where: { file?: string | undefined; cause?: unknown } = {},
  ) {
    super("manifest-invalid", message, where);
    this.name = "KustomizeError";
    this.overlay = overlay;
    this.failure = failure;
  }
}
