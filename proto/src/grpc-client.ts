// The typed client half of the grpc-js bridge: one method per RPC, derived from the service
// descriptor, with unary calls as promises and streams as grpc-js streams.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Client, Metadata, status } from "@grpc/grpc-js";
import type {
  CallOptions as GrpcCallOptions,
  ChannelCredentials,
  ClientDuplexStream,
  ClientOptions,
  ClientReadableStream,
  ClientWritableStream,
  Deadline,
  ServiceError,
} from "@grpc/grpc-js";
import { deserializer, methodPath, serializer } from "./grpc-bridge.js";
import type { MessageStream, RequestInitOf, ResponseOf } from "./grpc-bridge.js";
import { RpcError, toRpcError } from "./rpc-error.js";

/** Per-call options of a client method. */
export interface CallOptions {
  /** Request metadata, e.g. `{ authorization: "Bearer <token>" }`. */
  metadata?: Metadata | Record<string, string> | undefined;
  /** When the call fails with DEADLINE_EXCEEDED: a Date, or milliseconds since the epoch. */
  deadline?: Deadline | undefined;
  /** Cancels the call when aborted; the caller then sees status CANCELLED. */
  signal?: AbortSignal | undefined;
}

/** A unary method: resolves with the response or rejects with an {@link RpcError}. */
export type UnaryClientMethod<M extends DescMethod> = (
  request: RequestInitOf<M>,
  options?: CallOptions,
) => Promise<ResponseOf<M>>;

/** A server-streaming method: returns the stream of responses (typed for `for await`). */
export type ServerStreamingClientMethod<M extends DescMethod> = (
  request: RequestInitOf<M>,
  options?: CallOptions,
) => MessageStream<ClientReadableStream<ResponseOf<M>>, ResponseOf<M>>;

/** A client-streaming call: write requests to `call`, end it, then await `response`. */
export interface ClientStreamingCall<M extends DescMethod> {
  /** The request stream. */
  call: ClientWritableStream<RequestInitOf<M>>;
  /** The single response; rejects with an {@link RpcError}. */
  response: Promise<ResponseOf<M>>;
}

/** A client-streaming method: opens the call. */
export type ClientStreamingClientMethod<M extends DescMethod> = (options?: CallOptions) => ClientStreamingCall<M>;

/**
 * A bidi-streaming method: returns the duplex stream (typed for `for await`); its "error"
 * events carry a grpc-js ServiceError, which {@link toRpcError} turns into an RpcError.
 */
export type BidiStreamingClientMethod<M extends DescMethod> = (
  options?: CallOptions,
) => MessageStream<ClientDuplexStream<RequestInitOf<M>, ResponseOf<M>>, ResponseOf<M>>;

/** The client method shape for one method, chosen by its kind. */
export type ClientMethod<M extends DescMethod> = M extends { methodKind: "unary" }
  ? UnaryClientMethod<M>
  : M extends { methodKind: "server_streaming" }
    ? ServerStreamingClientMethod<M>
    : M extends { methodKind: "client_streaming" }
      ? ClientStreamingClientMethod<M>
      : M extends { methodKind: "bidi_streaming" }
        ? BidiStreamingClientMethod<M>
        : never;

/** Lifecycle of the channel behind a {@link ServiceClient}. */
export interface ClientControl {
  /** Closes the channel; calls in flight are cancelled. */
  close(): void;
  /** Resolves once the channel is connected, or rejects at the deadline. */
  waitForReady(deadline: Deadline): Promise<void>;
}

/** A typed client of a service: one method per RPC by local name, plus channel control. */
export type ServiceClient<S extends DescService> = {
  [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
} & ClientControl;

const reserved = new Set<string>(["close", "waitForReady"]);

/**
 * Creates a typed client of `service` on one grpc-js channel to `address`
 * ("host:port"). Requests may be messages or plain init objects.
 */
export function createClient<S extends DescService>(
  service: S,
  address: string,
  credentials: ChannelCredentials,
  options?: ClientOptions,
): ServiceClient<S> {
  const client = new Client(address, credentials, options);
  const methods: Record<string, unknown> = {
    close: () => {
      client.close();
    },
    waitForReady: (deadline: Deadline) =>
      new Promise<void>((resolve, reject) => {
        client.waitForReady(deadline, (error) => (error ? reject(error) : resolve()));
      }),
  };
  for (const method of service.methods) {
    if (reserved.has(method.localName)) {
      throw new TypeError(`${service.typeName}: method ${method.name} collides with the client's own "${method.localName}"`);
    }
    methods[method.localName] = clientMethod(client, method);
  }
  return methods as ServiceClient<S>;
}

function clientMethod(client: Client, method: DescMethod): unknown {
  const path = methodPath(method);
  const serialize = serializer(method.input);
  const deserialize = deserializer(method.output);
  switch (method.methodKind) {
    case "unary":
      return (request: RequestInitOf<DescMethod>, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          let detach = () => {};
          const call = client.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            request,
            toMetadata(options.metadata),
            toGrpcOptions(options),
            (error, response) => {
              detach();
              settle(resolve, reject, error, response);
            },
          );
          detach = onAbort(options.signal, () => call.cancel());
        });
    case "server_streaming":
      return (request: RequestInitOf<DescMethod>, options: CallOptions = {}) => {
        const call = client.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          request,
          toMetadata(options.metadata),
          toGrpcOptions(options),
        );
        cancelOnClose(call, onAbort(options.signal, () => call.cancel()));
        return call;
      };
    case "client_streaming":
      return (options: CallOptions = {}) => {
        let finish: (error: ServiceError | null, value: unknown) => void = () => {};
        const response = new Promise((resolve, reject) => {
          finish = (error, value) => settle(resolve, reject, error, value);
        });
        // A caller that only writes and never awaits must not crash the process on failure.
        response.catch(() => {});
        let detach = () => {};
        const call = client.makeClientStreamRequest(
          path,
          serialize,
          deserialize,
          toMetadata(options.metadata),
          toGrpcOptions(options),
          (error, value) => {
            detach();
            finish(error, value);
          },
        );
        detach = onAbort(options.signal, () => call.cancel());
        return { call, response };
      };
    case "bidi_streaming":
      return (options: CallOptions = {}) => {
        const call = client.makeBidiStreamRequest(
          path,
          serialize,
          deserialize,
          toMetadata(options.metadata),
          toGrpcOptions(options),
        );
        cancelOnClose(call, onAbort(options.signal, () => call.cancel()));
        return call;
      };
  }
}

function settle(
  resolve: (value: unknown) => void,
  reject: (error: RpcError) => void,
  error: ServiceError | null,
  value: unknown,
): void {
  if (error) reject(toRpcError(error));
  else if (value === undefined) reject(new RpcError(status.INTERNAL, "call ended without a response"));
  else resolve(value);
}

// grpc-js client streams ignore destroy(): a `for await` loop left early would leave the call
// open on the server. Cancelling on close tells the server; after a status it is a no-op.
function cancelOnClose(
  call: { cancel(): void; once(event: "close", listener: () => void): unknown },
  detach: () => void,
): void {
  call.once("close", () => {
    detach();
    call.cancel();
  });
}

function toMetadata(metadata: CallOptions["metadata"]): Metadata {
  if (metadata instanceof Metadata) return metadata;
  const result = new Metadata();
  for (const [key, value] of Object.entries(metadata ?? {})) result.set(key, value);
  return result;
}

function toGrpcOptions(options: CallOptions): GrpcCallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}

// Returns the function that removes the listener, so finished calls do not pin the signal.
function onAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    cancel();
    return () => {};
  }
  signal.addEventListener("abort", cancel, { once: true });
  return () => signal.removeEventListener("abort", cancel);
}
