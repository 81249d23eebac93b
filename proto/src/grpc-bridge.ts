// Bridges protobuf-es v2 service descriptors to @grpc/grpc-js, gitfleet's gRPC transport.
// protoc-gen-es emits only descriptors, so this module turns a descriptor into a grpc-js
// service definition and typed server handlers; the typed client built on the same codec
// lives in grpc-client.ts.
import type { Readable } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type {
  MethodDefinition,
  Server,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  StatusObject,
  UntypedHandleCall,
  sendUnaryData,
} from "@grpc/grpc-js";
import { RpcError, toStatus } from "./rpc-error.js";

/** The message a method receives, as decoded from the wire. */
export type RequestOf<M extends DescMethod> = MessageShape<M["input"]>;
/** What a caller may pass as a request: a message or a plain init object. */
export type RequestInitOf<M extends DescMethod> = MessageInitShape<M["input"]>;
/** The message a method returns, as decoded from the wire. */
export type ResponseOf<M extends DescMethod> = MessageShape<M["output"]>;
/** What a handler may return or write as a response: a message or a plain init object. */
export type ResponseInitOf<M extends DescMethod> = MessageInitShape<M["output"]>;

/**
 * A grpc-js stream whose `for await` yields `T`. Node's typings give every Readable an async
 * iterator of `any`, which would win over a plain `& AsyncIterable<T>`, so it is replaced.
 */
export type MessageStream<S, T> = Omit<S, typeof Symbol.asyncIterator> & {
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<T>;
};

type AnyInit = MessageInitShape<DescMessage>;
type AnyMessage = MessageShape<DescMessage>;

/** The grpc-js path of a method, e.g. "/gitfleet.v1.AgentService/Register". */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** Encodes a message (or an init object, completed with defaults) into protobuf bytes. */
export function serializer<Desc extends DescMessage>(schema: Desc): (value: MessageInitShape<Desc>) => Buffer {
  return (value) => {
    const bytes = toBinary(schema, create(schema, value));
    // grpc-js wants a Buffer; wrap the bytes instead of copying them.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Decodes protobuf bytes into a message; throws on malformed input. */
export function deserializer<Desc extends DescMessage>(schema: Desc): (bytes: Buffer) => MessageShape<Desc> {
  return (bytes) => fromBinary(schema, bytes);
}

/**
 * Builds the grpc-js service definition for a protobuf-es service descriptor, keyed by each
 * method's local name ("register", "connect"), as `addService` and `createClient` expect.
 */
export function createServiceDefinition(service: DescService): ServiceDefinition {
  // grpc-js declares the index signature readonly, so fill a plain record and return it whole.
  const definition: Record<string, MethodDefinition<AnyInit, AnyMessage>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      originalName: method.name,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

/** A unary handler: resolves with the response, or rejects (ideally with an RpcError). */
export type UnaryHandler<M extends DescMethod> = (
  request: RequestOf<M>,
  call: ServerUnaryCall<RequestOf<M>, ResponseInitOf<M>>,
) => Promise<ResponseInitOf<M>> | ResponseInitOf<M>;

/**
 * A server-streaming handler: writes responses to `call`. The call ends with OK when the
 * returned promise resolves (unless the handler ended it already), or with the mapped status
 * when it rejects.
 */
export type ServerStreamingHandler<M extends DescMethod> = (
  request: RequestOf<M>,
  call: ServerWritableStream<RequestOf<M>, ResponseInitOf<M>>,
) => Promise<void>;

/**
 * A client-streaming handler: reads the requests from `call` (`for await` is safe) and
 * resolves with the response.
 */
export type ClientStreamingHandler<M extends DescMethod> = (
  call: MessageStream<ServerReadableStream<RequestOf<M>, ResponseInitOf<M>>, RequestOf<M>>,
) => Promise<ResponseInitOf<M>> | ResponseInitOf<M>;

/**
 * A bidi-streaming handler: reads requests from `call` (`for await` is safe) and writes
 * responses. The call ends with OK when the returned promise resolves (unless the handler
 * ended it already), or with the mapped status when it rejects.
 */
export type BidiStreamingHandler<M extends DescMethod> = (
  call: MessageStream<ServerDuplexStream<RequestOf<M>, ResponseInitOf<M>>, RequestOf<M>>,
) => Promise<void>;

/** The handler shape for one method, chosen by its kind. */
export type MethodHandler<M extends DescMethod> = M extends { methodKind: "unary" }
  ? UnaryHandler<M>
  : M extends { methodKind: "server_streaming" }
    ? ServerStreamingHandler<M>
    : M extends { methodKind: "client_streaming" }
      ? ClientStreamingHandler<M>
      : M extends { methodKind: "bidi_streaming" }
        ? BidiStreamingHandler<M>
        : never;

/** A server implementation of a service: one handler per method, by local name. */
export type ServiceImplementation<S extends DescService> = {
  [K in keyof S["method"]]: MethodHandler<S["method"][K]>;
};

/** Options of {@link addService}. */
export interface AddServiceOptions {
  /**
   * Called with every error a handler threw that was not an {@link RpcError}: the caller only
   * sees INTERNAL, so this is where the hub logs the real cause.
   */
  onInternalError?: ((error: unknown, method: DescMethod) => void) | undefined;
}

/**
 * Registers a typed implementation of `service` on a grpc-js server. Handlers may be async;
 * an {@link RpcError} they throw becomes that status, anything else becomes INTERNAL.
 */
export function addService<S extends DescService>(
  server: Server,
  service: S,
  implementation: ServiceImplementation<S>,
  options: AddServiceOptions = {},
): void {
  const handlers: Record<string, UntypedHandleCall> = {};
  const given = implementation as Record<string, unknown>;
  for (const method of service.methods) {
    const handler = given[method.localName];
    if (typeof handler !== "function") {
      throw new TypeError(`${service.typeName}: no handler for ${method.name} (key "${method.localName}")`);
    }
    handlers[method.localName] = wrapHandler(method, handler as AnyFunction, options);
  }
  server.addService(createServiceDefinition(service), handlers);
}

// Handlers arrive through a mapped type; at runtime they are plain functions of the kind the
// descriptor says, and the wrappers below only pass values through.
type AnyFunction = (...args: unknown[]) => unknown;

function wrapHandler(method: DescMethod, handler: AnyFunction, options: AddServiceOptions): UntypedHandleCall {
  const fail = (error: unknown): StatusObject => {
    if (!(error instanceof RpcError)) {
      try {
        options.onInternalError?.(error, method);
      } catch {
        // A failing reporter must not turn one failed call into an unhandled rejection.
      }
    }
    return toStatus(error);
  };
  switch (method.methodKind) {
    case "unary":
      return (call: ServerUnaryCall<AnyMessage, AnyInit>, callback: sendUnaryData<AnyInit>) => {
        respond(() => handler(call.request, call), callback, fail);
      };
    case "client_streaming":
      return (call: ServerReadableStream<AnyMessage, AnyInit>, callback: sendUnaryData<AnyInit>) => {
        keepOpenAfterLoop(call);
        respond(() => handler(call), callback, fail);
      };
    case "server_streaming":
      return (call: ServerWritableStream<AnyMessage, AnyInit>) => {
        stream(() => handler(call.request, call), call, fail);
      };
    case "bidi_streaming":
      return (call: ServerDuplexStream<AnyMessage, AnyInit>) => {
        keepOpenAfterLoop(call);
        stream(() => handler(call), call, fail);
      };
  }
}

// Runs a handler so that a synchronous throw and a rejection are handled alike.
function invoke(run: () => unknown): Promise<unknown> {
  return new Promise((resolve) => {
    resolve(run());
  });
}

function respond(run: () => unknown, callback: sendUnaryData<AnyInit>, fail: (error: unknown) => StatusObject): void {
  void invoke(run).then(
    (response) => {
      callback(null, response as AnyInit);
    },
    (error: unknown) => {
      callback(fail(error));
    },
  );
}

function stream(
  run: () => unknown,
  call: ServerWritableStream<AnyMessage, AnyInit> | ServerDuplexStream<AnyMessage, AnyInit>,
  fail: (error: unknown) => StatusObject,
): void {
  void invoke(run).then(
    () => {
      if (!call.cancelled && !call.writableEnded) call.end();
    },
    (error: unknown) => {
      // A peer that cancels makes a reading loop throw; that is not a handler failure.
      if (call.cancelled) return;
      const status = fail(error);
      // Once the handler has ended the call, its status is already on its way.
      if (call.writableEnded) return;
      // grpc-js streams turn an "error" event into the call's final status.
      call.emit("error", status);
    },
  );
}

// grpc-js calls do not implement destroy(), and a finished `for await` loop destroys its
// stream by default, which would leave the call without a status and the peer hanging
// (grpc/grpc-node#1839). Iterating without destroy keeps the call usable after the loop.
function keepOpenAfterLoop(call: Readable): void {
  call[Symbol.asyncIterator] = () => call.iterator({ destroyOnReturn: false });
}
