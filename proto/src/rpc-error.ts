import { Metadata, status } from "@grpc/grpc-js";
import type { ServiceError, StatusObject } from "@grpc/grpc-js";
import { messageOf } from "./rules/index.js";

/** Options of an {@link RpcError}: trailing metadata to send and the error that caused it. */
export interface RpcErrorOptions {
  /** Trailing metadata sent with the status (server) or received with it (client). */
  metadata?: Metadata;
  /** The underlying error; kept for logs, never sent over the wire. */
  cause?: unknown;
}

/**
 * An error with a gRPC status code. Thrown by handlers to choose the status a caller sees,
 * and raised by clients when a call ends with a status other than OK.
 */
export class RpcError extends Error {
  override readonly name = "RpcError";
  /** The gRPC status code, e.g. `status.UNAUTHENTICATED`. */
  readonly code: status;
  /** Trailing metadata of the status. */
  readonly metadata: Metadata;

  constructor(code: status, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.metadata = options.metadata ?? new Metadata();
  }

  /** The status name, e.g. "UNAUTHENTICATED", for logs and messages. */
  get codeName(): string {
    return status[this.code] ?? `CODE_${String(this.code)}`;
  }
}

/** The message callers see for errors a handler did not mean to expose. */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/**
 * Maps anything a handler threw to the status sent to the caller. Only an {@link RpcError}
 * keeps its code and message; everything else becomes INTERNAL with a fixed message, so stack
 * traces, file paths or downstream errors never reach an untrusted peer.
 */
export function toStatus(error: unknown): StatusObject {
  if (error instanceof RpcError) {
    return { code: error.code, details: error.message, metadata: error.metadata };
  }
  return { code: status.INTERNAL, details: INTERNAL_ERROR_MESSAGE, metadata: new Metadata() };
}

/**
 * Converts an error raised by a grpc-js client call (a `ServiceError`) into an
 * {@link RpcError}; other values become INTERNAL errors that keep the original as `cause`.
 */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (isServiceError(error)) {
    return new RpcError(error.code, error.details, { metadata: error.metadata, cause: error });
  }
  return new RpcError(status.INTERNAL, messageOf(error), { cause: error });
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    "code" in error &&
    typeof error.code === "number" &&
    "details" in error &&
    typeof error.details === "string" &&
    "metadata" in error &&
    error.metadata instanceof Metadata
  );
}
