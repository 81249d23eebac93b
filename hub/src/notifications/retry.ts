// When a failed delivery is tried again, and when the hub gives up on it.
import type { RetryPolicy } from "./sinks-config.js";

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: the initial backoff doubled
 * per attempt, capped, less up to a fifth at random so that sinks coming back are not hit by
 * every replica's retries at once.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialBackoffMs * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  const capped = Math.min(policy.maxBackoffMs, exponential);
  return Math.max(1, Math.round(capped * (1 - 0.2 * random())));
}

/** What to do after a failed attempt. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * After attempt `attempt` failed for an event recorded at `recordedAt`: try again after a delay,
 * or give up when the attempts are used up or the next one would come after the event's max age.
 */
export function afterFailure(input: { attempt: number; recordedAt: number; now: number; policy: RetryPolicy; random?: () => number }): RetryDecision {
  const { attempt, policy } = input;
  if (attempt >= policy.maxAttempts) return { retry: false, reason: `${attempt} attempts failed` };
  const delayMs = retryDelayMs(attempt, policy, input.random);
  if (input.now + delayMs - input.recordedAt > policy.maxAgeMs) return { retry: false, reason: "the event would be older than the sink's maxAge at the next attempt" };
  return { retry: true, delayMs };
}

/** True when an event recorded at `recordedAt` is too old to be sent at all. */
export function isExpired(recordedAt: number, now: number, policy: RetryPolicy): boolean {
  return now - recordedAt > policy.maxAgeMs;
}
