// Leader election among the agent's replicas on a coordination.k8s.io/v1 Lease, the way
// client-go does it: a candidate takes the lease when its holder let it go or has not renewed
// it for its lease duration (as measured on the candidate's own clock, so clock skew between
// replicas does not matter); the leader renews it every retry period and gives up when no
// renewal succeeded within the renew deadline, well before anyone else may take over.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import { AgentError, KubeApiError } from "./errors.js";
import type { LeaseClient, LeaseRecord, StoredLease } from "./lease.js";

/** Name of the Lease in the agent's namespace. */
export const LEASE_NAME = "gitfleet-agent";

/** How often and how long: leaseDuration > renewDeadline > 1.2 × retryPeriod. */
export interface LeaderElectionTiming {
  /** How long followers wait after the last renewal they saw before taking over; default 15 s. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading; default 10 s. */
  renewDeadlineMs: number;
  /** Time between attempts (acquire or renew); default 2 s. */
  retryPeriodMs: number;
}

/** client-go's defaults, which suit the agent too. */
export const DEFAULT_LEADER_ELECTION_TIMING: Readonly<LeaderElectionTiming> = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Options of {@link createLeaderElector}. */
export interface LeaderElectorOptions extends Partial<LeaderElectionTiming> {
  lease: LeaseClient;
  /** This candidate's identity in the Lease; default {@link defaultLeaderIdentity}. */
  identity?: string;
  clock?: Clock;
  logger?: Logger;
}

/** How a renew loop ended. */
export type RenewOutcome = "stopped" | "lost";

/** One candidate for the lease. */
export interface LeaderElector {
  readonly identity: string;
  /** True from a successful acquire until the lease is lost or released. */
  readonly leading: boolean;
  /** When the last attempt (acquire or renew) began, in ms since the epoch; 0 before the first. */
  readonly lastAttemptAt: number;
  readonly timing: Readonly<LeaderElectionTiming>;
  /** Tries every retry period until this candidate holds the lease; false when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<boolean>;
  /**
   * Renews the held lease every retry period until `signal` aborts ("stopped") or no renewal
   * succeeded within the renew deadline ("lost").
   */
  renew(signal: AbortSignal): Promise<RenewOutcome>;
  /** Gives the lease up (holder "") so a follower takes over at its next attempt; call after renew() ended. */
  release(): Promise<void>;
}

/** The pod's host name (its name in Kubernetes) and a random suffix, unique per process. */
export function defaultLeaderIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString("hex")}`;
}

/** Checks leaseDuration > renewDeadline > 1.2 × retryPeriod; throws an AgentError otherwise. */
export function checkTiming(timing: LeaderElectionTiming): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timing;
  if (!(retryPeriodMs > 0 && renewDeadlineMs > 1.2 * retryPeriodMs && leaseDurationMs > renewDeadlineMs)) {
    throw new AgentError(
      "invalid-config",
      `leader election needs lease duration > renew deadline > 1.2 × retry period (got ${leaseDurationMs}, ${renewDeadlineMs}, ${retryPeriodMs} ms)`,
    );
  }
}

/** Creates a {@link LeaderElector}; nothing happens until acquire(). */
export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const timing: LeaderElectionTiming = {
    leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION_TIMING.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION_TIMING.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION_TIMING.retryPeriodMs,
  };
  checkTiming(timing);
  const { lease } = options;
  const identity = options.identity ?? defaultLeaderIdentity();
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? pino({ level: "silent" })).child({ lease: lease.where, identity });
  let leading = false;
  let lastAttemptAt = 0;
  // The last record seen and when this candidate first saw it: the lease expires, for us,
  // leaseDuration after that moment unless it changes.
  let observed: StoredLease | undefined;
  let observedAt = 0;
  let lastProblem = "";

  const remember = (stored: StoredLease, at: number): void => {
    observed = stored;
    observedAt = at;
  };

  const attempt = async (): Promise<boolean> => {
    const now = clock.now();
    lastAttemptAt = now;
    const mine: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    const current = await lease.get();
    if (!current) {
      remember(await lease.create(mine), now);
      return true;
    }
    if (!observed || observed.resourceVersion !== current.resourceVersion) remember(current, now);
    const holder = current.record.holderIdentity;
    const expiresAt = observedAt + (current.record.leaseDurationSeconds || Math.ceil(timing.leaseDurationMs / 1000)) * 1000;
    if (holder !== "" && holder !== identity && now < expiresAt) return false;
    const next: LeaseRecord =
      holder === identity
        ? { ...mine, acquireTime: current.record.acquireTime || now, leaseTransitions: current.record.leaseTransitions }
        : { ...mine, leaseTransitions: current.record.leaseTransitions + 1 };
    remember(await lease.replace(next, current.resourceVersion), now);
    return true;
  };

  // An attempt that fails (a lost race, an unreachable API server) is not an error of the loop.
  const tryAttempt = async (): Promise<boolean> => {
    try {
      const won = await attempt();
      lastProblem = "";
      return won;
    } catch (error) {
      const conflict = error instanceof KubeApiError && error.statusCode === 409;
      const problem = messageOf(error);
      if (!conflict && problem !== lastProblem) logger.warn({ err: error }, `leader election attempt failed: ${problem}`);
      lastProblem = conflict ? "" : problem;
      return false;
    }
  };

  const retryDelay = (): number => timing.retryPeriodMs * (1 + Math.random() * 0.2);

  return {
    identity,
    timing,
    get leading() {
      return leading;
    },
    get lastAttemptAt() {
      return lastAttemptAt;
    },
    async acquire(signal) {
      let logged = false;
      while (!signal.aborted) {
        if (await tryAttempt()) {
          leading = true;
          logger.info("acquired the leader lease");
          return true;
        }
        if (!logged && observed) {
          logger.info({ holder: observed.record.holderIdentity }, "another replica leads; standing by");
          logged = true;
        }
        await clock.sleep(retryDelay(), signal);
      }
      return false;
    },
    async renew(signal) {
      let renewedAt = clock.now();
      for (;;) {
        await clock.sleep(timing.retryPeriodMs, signal);
        if (signal.aborted) return "stopped";
        if (await tryAttempt()) {
          renewedAt = clock.now();
          continue;
        }
        if (clock.now() - renewedAt >= timing.renewDeadlineMs) {
          leading = false;
          logger.error({ renewDeadlineMs: timing.renewDeadlineMs }, "could not renew the leader lease in time; no longer leading");
          return "lost";
        }
      }
    },
    async release() {
      if (!leading || !observed) return;
      leading = false;
      const now = clock.now();
      try {
        const released = await lease.replace(
          { ...observed.record, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now },
          observed.resourceVersion,
        );
        remember(released, now);
        logger.info("released the leader lease");
      } catch (error) {
        // Someone else holds it already, or the API server is away: the lease then expires.
        logger.warn({ err: error }, `could not release the leader lease: ${messageOf(error)}`);
      }
    },
  };
}
