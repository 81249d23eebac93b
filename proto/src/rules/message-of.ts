/**
 * The message of any thrown value, for an error message that wraps it or a status a user reads.
 * Logs take the error itself (`{ err }`), so that its stack and `cause` are kept.
 */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
