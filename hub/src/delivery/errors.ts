// Errors of the delivery part. They extend HubError so every edge maps them once by `code`;
// `reason` is the delivery-specific cause a caller or a test can branch on.
import { HubError, type HubErrorCode } from "../errors.js";

/** Why a delivery step failed. */
export type DeliveryErrorReason =
  | "fleet-file-missing"
  | "fleet-file-invalid"
  | "bundle-path-missing"
  | "manifest-invalid"
  | "object-invalid"
  | "object-duplicate"
  | "no-objects"
  | "variable-undefined"
  | "variable-invalid"
  | "kustomize-not-configured"
  | "git-fetch-failed"
  | "git-read-failed"
  | "snapshot-too-large"
  | "revision-invalid"
  | "revision-not-found"
  | "publish-failed"
  | "stopped";

/** Base of the delivery errors; `reason` says what failed, `code` how an edge should answer. */
export class DeliveryError extends HubError {
  /** Machine-readable cause inside delivery. */
  readonly reason: DeliveryErrorReason;

  constructor(code: HubErrorCode, reason: DeliveryErrorReason, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "DeliveryError";
    this.reason = reason;
  }
}

/** One problem in fleet.yaml, located by line and field path (e.g. `bundles[1].path`). */
export interface FleetFileIssue {
  /** 1-based line; 0 when the problem has no position (missing file). */
  line: number;
  /** 1-based column; 0 when unknown. */
  column: number;
  /** Dotted field path from the document root; empty for the whole document. */
  field: string;
  message: string;
}

/**
 * fleet.yaml is missing or invalid. `issues` lists every problem found, each with line and field;
 * the message shows them as `fleet.yaml:12: bundles[0].path: ...`, one per line.
 */
export class FleetFileError extends DeliveryError {
  /** The file the issues are in, relative to the repository root. */
  readonly file: string;
  /** Every problem found, in document order. */
  readonly issues: readonly FleetFileIssue[];

  constructor(file: string, issues: readonly FleetFileIssue[], reason: "fleet-file-missing" | "fleet-file-invalid" = "fleet-file-invalid") {
    super("invalid-argument", reason, formatIssues(file, issues));
    this.name = "FleetFileError";
    this.file = file;
    this.issues = issues;
  }
}

function formatIssues(file: string, issues: readonly FleetFileIssue[]): string {
  const lines = issues.map((issue) => {
    const where = issue.line > 0 ? `${file}:${issue.line}` : file;
    return issue.field === "" ? `${where}: ${issue.message}` : `${where}: ${issue.field}: ${issue.message}`;
  });
  return lines.length === 1 ? (lines[0] ?? file) : `${file} has ${issues.length} problems:\n${lines.join("\n")}`;
}

/** Why a render (or what follows it: checks, substitution) failed. */
export type RenderErrorReason =
  | "bundle-path-missing"
  | "manifest-invalid"
  | "object-invalid"
  | "object-duplicate"
  | "no-objects"
  | "variable-undefined"
  | "variable-invalid"
  | "kustomize-not-configured";

/** A bundle could not be rendered; `file`, `document` and `line` say where, when known. */
export class RenderError extends DeliveryError {
  /** The file at fault, relative to the repository root, if one is. */
  readonly file: string | undefined;
  /** 1-based index of the YAML document in `file`, if one is at fault. */
  readonly document: number | undefined;
  /** 1-based line in `file`, if known. */
  readonly line: number | undefined;
  /**
   * What the failed render read (as in RenderedOverlay.inputs), when the renderer knows: the
   * failure is then kept until one of them changes. Undefined: render again next time.
   */
  inputs: readonly string[] | undefined;

  constructor(
    reason: RenderErrorReason,
    message: string,
    where: { file?: string | undefined; document?: number | undefined; line?: number | undefined; cause?: unknown } = {},
  ) {
    super("failed-precondition", reason, message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = "RenderError";
    this.file = where.file;
    this.document = where.document;
    this.line = where.line;
    this.inputs = undefined;
  }
}

/** The Git source could not fetch or read the branch. */
export class GitSourceError extends DeliveryError {
  constructor(reason: "git-fetch-failed" | "git-read-failed" | "snapshot-too-large" | "stopped", message: string, options?: { cause?: unknown }) {
    super("unavailable", reason, message, options);
    this.name = "GitSourceError";
  }
}

/** Desired state could not be written to JetStream. */
export class PublishError extends DeliveryError {
  /** The cluster whose desired state failed to publish; undefined for the bucket itself. */
  readonly clusterId: string | undefined;

  constructor(clusterId: string | undefined, message: string, options?: { cause?: unknown }) {
    super("unavailable", "publish-failed", message, options);
    this.name = "PublishError";
    this.clusterId = clusterId;
  }
}
