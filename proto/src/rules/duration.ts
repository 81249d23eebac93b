// Durations as operators write them in flags, environment variables and API bodies: the hub and
// the agent read the same forms.

const unitMs: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration that could not be read. The message starts with the field or flag it came from
 * and says what to write instead; each caller turns it into its own error type at its edge.
 */
export class DurationError extends Error {
  /** The field, flag or variable the duration came from, e.g. `body/ttl` or `--reconcile-interval`. */
  readonly what: string;

  constructor(what: string, message: string) {
    super(`${what}: ${message}`);
    this.name = "DurationError";
    this.what = what;
  }
}

/**
 * Parses a duration into milliseconds: a number of seconds (`3600`, `"3600"`) or units in
 * Go style (`"1h"`, `"30m"`, `"1h30m"`, `"90s"`, `"500ms"`, `"2d"`). `what` names the field,
 * flag or variable in the message of the {@link DurationError} thrown when it is not a positive
 * duration.
 */
export function parseDuration(input: string | number, what: string): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input <= 0) {
      throw new DurationError(what, `expected a positive number of seconds, got ${input}`);
    }
    return Math.round(input * 1000);
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return parseDuration(Number(text), what);
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) {
    throw new DurationError(what, `"${input}" is not a duration; use seconds ("3600") or units like "1h", "30m", "1h30m", "90s"`);
  }
  let total = 0;
  for (const part of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(part[1]) * (unitMs[part[2] ?? "s"] ?? 0);
  }
  if (total <= 0) throw new DurationError(what, "the duration must be greater than zero");
  return total;
}

/** Formats milliseconds for messages, e.g. `1h30m`, `45s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}
