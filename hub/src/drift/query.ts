// A page of drifted objects in a stable order, with the totals of the whole result and a
// cursor to the rest: a query is never silently capped. Pure.
import { compareKeys, driftKey, encodeCursor, type DriftKey } from "./cursor.js";
import type { DriftFieldView, DriftObject, DriftStateName } from "./entries.js";
import { scanDrift, type DriftFilter, type DriftTotals, type ScanClock, type ScannedCluster } from "./scan.js";

/** One drifted object of one cluster, as GET /api/v1/drift shows it. */
export interface DriftItem {
  cluster: string;
  bundle: string;
  resource: DriftObject["resource"];
  state: DriftStateName;
  fields: DriftFieldView[];
  /** Drifted fields the agent left out of `fields` to bound its message. */
  fieldsOmitted: number;
  revision: string;
  firstSeen: string | null;
  lastSeen: string | null;
  /** Corrections of the object within the agent's loop-guard window. */
  corrections: number;
  /** The cluster is stale: this is the last drift it reported. */
  stale: boolean;
}

/** Which page to answer. */
export interface DriftPageRequest {
  /** Most items in the page. */
  limit: number;
  /** Start after this key (from a `continue` token). */
  after?: DriftKey | undefined;
}

/** A page of drift. */
export interface DriftPage {
  items: DriftItem[];
  totals: DriftTotals;
  /** Token for the next page; undefined on the last one. */
  continue: string | undefined;
}

function item({ cluster, object: o, stale }: Picked): DriftItem {
  return {
    cluster: cluster.name,
    bundle: o.bundle,
    resource: o.resource,
    state: o.state,
    fields: o.fields,
    fieldsOmitted: o.fieldsOmitted,
    revision: o.revision,
    firstSeen: o.firstSeen,
    lastSeen: o.lastSeen,
    corrections: o.corrections,
    stale,
  };
}

interface Picked {
  cluster: ScannedCluster;
  object: DriftObject;
  stale: boolean;
}

/** Answers one page of `filter` over `clusters`: selected by label already, sorted by name. */
export function queryDrift(clusters: readonly ScannedCluster[], filter: DriftFilter, clock: ScanClock, page: DriftPageRequest): DriftPage {
  const picked: Picked[] = [];
  let more = false;
  const { after } = page;
  const totals = scanDrift(clusters, filter, clock, {
    object(cluster, object, stale) {
      if (more) return;
      if (after && (cluster.name < after[0] || compareKeys(driftKey(cluster.name, object), after) <= 0)) return;
      if (picked.length < page.limit) picked.push({ cluster, object, stale });
      else more = true;
    },
    // Past a full page, the rest only counts.
    wantsObjects: () => !more,
  });
  const last = picked.at(-1);
  return {
    items: picked.map(item),
    totals,
    continue: more && last ? encodeCursor(driftKey(last.cluster.name, last.object)) : undefined,
  };
}
