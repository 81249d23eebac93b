// A limit on failed authentication per client address, so guessing tokens is slow and cheap to
// refuse. Only failures count: requests with a valid token are never limited.
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** How many failed authentications one address may make in a window. */
export interface FailedAuthLimit {
  /** Failures allowed per window; default 20. */
  max: number;
  /** The window in milliseconds; default one minute. */
  windowMs: number;
}

/** The default: 20 failed authentications per address and minute. */
export const defaultFailedAuthLimit: FailedAuthLimit = { max: 20, windowMs: 60_000 };

/**
 * Counts one failed authentication of a request's address; resolves with the seconds to
 * wait when the address is over its limit, undefined while it is within it.
 */
export type FailedAuthCounter = (request: FastifyRequest) => Promise<number | undefined>;

/**
 * Registers `@fastify/rate-limit` on `app` without any global limit and returns the counter
 * the error handler calls for every 401.
 */
export async function installFailedAuthLimit(app: FastifyInstance, limit: FailedAuthLimit = defaultFailedAuthLimit): Promise<FailedAuthCounter> {
  await app.register(rateLimit, { global: false });
  const check = app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs, keyGenerator: (request) => request.ip });
  return async (request) => {
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return undefined;
    return Math.max(1, result.ttlInSeconds);
  };
}
