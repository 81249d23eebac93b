#!/usr/bin/env node
// gitfleet-agent: the process around createAgent and its probe server. Configuration errors
// and registration refusals end it with one clear line on stderr; SIGINT/SIGTERM stop it
// cleanly; a leader that loses its lease exits with 1, to come back as a follower.
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createAgent } from "./agent.js";
import type { AgentCommand } from "./config.js";
import { parseCommand, usage } from "./config.js";
import { AgentError, ConfigError, RegistrationError } from "./errors.js";
import type { HubTls } from "./hub-client.js";
import { loadKubeConfig } from "./kube-client.js";
import { createAgentMetrics } from "./metrics.js";
import { startProbeServer } from "./probe-server.js";
import type { ProbeServer } from "./probe-server.js";
import { AGENT_VERSION } from "./version.js";

function fail(message: string, code: number): number {
  process.stderr.write(`gitfleet-agent: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  return code;
}

async function main(): Promise<number> {
  let command: AgentCommand;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(`${error.message} (see gitfleet-agent --help)`, 2);
    throw error;
  }
  if (command.kind === "help") {
    process.stdout.write(usage());
    return 0;
  }
  if (command.kind === "version") {
    process.stdout.write(`gitfleet-agent ${AGENT_VERSION}\n`);
    return 0;
  }
  const { config } = command;

  let hubTls: HubTls;
  if (config.tls.mode === "ca") {
    try {
      hubTls = { mode: "ca", caPem: await readFile(config.tls.caFile) };
    } catch (error) {
      return fail(`cannot read the hub CA file ${config.tls.caFile}: ${messageOf(error)}`, 2);
    }
  } else {
    hubTls = config.tls;
  }
  let natsCaPem: string | undefined;
  if (config.natsCaFile !== undefined) {
    try {
      natsCaPem = await readFile(config.natsCaFile, "utf8");
    } catch (error) {
      return fail(`cannot read the NATS CA file ${config.natsCaFile} (--nats-ca / GITFLEET_NATS_CA): ${messageOf(error)}`, 2);
    }
  }
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(config.kubeconfig);
  } catch (error) {
    return fail(messageOf(error), 2);
  }

  const logger = pino({ level: config.logLevel, base: { service: "gitfleet-agent", version: AGENT_VERSION } });
  for (const warning of command.warnings) logger.warn(warning);
  const metrics = createAgentMetrics({ version: AGENT_VERSION });
  const agent = createAgent({
    kubeConfig,
    metrics,
    hub: config.hub,
    token: config.token,
    clusterName: config.clusterName,
    labels: config.labels,
    namespace: config.namespace,
    agentRbac: config.agentRbac,
    hubTls,
    natsCaPem,
    reconcileIntervalMs: config.reconcileIntervalMs,
    loopGuard: config.loopGuard,
    ...(config.leaderElect ? { leaderElection: {} } : {}),
    onLeadershipLost: () => {
      lost = true;
      onStopped();
    },
    logger,
  });

  let stopped: Promise<void> | undefined;
  let lost = false;
  let onStopped: () => void = () => {};
  const untilStopped = new Promise<void>((resolve) => {
    onStopped = resolve;
  });
  let probes: ProbeServer | undefined;
  if (config.healthAddress !== undefined) {
    try {
      probes = await startProbeServer({
        address: config.healthAddress,
        liveness: () => agent.probes().live,
        readiness: () => agent.probes().ready,
        metrics,
      });
    } catch (error) {
      return fail(messageOf(error), 2);
    }
    logger.info({ address: config.healthAddress, port: probes.port }, "serving /healthz, /readyz and /metrics");
  }
  const lostLease = (): number => fail("lost the leader lease gitfleet-agent; exiting so that this replica stands by again", 1);
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopped) {
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(130);
    }
    logger.info({ signal }, "stopping");
    stopped = agent.stop().then(onStopped, (error: unknown) => {
      logger.error({ err: error }, "error while stopping");
      onStopped();
    });
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  try {
    await agent.start();
  } catch (error) {
    await agent.stop().catch(() => undefined);
    await probes?.close();
    if (lost) return lostLease();
    // A signal during start (e.g. while waiting for an unreachable hub) is a normal stop.
    if (stopped) return 0;
    if (error instanceof RegistrationError) return fail(error.message, 1);
    if (error instanceof AgentError) return fail(error.message, 1);
    throw error;
  }
  if (!stopped) logger.info({ leading: agent.leading }, "agent started");
  await untilStopped;
  await probes?.close();
  if (lost) return lostLease();
  logger.info("agent stopped");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the event loop (a socket in its close handshake) gets a moment, not forever.
    setTimeout(() => process.exit(code), 5_000).unref();
  },
  (error: unknown) => {
    process.exitCode = fail(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1);
  },
);
