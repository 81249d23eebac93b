// Plugs the delivery part (./delivery) into the hub's DeliveryFactory contract.
import type { HubConfig } from "./config.js";
import type { DeliveryFactory } from "./delivery-contract.js";
import { createDelivery } from "./delivery/delivery.js";

/** The delivery factory for the fleet repository of `git`. */
export function gitDelivery(git: NonNullable<HubConfig["git"]>): DeliveryFactory {
  return (context) => {
    const delivery = createDelivery({
      source: { url: git.url, branch: git.branch, pollIntervalMs: git.pollIntervalMs },
      nats: context.nc,
      clusters: context.clusters,
      log: context.logger,
      replicas: context.replicas,
    });
    return {
      start: () => delivery.start(),
      stop: () => delivery.stop(),
      triggerFetch: () => delivery.triggerFetch(),
      onClustersChanged: () => delivery.clustersChanged(),
      purge: (clusterId) => delivery.purge(clusterId),
      errorsFor: (clusterId) => delivery.errorsFor(clusterId),
    };
  };
}
