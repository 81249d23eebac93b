import { EventEmitter } from "node:events";
import type { AgentEvent, StatusReport } from "@gitfleet/proto";
import type { DeliveryRoleChange } from "./delivery/index.js";
import type { ClusterRecord } from "./store/clusters.js";

/** Events of a hub, with their arguments. */
export interface HubEventMap {
  /** A cluster registered through this replica; its desired state should be published now. */
  "cluster-registered": [cluster: ClusterRecord];
  /** A cluster was deleted (through any replica). */
  "cluster-deleted": [cluster: ClusterRecord];
  /**
   * The set of clusters or their names, labels or variables changed (through any replica);
   * carries every cluster. Heartbeats and status do not fire it.
   */
  "clusters-changed": [clusters: readonly ClusterRecord[]];
  /**
   * An agent connected to this replica reported status: `report` is the cluster's whole status
   * after the report (partial reports merged in), `previous` the whole status before it.
   */
  "status-reported": [clusterId: string, report: StatusReport, previous: StatusReport | undefined];
  /**
   * An agent connected to this replica reported what it did (AgentMessage.events), at most a
   * bounded number per message; the events are not checked yet.
   */
  "agent-events": [clusterId: string, events: readonly AgentEvent[]];
  /** This replica became the delivery leader or stopped being it (docs/high-availability.md). */
  "delivery-role": [change: DeliveryRoleChange];
}

/** The hub's event emitter; listeners must not throw. */
export type HubEvents = EventEmitter<HubEventMap>;

/** Creates a hub event emitter. */
export function createHubEvents(): HubEvents {
  return new EventEmitter<HubEventMap>();
}
