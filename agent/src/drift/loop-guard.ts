// The loop guard: an object gitfleet had to correct too often is fought over by another field
// manager (an autoscaler, an operator, a person with a script). Past the limit the object is a
// conflict and corrections back off exponentially instead of fighting forever.

/** Limits of the loop guard. */
export interface LoopGuardLimits {
  /** Corrections allowed within `windowMs` before the object is a conflict; default 5. */
  maxCorrections: number;
  /** The window; default 10 minutes. */
  windowMs: number;
  /** First wait before correcting a conflicted object again; doubles each time; default 1 minute. */
  backoffMs: number;
  /** Longest wait; default 30 minutes. */
  maxBackoffMs: number;
}

/** Defaults of {@link LoopGuardLimits}. */
export const DEFAULT_LOOP_GUARD: LoopGuardLimits = { maxCorrections: 5, windowMs: 10 * 60_000, backoffMs: 60_000, maxBackoffMs: 30 * 60_000 };

/** The guard's memory of one object. */
export interface LoopGuardState {
  /** Times of corrections within the window, oldest first. */
  corrections: number[];
  /** While in conflict: when correcting is allowed again, and how many back-offs so far. */
  conflict?: { retryAt: number; backoffs: number };
}

/** A fresh state. */
export function newGuardState(): LoopGuardState {
  return { corrections: [] };
}

/** Drops corrections that left the window. */
function trim(state: LoopGuardState, now: number, limits: LoopGuardLimits): void {
  while (state.corrections.length > 0 && (state.corrections[0] ?? 0) <= now - limits.windowMs) state.corrections.shift();
}

/** Whether the object may be corrected now; false while a conflict backs off. */
export function mayCorrect(state: LoopGuardState, now: number, limits: LoopGuardLimits): boolean {
  trim(state, now, limits);
  if (state.conflict) {
    if (now < state.conflict.retryAt) return false;
    // The fight calmed down: the window holds fewer corrections than the limit again.
    if (state.corrections.length < limits.maxCorrections - 1) delete state.conflict;
    return true;
  }
  return state.corrections.length < limits.maxCorrections;
}

/**
 * Records a correction. Returns true when the object has become (or stays) a conflict: then
 * the next correction waits for the back-off.
 */
export function recordCorrection(state: LoopGuardState, now: number, limits: LoopGuardLimits): boolean {
  trim(state, now, limits);
  state.corrections.push(now);
  if (state.conflict) {
    const backoffs = state.conflict.backoffs + 1;
    state.conflict = { retryAt: now + Math.min(limits.maxBackoffMs, limits.backoffMs * 2 ** backoffs), backoffs };
    return true;
  }
  if (state.corrections.length >= limits.maxCorrections) {
    state.conflict = { retryAt: now + limits.backoffMs, backoffs: 0 };
    return true;
  }
  return false;
}

/** The object is in sync again (or Git changed it): forget the fight. */
export function settle(state: LoopGuardState): void {
  delete state.conflict;
}

/** Corrections within the window now. */
export function correctionsInWindow(state: LoopGuardState, now: number, limits: LoopGuardLimits): number {
  trim(state, now, limits);
  return state.corrections.length;
}
