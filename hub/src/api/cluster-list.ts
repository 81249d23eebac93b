// The cluster list's pages and its bundle cells (the web UI's overview grid). Pure.
import type { BundleStatus } from "@gitfleet/proto";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { shownState } from "./status-views.js";

/** One page of clusters sorted by name. */
export interface ClusterPage {
  items: ClusterRecord[];
  total: number;
  /** Cursor of the next page; null on the last one. */
  continue: string | null;
}

const cursorPrefix = "c1:";

/** Encodes the name a page ended at. */
export function encodeClusterCursor(name: string): string {
  return cursorPrefix + Buffer.from(name, "utf8").toString("base64url");
}

/** The name a cursor resumes after; throws HubError `invalid-argument` on anything else. */
export function decodeClusterCursor(cursor: string): string {
  const name = cursor.startsWith(cursorPrefix) ? Buffer.from(cursor.slice(cursorPrefix.length), "base64url").toString("utf8") : "";
  if (name === "" || encodeClusterCursor(name) !== cursor) {
    throw new HubError("invalid-argument", `continue: "${cursor}" is not a cursor of this list; pass the continue of the previous page`);
  }
  return name;
}

/**
 * The page of `sorted` (sorted by name, as the store lists) after the cursor `after`, of at most
 * `limit` clusters; every cluster when `limit` is undefined.
 */
export function clusterPage(sorted: readonly ClusterRecord[], limit: number | undefined, after: string | undefined): ClusterPage {
  let start = 0;
  if (after !== undefined) {
    const name = decodeClusterCursor(after);
    // Names are unique; the first one sorting after the cursor's starts the page, so a cluster
    // removed between pages does not restart the list.
    start = sorted.findIndex((c) => c.name.localeCompare(name) > 0);
    if (start < 0) start = sorted.length;
  }
  const end = limit === undefined ? sorted.length : Math.min(sorted.length, start + limit);
  const items = sorted.slice(start, end);
  const last = items.at(-1);
  return { items, total: sorted.length, continue: end < sorted.length && last ? encodeClusterCursor(last.name) : null };
}

/** The bundles of a cluster's status as list cells: sync and health as shown, drifted objects. */
export function bundleCells(bundles: readonly BundleStatus[], stale: boolean): { name: string; sync: string; health: string; revision: string; drifted: number }[] {
  return bundles.map((b) => {
    const { sync, health } = shownState(b.sync, b.health, stale);
    return { name: b.name, sync, health, revision: b.revision, drifted: b.driftedCount };
  });
}
