/** Machine-readable codes of hub errors; each edge maps them once (HTTP status, gRPC status). */
export type HubErrorCode =
  | "invalid-argument"
  | "unauthenticated"
  | "permission-denied"
  | "not-found"
  | "already-exists"
  | "conflict"
  | "failed-precondition"
  | "unavailable"
  | "internal";

/** An error the hub means to show to a caller: it says what was wrong, where, and what to do. */
export class HubError extends Error {
  readonly code: HubErrorCode;
  /** Evidence the HTTP answer carries beside `error`, e.g. the gates a promotion was refused on. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HubError";
    this.code = code;
    this.details = options?.details;
  }
}

/** HTTP status for each hub error code. */
export const httpStatusOf: Record<HubErrorCode, number> = {
  "invalid-argument": 400,
  unauthenticated: 401,
  "permission-denied": 403,
  "not-found": 404,
  "already-exists": 409,
  conflict: 409,
  "failed-precondition": 412,
  unavailable: 503,
  internal: 500,
};

/** gRPC status code (numeric, as in grpc-js `status`) for each hub error code. */
export const grpcStatusOf: Record<HubErrorCode, number> = {
  "invalid-argument": 3, // INVALID_ARGUMENT
  unauthenticated: 16, // UNAUTHENTICATED
  "permission-denied": 7, // PERMISSION_DENIED
  "not-found": 5, // NOT_FOUND
  "already-exists": 6, // ALREADY_EXISTS
  conflict: 10, // ABORTED
  "failed-precondition": 9, // FAILED_PRECONDITION
  unavailable: 14, // UNAVAILABLE
  internal: 13, // INTERNAL
};
