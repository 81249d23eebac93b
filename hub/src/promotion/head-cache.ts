// The fleet repository's head for the background loops and the views, fetched at most once per
// `maxAgeMs` (a fetch is a Git round trip); promotions themselves always read it fresh.
import type { FleetRepository, RepositoryHead } from "./contracts.js";

/** A cached head. */
export interface HeadCache {
  /** The head, fetched again when older than maxAgeMs; concurrent callers share one fetch. */
  get(): Promise<RepositoryHead>;
  /** Forgets the cached head (e.g. after a commit), so the next get fetches. */
  invalidate(): void;
}

/** Creates a {@link HeadCache}. */
export function createHeadCache(options: { repository: FleetRepository; maxAgeMs: number; now: () => Date }): HeadCache {
  const { repository, maxAgeMs, now } = options;
  let cached: { head: RepositoryHead; at: number } | undefined;
  let inflight: Promise<RepositoryHead> | undefined;
  return {
    get() {
      if (cached && now().getTime() - cached.at < maxAgeMs) return Promise.resolve(cached.head);
      inflight ??= repository
        .head()
        .then((head) => {
          cached = { head, at: now().getTime() };
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
