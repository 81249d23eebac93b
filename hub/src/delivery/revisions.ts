// Resolving an older commit for today's clusters, on request (an environment diff at a revision):
// the commit's files from the Git source, then the same resolve() delivery publishes from, reusing
// the head's renders whose inputs did not change. The last few resolutions are kept, so looking
// at a range twice renders nothing again. Nothing here publishes.
import { DeliveryError } from "./errors.js";
import type { GitSource } from "./git/index.js";
import type { OverlayRenderer } from "./render/index.js";
import { resolve, type RenderMemo, type Resolution } from "./resolve.js";
import { compareCodeUnits, type ClusterRef } from "./snapshot.js";

/** A successful resolution. */
type Resolved = Extract<Resolution, { ok: true }>;

/** Options of {@link createRevisionResolver}. */
export interface RevisionResolverOptions {
  readonly source: Pick<GitSource, "snapshotAt">;
  readonly renderer: OverlayRenderer;
  /** The clusters to resolve for: those registered now. */
  readonly clusters: () => readonly ClusterRef[] | Promise<readonly ClusterRef[]>;
  /** The head's renders, reused where what they read is unchanged. */
  readonly memo: () => RenderMemo | undefined;
  /** Resolutions kept; default 4. */
  readonly maxEntries?: number | undefined;
}

/** Resolves commits other than the head, with a small cache. */
export interface RevisionResolver {
  /**
   * The resolution of a commit (whole or abbreviated sha) for the current clusters. Rejects
   * DeliveryError: "not-found" for an unknown commit, "invalid-argument" for a malformed one,
   * "failed-precondition" when that commit's fleet.yaml is invalid, "unavailable" when Git is.
   */
  resolutionAt(revision: string): Promise<Resolved>;
}

/** Creates a {@link RevisionResolver}. */
export function createRevisionResolver(options: RevisionResolverOptions): RevisionResolver {
  const maxEntries = Math.max(1, options.maxEntries ?? 4);
  // Least recently used first; a failed resolution is not kept.
  const cache = new Map<string, Promise<Resolved>>();

  const remember = (key: string, value: Promise<Resolved>): void => {
    cache.delete(key);
    cache.set(key, value);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    value.catch(() => {
      if (cache.get(key) === value) cache.delete(key);
    });
  };

  return {
    async resolutionAt(revision) {
      const snapshot = await options.source.snapshotAt(revision);
      const clusters = [...(await options.clusters())].sort((a, b) => compareCodeUnits(a.id, b.id));
      const key = JSON.stringify([snapshot.commit, clusters.map((c) => [c.id, c.name, c.labels, c.variables ?? {}])]);
      const cached = cache.get(key);
      if (cached !== undefined) {
        remember(key, cached);
        return await cached;
      }
      const resolving = resolve({ snapshot, clusters, renderer: options.renderer, previous: options.memo() }).then((resolution) => {
        if (resolution.ok) return resolution;
        throw new DeliveryError("failed-precondition", "fleet-file-invalid", `fleet.yaml at commit ${snapshot.commit.slice(0, 12)} is invalid: ${resolution.error.message}`, {
          cause: resolution.error,
        });
      });
      remember(key, resolving);
      return await resolving;
    },
  };
}
