// The grpc-js server that serves AgentService, with optional TLS.
import { readFile } from "node:fs/promises";
import { addService, AgentService, type ServiceImplementation } from "@gitfleet/proto";
import { isLoopbackHost, messageOf } from "@gitfleet/proto/rules";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { parseHostPort } from "../api/server.js";
import { HubError } from "../errors.js";

/** Paths of the PEM files of the gRPC server's TLS certificate. */
export interface GrpcTlsOptions {
  certPath: string;
  keyPath: string;
}

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port`; port 0 picks a free one. */
  address: string;
  implementation: ServiceImplementation<typeof AgentService>;
  /** Serves TLS when given, plaintext otherwise. */
  tls?: GrpcTlsOptions | undefined;
  /** Serve plaintext on a non-loopback address; refused without it (see {@link plaintextGrpcProblem}). */
  allowPlaintext?: boolean | undefined;
  logger: Logger;
  /** How long stop() waits for calls to finish before cancelling them; default 5 s. */
  shutdownGraceMs?: number;
}

/** A gRPC server that can be started and stopped once. */
export interface GrpcServer {
  /** Binds and serves; resolves with the bound port. */
  start(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Why the hub must not serve plaintext gRPC on `address`, or undefined when it may: agents send
 * their tokens on that channel, so plaintext is for loopback (tests, the demo) unless the operator
 * says so (e.g. a service mesh encrypts between pods). The message names the settings.
 */
export function plaintextGrpcProblem(address: string, allowPlaintext: boolean): string | undefined {
  if (allowPlaintext) return undefined;
  const { host } = parseHostPort(address, "GITFLEET_GRPC_ADDR");
  if (isLoopbackHost(host)) return undefined;
  return (
    `refusing to serve plaintext gRPC on ${address} (not a loopback address): agents send their credentials on it. ` +
    "Set GITFLEET_GRPC_TLS_CERT and GITFLEET_GRPC_TLS_KEY (--grpc-tls-cert, --grpc-tls-key), or, when something else " +
    "encrypts the traffic (a service mesh), GITFLEET_GRPC_ALLOW_PLAINTEXT=true (--grpc-allow-plaintext)"
  );
}

/** Creates the hub's gRPC server. */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { logger } = options;
  const server = new Server({
    // Agents hold one long stream; let idle ones be noticed.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
  });
  addService(server, AgentService, options.implementation, {
    onInternalError: (err, method) => logger.error({ err, method: method.name }, "AgentService call failed"),
  });

  const credentials = async (): Promise<ServerCredentials> => {
    if (!options.tls) return ServerCredentials.createInsecure();
    try {
      const [cert, key] = await Promise.all([readFile(options.tls.certPath), readFile(options.tls.keyPath)]);
      return ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
    } catch (err) {
      throw new HubError("invalid-argument", `cannot load the gRPC TLS certificate: ${messageOf(err)}`, { cause: err });
    }
  };

  return {
    async start() {
      const problem = options.tls ? undefined : plaintextGrpcProblem(options.address, options.allowPlaintext ?? false);
      if (problem !== undefined) throw new HubError("invalid-argument", problem);
      const creds = await credentials();
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(options.address, creds, (err, bound) => {
          if (err) reject(new HubError("unavailable", `cannot listen for gRPC on ${options.address}: ${err.message}`, { cause: err }));
          else resolve(bound);
        });
      });
      logger.info({ address: options.address, port, tls: options.tls !== undefined }, "gRPC server listening");
      if (!options.tls && options.allowPlaintext) {
        logger.warn({ address: options.address }, "serving plaintext gRPC as allowed by GITFLEET_GRPC_ALLOW_PLAINTEXT: agents' credentials cross the network unencrypted unless something else encrypts it");
      }
      return port;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, options.shutdownGraceMs ?? 5_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
