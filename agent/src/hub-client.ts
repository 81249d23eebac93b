// The agent's view of the hub: Register once, then the Connect stream, and Renew when the
// credentials ran out without a stream to refresh them. The gRPC implementation sits behind
// small interfaces so tests (and other transports) can stand in for it.
import { AgentService, createClient, toRpcError } from "@gitfleet/proto";
import type {
  AgentMessageSchema,
  HubMessage,
  MessageInitShape,
  RegisterRequestSchema,
  RegisterResponse,
  RenewRequestSchema,
  RenewResponse,
} from "@gitfleet/proto";
import { credentials } from "@grpc/grpc-js";
import type { ChannelCredentials } from "@grpc/grpc-js";

/** A message the agent sends on the Connect stream. */
export type AgentMessageInit = MessageInitShape<typeof AgentMessageSchema>;
/** A Register request. */
export type RegisterRequestInit = MessageInitShape<typeof RegisterRequestSchema>;
/** A Renew request. */
export type RenewRequestInit = MessageInitShape<typeof RenewRequestSchema>;

/** How the agent's channel to the hub is secured. */
export type HubTls =
  /** TLS verified against the system's root certificates. */
  | { mode: "system" }
  /** TLS verified against the given CA certificates (PEM). */
  | { mode: "ca"; caPem: Buffer }
  /** TLS without any verification of the hub's certificate: for labs only. */
  | { mode: "insecure-skip-verify" }
  /** No TLS at all: for loopback and tests only. */
  | { mode: "plaintext" };

/** One open Connect stream. */
export interface HubStream {
  /** Sends a message; false when the stream is already closed. */
  send(message: AgentMessageInit): boolean;
  /**
   * The hub's messages, in order. Ends when the hub closes the stream; throws an RpcError
   * (from @gitfleet/proto) when it ends with a status other than OK.
   */
  messages(): AsyncIterable<HubMessage>;
  /** Cancels the stream; pending reads end. */
  close(): void;
}

/** The calls the agent makes to the hub. */
export interface HubClient {
  /** Registers the cluster; rejects with an RpcError carrying the hub's status and message. */
  register(request: RegisterRequestInit, options?: { deadlineMs?: number }): Promise<RegisterResponse>;
  /** Opens the Connect stream with the cluster's gRPC credential. */
  connect(grpcToken: string): HubStream;
  /**
   * Renews the credentials with a request signed by the agent's signing key (see
   * renewal.ts); rejects with an RpcError carrying the hub's status and message.
   */
  renew(request: RenewRequestInit, options?: { deadlineMs?: number; signal?: AbortSignal }): Promise<RenewResponse>;
  /** Closes the channel. */
  close(): void;
}

/** Options of {@link createHubClient}. */
export interface HubClientOptions {
  /** "host:port" (any grpc-js target works). */
  address: string;
  tls: HubTls;
  /**
   * The longest wait of the channel's own reconnect attempts; default 15 s. The agent sets its
   * heartbeat interval here, so a hub that comes back is tried within one heartbeat (grpc-js
   * would otherwise back off to 2 minutes).
   */
  maxReconnectBackoffMs?: number | undefined;
}

/** Creates a {@link HubClient} over one grpc-js channel. */
export function createHubClient(options: HubClientOptions): HubClient {
  const client = createClient(AgentService, options.address, channelCredentials(options.tls), {
    // The Connect stream is long-lived and mostly idle: pings find a dead peer (a hub replica
    // that vanished without closing) long before TCP would.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.initial_reconnect_backoff_ms": Math.min(1_000, options.maxReconnectBackoffMs ?? 15_000),
    "grpc.max_reconnect_backoff_ms": options.maxReconnectBackoffMs ?? 15_000,
  });
  return {
    register(request, callOptions = {}) {
      return client.register(request, { deadline: Date.now() + (callOptions.deadlineMs ?? 30_000) });
    },
    renew(request, callOptions = {}) {
      return client.renew(request, {
        deadline: Date.now() + (callOptions.deadlineMs ?? 30_000),
        signal: callOptions.signal,
      });
    },
    connect(grpcToken) {
      const call = client.connect({ metadata: { authorization: `Bearer ${grpcToken}` } });
      let closed = false;
      call.once("close", () => {
        closed = true;
      });
      // Errors surface through messages(); without a listener an "error" event would crash.
      call.on("error", () => {});
      return {
        send(message) {
          if (closed || call.writableEnded || call.destroyed) return false;
          // Messages are small and rare; grpc-js buffers the odd one a slow hub has not taken yet.
          call.write(message);
          return true;
        },
        async *messages() {
          try {
            for await (const message of call) yield message;
          } catch (error) {
            throw toRpcError(error);
          }
        },
        close() {
          closed = true;
          call.cancel();
        },
      };
    },
    close() {
      client.close();
    },
  };
}

/** Channel credentials for a {@link HubTls} choice. */
export function channelCredentials(tls: HubTls): ChannelCredentials {
  switch (tls.mode) {
    case "system":
      return credentials.createSsl();
    case "ca":
      return credentials.createSsl(tls.caPem);
    case "insecure-skip-verify":
      return credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
    case "plaintext":
      return credentials.createInsecure();
  }
}
