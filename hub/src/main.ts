#!/usr/bin/env node
// gitfleet-hub: reads the configuration, starts the hub, stops it cleanly on SIGINT/SIGTERM.
import { adminTokenAnnouncer } from "./admin-bootstrap.js";
import { pino } from "pino";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { ConfigError, HelpRequested, loadConfig, usage, VersionRequested, type HubConfig } from "./config.js";
import { gitDelivery } from "./delivery-adapter.js";
import { createHub } from "./hub.js";

async function main(): Promise<number> {
  let config: HubConfig;
  try {
    config = await loadConfig();
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    if (err instanceof VersionRequested) {
      process.stdout.write(`gitfleet-hub ${PRODUCT_VERSION}\n`);
      return 0;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`gitfleet-hub: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const logger = pino({ name: "gitfleet-hub", level: config.logLevel });
  if (!config.git) logger.warn("GITFLEET_GIT_URL is not set: the hub registers clusters but publishes no desired state");
  const hub = createHub({
    logger,
    nats: config.nats,
    account: config.account,
    agentAccount: config.agentAccount,
    natsRevocation: config.natsRevocation,
    agentNatsServers: config.agentNatsServers,
    httpAddress: config.httpAddress,
    metricsAddress: config.metricsAddress,
    grpcAddress: config.grpcAddress,
    grpcTls: config.grpcTls,
    grpcAllowPlaintext: config.grpcAllowPlaintext,
    apiTls: config.apiTls,
    apiTokens: config.apiTokens,
    webhookSecret: config.webhookSecret,
    announceAdminToken: adminTokenAnnouncer({ file: config.adminTokenFile, logger }),
    credentialTtlMs: config.credentialTtlMs,
    heartbeatIntervalSeconds: config.heartbeatIntervalSeconds,
    deliveryLeaseTtlMs: config.deliveryLeaseTtlMs,
    eventLimits: config.eventLimits,
    historyPerCluster: config.historyPerCluster,
    notificationSinks: config.notificationSinks,
    delivery: config.git ? gitDelivery(config.git, { kustomize: config.kustomize }) : undefined,
  });

  const started = hub.start();
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "stopping");
      // A signal during start stops the hub once start has settled.
      void started
        .catch(() => undefined)
        .then(() => hub.stop())
        .catch((err: unknown) => logger.error({ err }, "error while stopping"))
        .then(resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });

  try {
    await started;
  } catch (err) {
    logger.fatal({ err }, "the hub could not start");
    return 1;
  }
  await stopped;
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gitfleet-hub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
