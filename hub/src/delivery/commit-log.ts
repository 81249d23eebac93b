// The commits the hub fetched, newest last, with what each says about itself: a bounded memory
// that history reads commit subjects and authors from, and that tells whether one commit comes
// after another. Fetches are shallow, so a commit the hub skipped (two pushes between fetches)
// has no entry; it is still known as the parent of the commit after it.
import type { CommitInfo } from "./snapshot.js";

/** Commits the hub fetched, bounded. */
export interface CommitLog {
  /** Remembers a fetched commit (again: moves it to the newest). */
  remember(commit: string, info: CommitInfo): void;
  /** What a fetched commit says about itself, while it is remembered. */
  info(commit: string): CommitInfo | undefined;
  /**
   * True when `head` is `ancestor` or comes after it: `ancestor` is reached through the parents
   * of remembered commits, or, where that walk meets a commit the hub never fetched, `ancestor`
   * was fetched before `head`.
   */
  descends(head: string, ancestor: string): boolean;
}

/** Creates an empty log that keeps the newest `max` commits (default 1,000). */
export function createCommitLog(max = 1_000): CommitLog {
  const commits = new Map<string, { info: CommitInfo; order: number }>();
  let next = 0;
  return {
    remember(commit, info) {
      commits.delete(commit);
      commits.set(commit, { info, order: next++ });
      while (commits.size > max) {
        const oldest = commits.keys().next();
        if (oldest.done === true) break;
        commits.delete(oldest.value);
      }
    },
    info: (commit) => commits.get(commit)?.info,
    descends(head, ancestor) {
      if (head === ancestor) return true;
      const seen = new Set<string>([head]);
      const queue = [head];
      let broken = false;
      while (queue.length > 0) {
        const entry = commits.get(queue.shift() ?? "");
        if (!entry) {
          broken = true;
          continue;
        }
        for (const parent of entry.info.parents) {
          if (parent === ancestor) return true;
          if (!seen.has(parent)) {
            seen.add(parent);
            queue.push(parent);
          }
        }
      }
      const [h, a] = [commits.get(head), commits.get(ancestor)];
      return broken && h !== undefined && a !== undefined && a.order < h.order;
    },
  };
}
