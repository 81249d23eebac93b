// Resync requests reach an agent whichever hub replica holds its stream: they go
// over a hub-only NATS subject that every replica listens to.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { ResyncRequest } from "./grpc/agent-service.js";

/** The hub-internal subject of resync requests (agents may not use it). */
export const resyncSubject = "gitfleet.hub.resync";

interface ResyncMessage {
  clusterId: string;
  reason: string;
  bundles: string[];
}

/** Options of {@link createResyncBroadcast}. */
export interface ResyncBroadcastOptions {
  nc: NatsConnection;
  logger: Logger;
  /** Delivers a request to this replica's streams of the cluster. */
  deliverLocal: (clusterId: string, request: ResyncRequest) => number;
}

/** Sends resync requests to every replica and delivers those meant for this one's streams. */
export interface ResyncBroadcast {
  resync(clusterId: string, request: ResyncRequest): Promise<void>;
  stop(): Promise<void>;
}

/** Subscribes to the resync subject and returns the sender. */
export function createResyncBroadcast(options: ResyncBroadcastOptions): ResyncBroadcast {
  const { nc, logger } = options;
  const subscription: Subscription = nc.subscribe(resyncSubject, {
    callback: (err, msg) => {
      if (err) {
        logger.warn({ err }, "resync subscription failed");
        return;
      }
      try {
        const m = msg.json<ResyncMessage>();
        if (typeof m.clusterId !== "string" || typeof m.reason !== "string" || !Array.isArray(m.bundles)) return;
        const delivered = options.deliverLocal(m.clusterId, { reason: m.reason, bundles: m.bundles.map(String) });
        if (delivered > 0) logger.info({ clusterId: m.clusterId, reason: m.reason }, "resync sent to agent");
      } catch (e) {
        logger.warn({ err: e }, "ignoring a malformed resync message");
      }
    },
  });
  return {
    async resync(clusterId, request) {
      const message: ResyncMessage = { clusterId, reason: request.reason, bundles: [...(request.bundles ?? [])] };
      nc.publish(resyncSubject, JSON.stringify(message));
      await nc.flush();
    },
    async stop() {
      if (!nc.isClosed()) await subscription.drain();
    },
  };
}
