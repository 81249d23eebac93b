// What the agent's /healthz and /readyz say, decided from a snapshot of its state (pure logic,
// so the rules are tested without a server).
//
// Liveness (/healthz) fails only when a restart helps: the leader lease was lost (the process
// exits anyway), or a loop the agent owns stopped turning (a pass or an election attempt stuck
// far beyond its timeouts).
//
// Readiness (/readyz): a follower waiting for the lease is ready (it is doing its job, standing
// by; a rollout must be able to replace it). A leader, or an agent without leader election, is
// ready once its identity is loaded and either a desired state was applied at least once (it
// enforces even while the hub is away) or its status stream to the hub is up.

/** One probe's answer. */
export interface ProbeResult {
  ok: boolean;
  /** One line for people: why it is (not) ok. */
  message: string;
}

/** The state the probes are decided from. Times are ms since the epoch. */
export interface AgentHealthView {
  now: number;
  /** stop() was called. */
  stopping: boolean;
  /** Leader election is on. */
  leaderElection: boolean;
  leading: boolean;
  /** The leader lease was lost; the agent's loops have stopped. */
  lostLeadership: boolean;
  /** Last leader election attempt (0 before the first). */
  electionAttemptAt: number;
  /** Longest acceptable time between election attempts. */
  electionStallMs: number;
  /** Last turn of the reconcile loop; undefined before the loop started. */
  reconcileTickAt: number | undefined;
  /** Longest acceptable time between turns of the reconcile loop. */
  reconcileStallMs: number;
  identityLoaded: boolean;
  /** Revision of the last reconcile pass; undefined before the first. */
  appliedRevision: string | undefined;
  hubConnected: boolean;
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

/** The /healthz answer. */
export function livenessOf(view: AgentHealthView): ProbeResult {
  if (view.lostLeadership) return { ok: false, message: "lost the leader lease; the agent stopped and must restart" };
  if (view.leaderElection && !view.leading && view.electionAttemptAt > 0) {
    const idle = view.now - view.electionAttemptAt;
    if (idle > view.electionStallMs) return { ok: false, message: `the leader election loop has not turned for ${seconds(idle)}` };
  }
  if (view.reconcileTickAt !== undefined) {
    const idle = view.now - view.reconcileTickAt;
    if (idle > view.reconcileStallMs) return { ok: false, message: `the reconcile loop has not turned for ${seconds(idle)}` };
  }
  return { ok: true, message: "ok" };
}

/** The /readyz answer. */
export function readinessOf(view: AgentHealthView): ProbeResult {
  if (view.stopping || view.lostLeadership) return { ok: false, message: "stopping" };
  if (view.leaderElection && !view.leading) return { ok: true, message: "standby: another replica holds the leader lease" };
  if (!view.identityLoaded) return { ok: false, message: "registering with the hub or loading the identity" };
  if (view.appliedRevision !== undefined) {
    return { ok: true, message: `ok: desired state ${view.appliedRevision.slice(0, 12) || "(empty)"} applied` };
  }
  if (view.hubConnected) return { ok: true, message: "ok: connected to the hub, no desired state yet" };
  return { ok: false, message: "waiting for a first desired state or the hub" };
}
