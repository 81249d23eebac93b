/** Machine-readable codes of agent errors; main.ts turns them into one clear line and an exit code. */
export type AgentErrorCode =
  | "invalid-config"
  | "registration-refused"
  | "registration-failed"
  | "identity-invalid"
  | "kubernetes"
  | "desired-state-invalid"
  | "desired-state-unavailable";

/** An error the agent means to show: it says what was wrong, where, and what to do. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AgentError";
    this.code = code;
  }
}

/** A command line flag or environment variable is missing, malformed or contradicts another. */
export class ConfigError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid-config", message, options);
    this.name = "ConfigError";
  }
}

/**
 * The hub answered Register with a refusal (`refused`, e.g. an expired token) or the call could
 * not be made (`failed`, e.g. the hub is unreachable). `status` is the gRPC status name.
 */
export class RegistrationError extends AgentError {
  readonly status: string;

  constructor(kind: "refused" | "failed", status: string, message: string, options?: { cause?: unknown }) {
    super(kind === "refused" ? "registration-refused" : "registration-failed", message, options);
    this.name = "RegistrationError";
    this.status = status;
  }
}

/**
 * A Kubernetes API call failed. `statusCode` is the HTTP status (0 when the API server was not
 * reached), `reason` the Kubernetes Status reason (e.g. "Invalid", "NotFound").
 */
export class KubeApiError extends AgentError {
  readonly statusCode: number;
  readonly reason: string;
  /** The API server's own message, without the object reference the message starts with. */
  readonly detail: string;

  constructor(statusCode: number, reason: string, what: string, detail: string, options?: { cause?: unknown }) {
    super("kubernetes", `${what}: ${detail}`, options);
    this.name = "KubeApiError";
    this.statusCode = statusCode;
    this.reason = reason;
    this.detail = detail;
  }
}

/** True when `error` is a Kubernetes "not found" answer. */
export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}
