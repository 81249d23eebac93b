// The Connect streams open on this hub replica, by cluster.
import type { HubMessageSchema, MessageInitShape, RpcError } from "@gitfleet/proto";

/** What the hub may send on a Connect stream. */
export type HubMessageInit = MessageInitShape<typeof HubMessageSchema>;

/** One open Connect stream of an agent. */
export interface AgentSession {
  readonly id: string;
  readonly clusterId: string;
  /** Credential epoch the agent authenticated with. */
  readonly epoch: number;
  /** Sends a message to the agent; dropped when the stream has ended. */
  send(message: HubMessageInit): void;
  /** Ends the stream: with `error` as its status, or OK. */
  close(error?: RpcError): void;
  /** Resolves once the stream has ended and the session's pending writes are done. */
  readonly done: Promise<void>;
}

/** The sessions of this replica. */
export interface SessionRegistry {
  add(session: AgentSession): void;
  remove(session: AgentSession): void;
  forCluster(clusterId: string): AgentSession[];
  /** Every open session. */
  list(): AgentSession[];
  /** Number of open sessions. */
  readonly size: number;
  /** Closes the sessions of a cluster that `filter` selects (all by default). */
  closeCluster(clusterId: string, error: RpcError, filter?: (session: AgentSession) => boolean): void;
  /** Closes every session and waits for their pending writes. */
  closeAll(error?: RpcError): Promise<void>;
}

/** Creates an empty session registry. */
export function createSessionRegistry(): SessionRegistry {
  const byCluster = new Map<string, Set<AgentSession>>();
  const all = (): AgentSession[] => [...byCluster.values()].flatMap((set) => [...set]);
  return {
    add(session) {
      const set = byCluster.get(session.clusterId) ?? new Set();
      set.add(session);
      byCluster.set(session.clusterId, set);
    },
    remove(session) {
      const set = byCluster.get(session.clusterId);
      if (!set) return;
      set.delete(session);
      if (set.size === 0) byCluster.delete(session.clusterId);
    },
    forCluster: (clusterId) => [...(byCluster.get(clusterId) ?? [])],
    list: () => all(),
    get size() {
      return all().length;
    },
    closeCluster(clusterId, error, filter = () => true) {
      for (const session of [...(byCluster.get(clusterId) ?? [])]) {
        if (filter(session)) session.close(error);
      }
    },
    async closeAll(error) {
      const sessions = all();
      for (const session of sessions) session.close(error);
      await Promise.all(sessions.map((s) => s.done));
    },
  };
}
