// Fleet-wide drift: an in-memory index of every cluster's drifted objects, fed by the hub's
// stores, answering queries and summaries without touching NATS.
export { bundleStanding } from "./bundle-standing.js";
export type { BundleStanding } from "./bundle-standing.js";
export { createDriftIndex } from "./drift-index.js";
export type { DriftIndex, DriftIndexOptions, IndexedClusterRecord } from "./drift-index.js";
export { decodeCursor } from "./cursor.js";
export { driftStateNames } from "./entries.js";
export type { DriftFieldView, DriftStateName, IndexedBundle } from "./entries.js";
export { feedDriftIndex } from "./feed.js";
export type { DriftSources } from "./feed.js";
export type { DriftItem, DriftPage, DriftPageRequest } from "./query.js";
export type { DriftFilter, DriftTotals } from "./scan.js";
export { driftGroupBys } from "./summary.js";
export type { DriftGroup, DriftGroupBy, DriftSummary } from "./summary.js";
export { clusterStates, clusterState, tallyFleet } from "./tally.js";
export type { ClusterState, FleetTally } from "./tally.js";
