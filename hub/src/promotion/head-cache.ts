// The fleet repository's head for the background loops and the views, fetched at most once per
// `maxAgeMs` (a fetch is a Git round trip), and again as soon as delivery has moved to another
// commit (a push, a webhook), so views never lag the commit the fleet runs; promotions themselves
// always read it fresh.
import type { FleetRepository, RepositoryHead } from "./contracts.js";

/** A cached head. */
export interface HeadCache {
  /** The head, fetched again when older than maxAgeMs; concurrent callers share one fetch. */
  get(): Promise<RepositoryHead>;
  /** Forgets the cached head (e.g. after a commit), so the next get fetches. */
  invalidate(): void;
}

/** Creates a {@link HeadCache}. */
export function createHeadCache(options: {
  repository: FleetRepository;
  maxAgeMs: number;
  /** The commit delivery last resolved; a change of it makes the cached head old at once. */
  delivered?: (() => string | undefined) | undefined;
  now: () => Date;
}): HeadCache {
  const { repository, maxAgeMs, now } = options;
  const delivered = options.delivered ?? (() => undefined);
  // Compared with what delivery had resolved when the head was fetched, not with the head itself:
  // a head whose fleet.yaml is invalid is never resolved, and must not be fetched on every call.
  let cached: { head: RepositoryHead; at: number; delivered: string | undefined } | undefined;
  let inflight: Promise<RepositoryHead> | undefined;
  return {
    get() {
      const current = delivered();
      if (cached && cached.delivered === current && now().getTime() - cached.at < maxAgeMs) return Promise.resolve(cached.head);
      inflight ??= repository
        .head()
        .then((head) => {
          cached = { head, at: now().getTime(), delivered: current };
          return head;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
